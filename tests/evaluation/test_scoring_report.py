"""Scoring runs against gold, and the report's table, JSON and chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation.gold import Evidence, GoldQuestion, Span
from qa.evaluation.harness import Retrieved, Run
from qa.evaluation.report import build_report, format_table, write_chart, write_json
from qa.evaluation.scoring import score_system

QUESTIONS = [
    GoldQuestion("q1", "?", "fr", True, ("a",), (Evidence("a", "x"),), ("24",)),
    GoldQuestion("q2", "?", "en", True, ("a", "b"), (Evidence("a", "y"), Evidence("b", "z")), ("Tianjin",)),
    GoldQuestion("u1", "?", "en", False, (), (), ()),
]
SPANS = {"q1": (Span("a", 100, 110),), "q2": (Span("a", 0, 10), Span("b", 50, 60)), "u1": ()}
RUNS = [
    # q1: article a at rank 1 (evidence missed there), evidence at rank 2; answered right.
    Run("q1", "hybrid", (Retrieved("a", 0, 50), Retrieved("a", 90, 120)), "ils ont signé 24 accords", 0.010),
    # q2: evidence of a at rank 1, b never; wrongly abstained.
    Run("q2", "hybrid", (Retrieved("a", 5, 8), Retrieved("c", 0, 9)), None, 0.030),
    # u1: answered though unanswerable.
    Run("u1", "hybrid", (Retrieved("c", 0, 9),), "quelque chose", 0.020),
]


def test_score_by_hand() -> None:
    s = score_system("hybrid", QUESTIONS, SPANS, RUNS)
    assert (s.questions, s.answerable) == (3, 2)
    assert s.article.recall_1 == pytest.approx((1 + 0.5) / 2)
    assert s.article.mrr_10 == 1.0
    assert s.evidence.recall_1 == pytest.approx((0 + 0.5) / 2)
    assert s.evidence.recall_5 == pytest.approx((1 + 0.5) / 2)
    assert s.evidence.mrr_10 == pytest.approx((0.5 + 1) / 2)
    assert s.answer_accuracy == 0.5
    assert s.abstention_precision == 0.0 and s.abstention_recall == 0.0 and s.wrong_abstentions == 1
    assert s.latency_p50_ms == 20.0
    assert s.misses["evidence_top5"] == ["q2"] and s.misses["answered_unanswerable"] == ["u1"]
    base = score_system("baseline", QUESTIONS, SPANS, RUNS, answers=False)
    assert base.answer_accuracy is None and base.wrong_abstentions is None
    with pytest.raises(ValueError, match="no run"):
        score_system("hybrid", QUESTIONS, SPANS, RUNS[:2])


def test_report_table_json_and_chart(tmp_path: Path) -> None:
    main = score_system("hybrid", QUESTIONS, SPANS, RUNS)
    slow = [Run(r.question_id, "langchain-faiss", r.results, None, r.seconds * 2) for r in RUNS]
    base = score_system("langchain-faiss", QUESTIONS, SPANS, slow, answers=False)
    report = build_report("gold", [main, base], embed_seconds=[0.010, 0.010], baseline="langchain-faiss")
    assert report["ratios"]["ask_p50_over_embed_p50"] == 2.0
    assert report["ratios"]["hybrid_over_langchain-faiss"]["latency_p50"] == 0.5
    assert report["ratios"]["hybrid_over_langchain-faiss"]["evidence_R_at_5"] == 1.0
    table = format_table(report)
    assert "evidence R@5" in table and "langchain-faiss" in table and "0.750" in table
    written = write_json(report, tmp_path / "r" / "gold.json")
    assert json.loads(written.read_text(encoding="utf-8"))["systems"]["hybrid"]["answer_accuracy"] == 0.5
    png = write_chart(report, tmp_path / "r" / "gold.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
