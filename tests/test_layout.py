"""The package's shape: each folder a stage, imports pointing only down, no reaching into another object's privates."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top: a module may import from its own stage and from the stages before it, never after.
STAGES = [
    "core",
    "text",
    "ingest",
    "embedding",
    "index",
    "postgres",
    "retrieval",
    "answering",
    "timeline",
    "generation",
    "engine",
    "render",
    "evaluation",
    "api",
    "cli",
]


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _stage(path: Path) -> str:
    return path.relative_to(ROOT / "qa").with_suffix("").parts[0]


def test_imports_point_down_the_pipeline() -> None:
    upward = []
    for path in _modules("qa"):
        me = _stage(path)
        if me not in STAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "qa" and len(parts) > 1 and parts[1] in STAGES and STAGES.index(parts[1]) > STAGES.index(me):
                    upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert upward == []


def test_every_stage_is_a_folder_and_the_top_level_holds_only_the_facade_and_adapters() -> None:
    top = {p.stem for p in (ROOT / "qa").glob("*.py")}
    assert top == {"__init__", "__main__", "engine", "render", "cli"}
    for stage in ("core", "text", "ingest", "embedding", "index", "retrieval", "answering", "generation", "evaluation", "api"):
        assert (ROOT / "qa" / stage / "__init__.py").is_file(), stage


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(ROOT)) for p in _modules("qa") if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []


def test_nothing_reaches_into_another_objects_private_attributes() -> None:
    found = []
    for path in [*_modules("qa"), *sorted((ROOT / "eval").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert found == []


def test_tests_mirror_the_package() -> None:
    for stage in ("text", "ingest", "embedding", "index", "retrieval", "answering", "generation", "evaluation", "api"):
        assert (ROOT / "tests" / stage).is_dir(), stage
