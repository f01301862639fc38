"""The events of an index, found once per generation and, within it, once per article content."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable

from qa.core.types import Article, Event, text_hash
from qa.timeline.events import Timeline, archive_events, article_events


class EventCache:
    """Every event of the generation served; an article's own events are kept by its content, so a new
    generation reads again only the articles that changed. Safe from many threads: one reading at a time."""

    def __init__(self, found: Callable[[Article], list[Event]] | None = None) -> None:
        self._found = found  # an article's own events; article_events when None
        self._lock = threading.Lock()
        self._timeline: tuple[Hashable, Timeline] | None = None
        self._by_article: dict[str, tuple[str, list[Event]]] = {}  # article id -> (content hash, its events)

    def get(self, generation: Hashable, articles: Callable[[], Iterable[Article]]) -> Timeline:
        """The timeline of `generation`, read from `articles()` unless it was already."""
        with self._lock:  # the first requests wait for the one reading rather than repeat it
            if self._timeline is not None and self._timeline[0] == generation:
                return self._timeline[1]
            known = self._by_article
            seen: dict[str, tuple[str, list[Event]]] = {}

            def found(article: Article) -> list[Event]:
                key = text_hash(article.text, article.title, article.date.isoformat() if article.date else None)
                held = known.get(article.id)
                events = held[1] if held is not None and held[0] == key else (self._found or article_events)(article)
                seen[article.id] = (key, events)
                return events

            timeline = archive_events(articles(), found=found)
            self._by_article = seen
            self._timeline = (generation, timeline)
            return timeline
