"""Frozen value objects passed across stage boundaries: articles, chunks, passages, citations, answers."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field


def text_hash(*parts: str | None) -> str:
    """Stable hex digest of some strings; None and "" hash differently."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"\x00")
        else:
            h.update(b"\x01" + part.encode("utf-8") + b"\x1f")
    return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Article:
    """One article: its text is what every offset refers to."""

    id: str
    text: str
    title: str | None = None
    date: dt.date | None = None
    url: str | None = None
    lang: str | None = None
    source: str | None = None  # corpus-relative file it came from, for error messages and deletes

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that is indexed or shown changes."""
        return text_hash(self.text, self.title, self.date.isoformat() if self.date else None, self.url)


@dataclass(frozen=True, slots=True)
class FileError:
    """A corpus file (or one record of it) that could not be ingested, and why."""

    file: str
    error: str
    # The id the error is about, when it names one: two files claiming one id are both errors of that id.
    article_id: str | None = None
    # A damaged file keeps what was indexed from it (nothing is lost to a bad copy); a file refused by rule
    # (a link out of the corpus folder) does not: what was read through it before is removed.
    keeps_indexed: bool = True


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range [start, end) inside an article's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of an article; `article.text[start:end] == text` always holds."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    # Sentence ranges, relative to the article (not the chunk), used to pick the answering sentence.
    sentences: tuple[Span, ...] = ()
    # Dates the passage mentions, as ISO strings: "2025", "2025-06" or "2025-06-16".
    dates: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """Identical passages share it, so they are embedded once."""
        return text_hash(self.text)

    def excerpt(self, span: Span) -> str:
        """The chunk's text over a span given in article offsets."""
        return self.text[span.start - self.start : span.end - self.start]


@dataclass(frozen=True, slots=True)
class Passage:
    """An indexed chunk with its id, its content hash and what a citation needs of its article."""

    id: int
    chunk: Chunk
    hash: str
    title: str | None
    date: dt.date | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage cited by an answer as [n]."""

    n: int
    article_id: str
    title: str | None
    date: dt.date | None
    url: str | None
    text: str
    start: int
    end: int
    score: float
    # The answering sentence inside the passage (article offsets), when one was chosen from it.
    highlight: Span | None = None


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The answer itself: `text` is exactly the cited article's text[start:end], citation `citation`."""

    text: str
    citation: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to one question: `answer` is None when the archive does not say, and `abstained_because` says why."""

    question: str
    answer: str | None
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    short: ShortAnswer | None = None
    abstained_because: str | None = None


@dataclass(frozen=True, slots=True)
class EventSource:
    """Where an event is reported: the sentence [start, end) of an article's text, and the article."""

    article_id: str
    title: str | None
    published: dt.date | None
    start: int
    end: int
    text: str  # == article.text[start:end]


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a relative date was read: its words, and the date it counts from (the publication's, or the previous
    dated sentence's)."""

    phrase: str  # "moins de trois mois plus tard", "lundi"
    anchor: str  # "publication" or "previous"
    anchor_date: str


@dataclass(frozen=True, slots=True)
class Event:
    """Something the archive reports happening at a date written in the text (not the publication date):
    `date` (and `date_end` for a span of days) as precise as the text, cited to each article reporting it."""

    date: str  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    date_end: str | None
    precision: str  # "year", "month" or "day"
    sources: tuple[EventSource, ...]
    resolved: Resolution | None = None  # set when the text gives the date relatively


@dataclass(frozen=True, slots=True)
class Generated:
    """A generated answer in the question's language: every sentence cites with [n] a citation of the reply,
    and was checked against it."""

    text: str
    citations: tuple[int, ...]
    language: str  # "en" or "fr"
