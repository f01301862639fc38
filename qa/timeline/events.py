"""The events of articles: each sentence that dates what it reports, merged across articles, in date order."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from qa.core.errors import InputError
from qa.core.limits import DEFAULT_TIMELINE, MAX_TIMELINE
from qa.core.types import Article, Event, EventSource
from qa.index.manifest import STORE, read_manifest
from qa.index.store import Store
from qa.text.analyzer import analyze_query
from qa.text.dates import DateRange, extract_dates, parse_period, value_range
from qa.text.sentences import split_sentences

PRECISION = {1: "year", 2: "month", 3: "day"}
# A date right after these words starts or ends a period ("depuis juin 2025": since when something lasts);
# it dates no event of its own.
_PERIOD_CUE = re.compile(r"\b(?:depuis|since|jusqu['’]?\s*(?:au|à|en)?|until|till)\s+(?:le\s+|la\s+|the\s+)?$", re.IGNORECASE)
# Two reports of one date are one event when their sentences share this share of their terms (Jaccard).
SAME_EVENT = 0.3


def article_events(article: Article) -> list[Event]:
    """The article's dated sentences, one event per date: where several sentences give one date (a heading
    and the sentence under it), the longest is kept. Relative dates ("trois mois plus tard") are not read."""
    kept: dict[tuple[str, str | None], EventSource] = {}
    for span in split_sentences(article.text):
        sentence = article.text[span.start : span.end]
        mentions = extract_dates(sentence, reference=article.date)
        if not mentions:
            continue
        first = mentions[0]
        if _PERIOD_CUE.search(sentence[max(0, first.start - 40) : first.start]):
            continue
        values = sorted({m.value for m in mentions if (m.start, m.end) == (first.start, first.end)}, key=value_range)
        key = (values[0], values[-1] if len(values) > 1 else None)
        source = EventSource(article.id, article.title, article.date, span.start, span.end, sentence)
        if key not in kept or len(sentence) > len(kept[key].text):
            kept[key] = source
    return [Event(date, end, PRECISION[date.count("-") + 1], (source,)) for (date, end), source in kept.items()]


def _terms(event: Event) -> set[str]:
    return {t for s in event.sources for t in analyze_query(s.text)}


def merge_events(events: Iterable[Event]) -> list[Event]:
    """One event per happening: reports of one date whose sentences share enough terms are merged, citing
    each article; the result in chronological order."""
    merged: list[tuple[Event, set[str]]] = []
    for event in events:
        terms = _terms(event)
        for n, (other, other_terms) in enumerate(merged):
            if (other.date, other.date_end) != (event.date, event.date_end):
                continue
            union = terms | other_terms
            if union and len(terms & other_terms) / len(union) >= SAME_EVENT:
                merged[n] = (Event(other.date, other.date_end, other.precision, other.sources + event.sources), union)
                break
        else:
            merged.append((event, terms))
    return sorted((e for e, _ in merged), key=event_order)


def event_order(event: Event) -> tuple[object, ...]:
    """Chronological: by first day, then the shorter period first, then where it is reported."""
    rng = span_of(event)
    first = event.sources[0]
    return (rng.first_day, rng.last_day, first.article_id, first.start)


def span_of(event: Event) -> DateRange:
    """The days the event covers."""
    first = value_range(event.date)
    return DateRange(first.first_day, value_range(event.date_end).last_day if event.date_end else first.last_day)


def in_period(event: Event, period: DateRange) -> bool:
    """Whether the event shares a day with the period."""
    rng = span_of(event)
    return rng.first_day <= period.last_day and period.first_day <= rng.last_day


def relevance(event: Event, query_terms: set[str]) -> int:
    """How many of the query's terms the event's sentences hold."""
    return len(_terms(event) & query_terms)


def archive_events(articles: Iterable[Article]) -> list[Event]:
    """Every event of these articles, merged across them, in date order."""
    return merge_events(e for article in articles for e in article_events(article))


def index_events(index_dir: Path) -> list[Event]:
    """Every event of the index at index_dir, without a model; "no index at ..." when there is none."""
    read_manifest(index_dir)
    return archive_events(Store(index_dir / STORE).iter_articles())


def select_events(
    events: Sequence[Event],
    *,
    query: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    limit: int = DEFAULT_TIMELINE,
) -> list[Event]:
    """The events in the period (open ends when None), in date order; with a query, the `limit` most relevant
    to it (sharing the most of its terms), still in date order. InputError for a bad period or limit."""
    if not 1 <= limit <= MAX_TIMELINE:
        raise InputError(f"limit must be between 1 and {MAX_TIMELINE}, not {limit}")
    period = parse_period(date_from, date_to)
    chosen = [e for e in events if period is None or in_period(e, period)]
    if query is None or not query.strip():
        return chosen[:limit]
    terms = set(analyze_query(query))
    scores = [relevance(e, terms) for e in chosen]
    best = sorted((n for n, score in enumerate(scores) if score > 0), key=lambda n: -scores[n])[:limit]
    return [chosen[n] for n in sorted(best)]
