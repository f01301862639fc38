"""Hybrid retrieval: dense and lexical candidates, fused, date-aware, one citation per passage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from qa.analyzer import analyze_query, stop_words, words
from qa.dates import overlaps, query_dates
from qa.dense import DenseIndex
from qa.fusion import rrf
from qa.store import Store, StoredChunk

if TYPE_CHECKING:
    from numpy.typing import NDArray

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")

# Candidates taken from each side before fusion: enough that fusion and de-duplication have room.
CANDIDATES = 50
# English questions meet French text mostly through names and numbers, so their lexical side counts less.
LEXICAL_WEIGHT = {"fr": 1.0, "en": 0.5}
# Weight of the "mentions the date the question names" ranking in the fusion.
DATE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved passage with its fused score and its own cosine to the question."""

    stored: StoredChunk
    score: float
    cosine: float


def question_language(question: str) -> str:
    """"en" or "fr", from which language's function words the question uses more."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    toks = [w.casefold() for w in words(question)]
    en = sum(t in STOPWORDS_EN_PLUS for t in toks)
    fr = sum(t in STOPWORDS_FRENCH for t in toks)
    return "en" if en > fr else "fr"


def _overlapping(a: StoredChunk, b: StoredChunk) -> bool:
    return a.chunk.article_id == b.chunk.article_id and a.chunk.start < b.chunk.end and b.chunk.start < a.chunk.end


def retrieve(
    question: str,
    qvec: NDArray[np.float32],
    store: Store,
    dense: DenseIndex,
    k: int,
    *,
    mode: Mode = "hybrid",
) -> list[Candidate]:
    """The k best distinct passages for a question, best first."""
    n = max(CANDIDATES, 4 * k)
    rankings: list[list[int]] = []
    weights: list[float] = []
    dense_hits = dense.search(qvec, n) if mode != "bm25" else []
    if mode != "bm25":
        rankings.append([i for i, _ in dense_hits])
        weights.append(1.0)
    if mode != "dense":
        terms = [t for t in analyze_query(question) if t not in stop_words()]
        rankings.append([i for i, _ in store.lexical_search(terms, n)])
        weights.append(LEXICAL_WEIGHT[question_language(question)] if mode == "hybrid" else 1.0)
    fused = rrf(rankings, weights=weights) if len(rankings) > 1 else [(i, 1.0 / (60 + r)) for r, i in enumerate(rankings[0], 1)]
    chunks = store.chunks_by_id([i for i, _ in fused])

    ranges = query_dates(question) if mode == "hybrid" else []
    if ranges:
        dated = [i for i, _ in fused if i in chunks and any(overlaps(v, r) for v in chunks[i].chunk.dates for r in ranges)]
        fused = rrf([[i for i, _ in fused], dated], weights=[1.0, DATE_WEIGHT])
        # rrf over an already fused list keeps its order as the first ranking; scores are only relative.

    cosines = dict(dense_hits)
    missing = [chunks[i].hash for i, _ in fused if i in chunks and i not in cosines]
    if missing:
        vecs = store.vectors_for(missing)
        for i, _ in fused:
            if i in chunks and i not in cosines and chunks[i].hash in vecs:
                cosines[i] = float(vecs[chunks[i].hash] @ qvec)

    picked: list[Candidate] = []
    seen_hashes: set[str] = set()
    for chunk_id, score in fused:
        stored = chunks.get(chunk_id)
        if stored is None or stored.hash in seen_hashes:
            continue  # deleted since the dense snapshot was taken, or the same text already cited
        if any(_overlapping(stored, p.stored) for p in picked):
            continue
        seen_hashes.add(stored.hash)
        picked.append(Candidate(stored, score, cosines.get(chunk_id, 0.0)))
        if len(picked) == k:
            break
    return picked


def rank_ids(candidates: Sequence[Candidate]) -> list[str]:
    """Article ids in rank order, for evaluation."""
    return [c.stored.chunk.article_id for c in candidates]
