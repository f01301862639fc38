"""Scoring a timeline against a gold one: date and event precision/recall/F1, misses and extras."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qa.core.types import Event, EventSource
from qa.evaluation.gold import GoldError
from qa.evaluation.timeline import GoldEvent, load_timeline_gold, score_timeline


def event(date: str, text: str, article_id: str = "a", end: str | None = None) -> Event:
    return Event(date, end, "day", (EventSource(article_id, None, dt.date(2025, 1, 1), 0, len(text), text),))


GOLD = [
    GoldEvent("g1", "2025-04-04", None, (("a", "sommet à Samarcande"),)),
    GoldEvent("g2", "2025-11-11", "2025-11-12", (("a", "visite à Moscou"),)),
]


def test_a_perfect_timeline_scores_one() -> None:
    found = [
        event("2025-04-04", "Le 4 avril, sommet à Samarcande."),
        event("2025-11-11", "Une visite à Moscou.", end="2025-11-12"),
    ]
    report = score_timeline(found, GOLD)
    assert report["dates"]["f1"] == 1.0 and report["event"]["f1"] == 1.0 and report["missed"] == report["extra"] == []


def test_a_wrong_date_a_wrong_sentence_and_an_extra_are_counted() -> None:
    found = [
        event("2025-04-04", "Le 4 avril, autre chose."),  # the right date, not the gold sentence
        event("2025-11-11", "Une visite à Moscou."),  # the sentence, without the last day
        event("2024", "En 2024, des échanges."),
        event("2025-04-04", "Ailleurs.", article_id="elsewhere"),  # not an article of the gold: not scored
    ]
    report = score_timeline(found, GOLD)
    assert report["dates"] == {"precision": 0.333, "recall": 0.5, "f1": 0.4}
    assert report["event"]["recall"] == 0.0 and report["missed"] == ["g1", "g2"] and len(report["extra"]) == 3


def test_a_malformed_gold_timeline_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "t1", "date": "2025", "evidence": []}\n{"id": "t2"}\n', encoding="utf-8")
    with pytest.raises(GoldError, match=":2: not a gold event"):
        load_timeline_gold(path)
