"""Candidate passages for a question and the signals fusion reads of them: cosines, BM25, dates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.core.types import Passage
from qa.index.backend import Reader, Searcher
from qa.retrieval.query import Query
from qa.text.dates import DateRange, overlaps

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Candidates taken from each side before fusion: enough that fusion and de-duplication have room.
# Dense top 50 and lexical top 50 together hold the right PIAF paragraph for ~97.5% of questions.
CANDIDATES = 50
# BM25 scores are read this deep, so that a dense candidate ranked past the lexical top 50 still gets
# its own score rather than none (FTS5 scores every matching row to sort them: deeper costs little).
LEXICAL_DEPTH = 200

Hits = list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved passage with its fused score and its own cosine to the question."""

    passage: Passage
    score: float
    cosine: float


def dense_hits(dense: Searcher, qvec: NDArray[np.float32], n: int) -> Hits:
    """Best-first (chunk id, cosine) from the dense index."""
    return dense.search(qvec, n)


def lexical_hits(store: Reader, query: Query, n: int) -> Hits:
    """Best-first (chunk id, BM25) over the question's lexical terms."""
    return store.lexical_search(list(query.terms), n)


def passage_cosines(
    qvec: NDArray[np.float32], ids: Sequence[int], passages: Mapping[int, Passage], known: Mapping[int, float], store: Reader
) -> dict[int, float]:
    """Cosine of every candidate to the question: from the dense search, else from its cached vector."""
    out = {i: known[i] for i in ids if i in known}
    missing = [passages[i].hash for i in ids if i not in out and i in passages]
    if missing:
        vecs = store.vectors_for(missing)
        for i in ids:
            if i not in out and i in passages and passages[i].hash in vecs:
                out[i] = float(vecs[passages[i].hash] @ qvec)
    return out


def best_sentence_cosines(
    qvec: NDArray[np.float32], hashes: Mapping[int, str], sentence_vectors: Mapping[str, NDArray[np.float32]]
) -> dict[int, float]:
    """Per chunk id, the cosine of its sentence closest to the question (chunks without sentence vectors left out).

    A question is usually answered by one sentence; the passage vector averages it with the others.
    """
    out: dict[int, float] = {}
    for chunk_id, h in hashes.items():
        vecs = sentence_vectors.get(h)
        if vecs is not None and len(vecs):
            out[chunk_id] = float(np.max(vecs @ qvec))
    return out


def mentions_dates(passage: Passage, ranges: Sequence[DateRange]) -> bool:
    """Whether the passage mentions a date inside one of the periods."""
    return any(overlaps(value, rng) for value in passage.chunk.dates for rng in ranges)
