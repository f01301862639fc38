"""eval/fit_verifier.py: which judged sentences it fits on, and the lowest threshold that keeps the target supported."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.evaluation.scripts import eval_script


def _fit_verifier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    return eval_script("fit_verifier", monkeypatch, tmp_path)


def _rows(*pairs: tuple[float, bool]) -> list[dict[str, object]]:
    return [{"log_odds": score, "supported": good} for score, good in pairs]


def test_the_threshold_is_the_lowest_keeping_the_target_and_never_splits_a_tie(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fv = _fit_verifier(monkeypatch, tmp_path)
    rows = _rows((3.0, True), (2.5, True), (2.0, False), (1.5, True), (1.5, True), (1.0, False), (0.5, False))
    assert fv.fit(rows, 0.75) == 1.5  # 4 of 5 kept at >= 1.5; at 1.0 it would be 4 of 6
    assert fv.fit(rows, 1.0) == 2.5
    assert fv.fit(_rows((1.0, True), (1.0, False)), 0.75) is None  # the tie cannot be split
    assert fv.at(rows, 1.5) == {
        "sentences": 7,
        "kept": 5,
        "supported_among_kept": 0.8,
        "supported_before": 0.571,
        "supported_kept": 1.0,
    }


def test_it_fits_on_judged_sentences_the_rules_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fv = _fit_verifier(monkeypatch, tmp_path)
    sentences = [
        {"text": "Kept by the rules [1].", "citations": [1], "dropped_because": None, "cited": {"1": "P"}},
        {"text": "Dropped by the rules [1].", "citations": [1], "dropped_because": "'99' is not in [1]", "cited": {"1": "P"}},
        {
            "text": "Dropped on a second reading [1].",
            "citations": [1],
            "dropped_because": "read again, [1] ...",
            "cited": {"1": "P"},
        },
        {"text": "Never judged [1].", "citations": [1], "dropped_because": None, "cited": {"1": "P"}},
    ]
    report = {"runs": [{"id": "q1", "sentences": sentences}]}
    (tmp_path / "reports" / "r.json").write_text(json.dumps(report), encoding="utf-8")
    judged = [{"key": f"q1#{i}", "supported": i == 0, "why": ""} for i in range(3)]
    (tmp_path / "r-judged.jsonl").write_text("".join(json.dumps(j) + "\n" for j in judged), encoding="utf-8")
    rows = fv.judged_rows("r")
    assert [(r["key"], r["sentence"], r["passages"], r["supported"]) for r in rows] == [
        ("q1#0", "Kept by the rules.", {1: "P"}, True),
        ("q1#2", "Dropped on a second reading.", {1: "P"}, False),
    ]
