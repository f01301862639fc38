"""The events of articles: each sentence that dates what it reports, merged across articles, in date order."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from qa.core.errors import InputError
from qa.core.limits import DEFAULT_TIMELINE, MAX_TIMELINE
from qa.core.types import Article, Event, EventSource, Resolution
from qa.index.backend import Backend
from qa.retrieval.query import analyse
from qa.text.analyzer import analyze_query
from qa.text.dates import DateRange, extract_dates, parse_period, value_range
from qa.text.names import spellings
from qa.text.relative import relative_date
from qa.text.sentences import split_sentences

PRECISION = {1: "year", 2: "month", 3: "day"}
# A date right after these words starts or ends a period ("depuis juin 2025": since when something lasts);
# it dates no event of its own.
_PERIOD_CUE = re.compile(r"\b(?:depuis|since|jusqu['’]?\s*(?:au|à|en)?|until|till)\s+(?:le\s+|la\s+|the\s+)?$", re.IGNORECASE)
# Two reports of one date are one event when their sentences share this share of their terms (Jaccard).
SAME_EVENT = 0.3


def article_events(article: Article) -> list[Event]:
    """The article's dated sentences, one event per date: where several sentences give one date (a heading
    and the sentence under it), the longest is kept. A sentence with no written date but a relative one is
    dated from the previous dated sentence ("trois mois plus tard") or from the publication ("lundi"), and
    marked as resolved; without that anchor it dates nothing."""
    kept: dict[tuple[str, str | None], tuple[EventSource, Resolution | None]] = {}
    previous: str | None = None
    for span in split_sentences(article.text):
        sentence = article.text[span.start : span.end]
        source = EventSource(article.id, article.title, article.date, span.start, span.end, sentence)
        mentions = extract_dates(sentence, reference=article.date)
        if not mentions:
            rel = relative_date(sentence, published=article.date, previous=previous)
            if rel is None:
                continue
            key = (rel.value, rel.value_end)
            resolution = Resolution(sentence[rel.start : rel.end], rel.anchor, rel.anchor_value)
            if key not in kept:
                kept[key] = (source, resolution)
            previous = rel.value_end or rel.value
            continue
        first = mentions[0]
        if _PERIOD_CUE.search(sentence[max(0, first.start - 40) : first.start]):
            continue
        values = sorted({m.value for m in mentions if (m.start, m.end) == (first.start, first.end)}, key=value_range)
        key = (values[0], values[-1] if len(values) > 1 else None)
        previous = values[0]
        # A written date wins over a relative one, and the longer sentence over the shorter.
        held = kept.get(key)
        if held is None or held[1] is not None or len(sentence) > len(held[0].text):
            kept[key] = (source, None)
    return [
        Event(date, end, PRECISION[date.count("-") + 1], (source,), resolution)
        for (date, end), (source, resolution) in kept.items()
    ]


def _terms(event: Event) -> set[str]:
    return {t for s in event.sources for t in analyze_query(s.text)}


def _merged(events: Iterable[Event]) -> list[tuple[Event, set[str]]]:
    """One event per happening: reports of one date whose sentences share enough terms are merged, citing
    each article; with their terms. Only reports of the same dates sharing a term can meet the bar, so
    those are the only ones compared (an inverted index per date): a year of a big archive holds thousands."""
    merged: list[tuple[Event, set[str]]] = []
    postings: dict[tuple[str, str | None], dict[str, set[int]]] = {}
    for event in events:
        terms = _terms(event)
        post = postings.setdefault((event.date, event.date_end), {})
        for n in sorted({n for t in terms for n in post.get(t, ())}):
            other, other_terms = merged[n]
            union = terms | other_terms
            if len(terms & other_terms) / len(union) >= SAME_EVENT:
                # One report that writes the date out is enough: the event is no longer a relative reading.
                resolved = None if other.resolved is None or event.resolved is None else other.resolved
                joined = Event(other.date, other.date_end, other.precision, other.sources + event.sources, resolved)
                merged[n] = (joined, union)
                for t in terms - other_terms:
                    post.setdefault(t, set()).add(n)
                break
        else:
            for t in terms:
                post.setdefault(t, set()).add(len(merged))
            merged.append((event, terms))
    return merged


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


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every event of an archive in date order, with what selecting them reads, computed once."""

    events: tuple[Event, ...]
    postings: dict[str, tuple[int, ...]]  # each term (French and English stems) -> the events holding it
    last_days: tuple[dt.date, ...]  # running maximum of the events' last days, for a quick period cut

    @classmethod
    def of(cls, events: Iterable[Event]) -> Timeline:
        """The timeline of events already merged."""
        return cls.of_terms([(e, _terms(e)) for e in events])

    @classmethod
    def of_terms(cls, pairs: Iterable[tuple[Event, set[str]]]) -> Timeline:
        """The timeline of merged events given with their terms (computed once, while merging)."""
        ordered = sorted(pairs, key=lambda pair: event_order(pair[0]))
        ends = tuple(accumulate((span_of(e).last_day for e, _ in ordered), max))
        postings: dict[str, list[int]] = {}
        for n, (_, terms) in enumerate(ordered):
            for term in terms:
                postings.setdefault(term, []).append(n)
        return cls(tuple(e for e, _ in ordered), {t: tuple(ns) for t, ns in postings.items()}, ends)

    def scores(self, query: str) -> dict[int, int]:
        """Per event holding any of the query's terms, how many it holds; an English name counts where its
        French spelling is (Moscow/Moscou), through the vocabulary, not event by event."""
        analysed = analyse(query)
        names = {t for unit in analysed.names for t in unit}
        out: dict[int, int] = {}
        for term in {*analysed.terms, *analysed.stems, *names}:
            words = [term] if term in self.postings else spellings(term, self.postings) if term in names else []
            hit = {n for word in words for n in self.postings[word]}
            for n in hit:
                out[n] = out.get(n, 0) + 1
        return out

    def __len__(self) -> int:
        return len(self.events)


