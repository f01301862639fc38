"""eval/audit_generation.py carry: a verdict follows a sentence only when its words and cited passages are the same."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.evaluation.scripts import eval_script


def _audit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    return eval_script("audit_generation", monkeypatch, tmp_path)


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
