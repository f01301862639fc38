"""eval/audit_generation.py carry: a verdict follows a sentence only when its words and cited passages are the same."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _audit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_generation", ROOT / "eval" / "audit_generation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "reports").mkdir()
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "REPORTS", tmp_path / "reports")
    return module


def _lines(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_carry_copies_verdicts_of_identical_sentences_and_leaves_the_rest_to_judge(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    audit = _audit(monkeypatch, tmp_path)
    passages = {"1": "Les deux pays ont signé 24 accords."}
    said = "They signed 24 agreements."
    _lines(tmp_path / "reports" / "old-audit.jsonl", [{"key": "a#0", "sentence": said, "passages": passages}])
    _lines(tmp_path / "old-judged.jsonl", [{"key": "a#0", "supported": True, "why": "matches"}])
    _lines(
        tmp_path / "reports" / "new-audit.jsonl",
        [
            {"key": "x#0", "sentence": "They signed 24 agreements.", "passages": passages},
            {"key": "y#0", "sentence": "They signed 24 agreements.", "passages": {"2": "Autre passage."}},
            {"key": "z#0", "sentence": "They signed 25 agreements.", "passages": passages},
        ],
    )
    carried, rest = audit.carry("new", ["old"])
    assert carried == 1
    judged = [json.loads(line) for line in (tmp_path / "new-judged.jsonl").read_text(encoding="utf-8").splitlines()]
    assert judged == [{"key": "x#0", "supported": True, "why": "matches (as in old)"}]
    todo = [json.loads(line)["key"] for line in rest.read_text(encoding="utf-8").splitlines()]
    assert todo == ["y#0", "z#0"]
