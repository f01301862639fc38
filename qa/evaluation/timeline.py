"""The timeline against a gold timeline: date precision/recall/F1 (the timeline-summarisation measure) and event F1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.types import Event
from qa.evaluation.gold import GoldError


@dataclass(frozen=True, slots=True)
class GoldEvent:
    """A dated event of a gold timeline, and the sentences (substrings of articles) that report it."""

    id: str
    date: str
    date_end: str | None
    evidence: tuple[tuple[str, str], ...]  # (article_id, text)


def load_timeline_gold(path: Path) -> list[GoldEvent]:
    """The events of a gold timeline file (JSON lines); GoldError naming the line that is wrong."""
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            evidence = tuple((str(e["article_id"]), str(e["text"])) for e in record["evidence"])
            events.append(GoldEvent(str(record["id"]), str(record["date"]), record.get("date_end"), evidence))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldError(f"{path}:{n}: not a gold event ({type(exc).__name__}: {exc})") from None
    if not events:
        raise GoldError(f"{path} holds no event")
    return events


def _prf(right: int, predicted: int, found: int, gold: int) -> dict[str, float]:
    """Precision (right of predicted), recall (found of gold) and their F1."""
    precision = right / predicted if predicted else 0.0
    recall = found / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def _reports(event: Event, gold: GoldEvent) -> bool:
    """Whether the event is the gold one: the same dates, and a source sentence holding a gold evidence."""
    if (event.date, event.date_end) != (gold.date, gold.date_end):
        return False
    return any(s.article_id == a and (text in s.text or s.text in text) for s in event.sources for a, text in gold.evidence)


def score_timeline(events: Sequence[Event], gold: Sequence[GoldEvent]) -> dict[str, Any]:
    """Date P/R/F1 over the distinct dates (events restricted to the gold's articles), and event P/R/F1 (a
    predicted event counts once it matches a gold event's dates and sentence); the misses and the extras."""
    articles = {a for g in gold for a, _ in g.evidence}
    mine = [e for e in events if any(s.article_id in articles for s in e.sources)]
    predicted_dates = {(e.date, e.date_end) for e in mine}
    gold_dates = {(g.date, g.date_end) for g in gold}
    shared = predicted_dates & gold_dates
    matched = [g for g in gold if any(_reports(e, g) for e in mine)]
    extras = [e for e in mine if not any(_reports(e, g) for g in gold)]
    return {
        "events": len(mine),
        "gold_events": len(gold),
        "dates": _prf(len(shared), len(predicted_dates), len(shared), len(gold_dates)),
        "event": _prf(len(mine) - len(extras), len(mine), len(matched), len(gold)),
        "missed": [g.id for g in gold if g not in matched],
        "extra": [f"{e.date}: {e.sources[0].text[:80]}" for e in extras],
    }
