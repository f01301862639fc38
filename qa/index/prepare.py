"""The writer's batches: articles read, chunked and analysed ahead of the model, then embedded once per text."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.core.model import Encoder
from qa.core.types import Article, Chunk
from qa.index.chunking import chunk_article, sentence_windows
from qa.index.faults import pause_point
from qa.text.analyzer import analyze

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Chunks embedded per batch: large enough to keep the model busy and sort by length well, small enough
# to bound memory and the work a killed run loses (each batch is committed to the store at once).
EMBED_BATCH = 128


# (content hash, passage vector, sentence vectors, window vectors); the last two None for an encoder without spans.
VectorRow = tuple[str, "NDArray[np.float32]", "NDArray[np.float32] | None", "NDArray[np.float32] | None"]


class VectorCache(Protocol):
    """What embedding asks of an index: which passages (by content hash) it has no vector for."""

    def missing_vectors(self, hashes: Iterable[str]) -> set[str]: ...


def embedded_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """The spans pooled from a passage's forward pass, relative to its text: its sentences, then their windows."""
    spans = [*chunk.sentences, *(span for _, span in sentence_windows(chunk))]
    return [(s.start - chunk.start, s.end - chunk.start) for s in spans]


def embed_missing(
    encoder: Encoder, store: VectorCache, chunks: Sequence[Chunk], known: Mapping[str, VectorRow] | None = None
) -> list[VectorRow]:
    """Vectors (and sentence vectors) of the chunks whose content is not stored yet, each distinct text once;
    those in `known` (embedded beforehand, outside the writer lock) are taken from there instead."""
    by_hash: dict[str, Chunk] = {}
    for c in chunks:
        by_hash.setdefault(c.content_hash, c)
    absent = store.missing_vectors(by_hash)
    known = known or {}
    given = [known[h] for h in absent if h in known]
    missing = [c for h, c in by_hash.items() if h in absent and h not in known]
    if not missing:
        return given
    return given + _embed(encoder, missing)


def _embed(encoder: Encoder, missing: Sequence[Chunk]) -> list[VectorRow]:
    pause_point("embedding")
    with_spans = getattr(encoder, "embed_passages_with_spans", None)
    texts = [c.text for c in missing]
    if with_spans is not None:
        vecs, span_vecs = with_spans(texts, [embedded_spans(c) for c in missing])
        return [
            (c.content_hash, v, s[: len(c.sentences)], s[len(c.sentences) :])
            for c, v, s in zip(missing, vecs, span_vecs, strict=True)
        ]
    vecs = encoder.embed_passages(texts)
    return [(c.content_hash, v, None, None) for c, v in zip(missing, vecs, strict=True)]


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article with its chunks and their lexical terms: all the CPU work before the model."""

    article: Article
    chunks: list[Chunk]
    terms: list[str]


def prepare(article: Article) -> Prepared:
    """The article chunked, and each chunk's lexical terms."""
    chunks = chunk_article(article)
    return Prepared(article, chunks, [" ".join(analyze(c.text)) for c in chunks])


Slot = list[Prepared] | BaseException | None


def prepared_batches(articles: Iterable[Article]) -> Iterator[list[Prepared]]:
    """Batches of about EMBED_BATCH chunks, read, chunked and analysed by a helper thread while the model
    embeds the batch before: the model, which releases the GIL, then waits on nothing. Two batches ahead
    at most, so memory stays bounded; an error in the helper is raised here."""
    out: queue.Queue[Slot] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            batch: list[Prepared] = []
            pending = 0
            for article in articles:
                if stop.is_set():
                    return
                prepared = prepare(article)
                batch.append(prepared)
                pending += len(prepared.chunks)
                if pending >= EMBED_BATCH:
                    _put(out, batch, stop)
                    batch, pending = [], 0
            if batch:
                _put(out, batch, stop)
            _put(out, None, stop)
        except BaseException as exc:  # handed to the consumer, which raises it
            _put(out, exc, stop)

    worker = threading.Thread(target=produce, name="qa-index-prepare", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _put(q: queue.Queue[Slot], item: Slot, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