def archive_events(articles: Iterable[Article], *, found: Callable[[Article], list[Event]] = article_events) -> Timeline:
    """Every event of these articles, merged across them, in date order; `found` gives an article's own events
    (article_events, or a cache of it)."""
    return Timeline.of_terms(_merged(e for article in articles for e in found(article)))


def index_events(index: Path | Backend) -> Timeline:
    """Every event of the index (a folder, or a backend), without a model; "no index ..." when there is none."""
    from qa.index.local import LocalBackend

    backend = LocalBackend(index) if isinstance(index, Path) else index
    backend.load()
    return archive_events(backend.store.iter_articles())


def select_events(
    timeline: Timeline,
    *,
    query: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    limit: int = DEFAULT_TIMELINE,
) -> list[Event]:
    """The events in the period (open ends when None), in date order; with a query, the `limit` most relevant
    to it (sharing the most of its terms, English names in their French forms too), still in date order.
    InputError for a bad period or limit."""
    if not 1 <= limit <= MAX_TIMELINE:
        raise InputError(f"limit must be between 1 and {MAX_TIMELINE}, not {limit}")
    period = parse_period(date_from, date_to)
    events = timeline.events
    lo, hi = 0, len(events)
    if period is not None:
        # Events are in order of first day: those starting after the period are past `hi`; those ending
        # before it are before `lo` (the running maximum of last days only grows).
        hi = bisect.bisect_right(events, period.last_day, key=lambda e: span_of(e).first_day)
        lo = bisect.bisect_left(timeline.last_days, period.first_day, hi=hi)
    chosen = [n for n in range(lo, hi) if period is None or in_period(events[n], period)]
    if query is None or not query.strip():
        return [events[n] for n in chosen[:limit]]
    scores = timeline.scores(query)
    best = sorted((n for n in chosen if scores.get(n, 0) > 0), key=lambda n: -scores[n])[:limit]
    return [events[n] for n in sorted(best)]
