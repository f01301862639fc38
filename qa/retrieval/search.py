"""Hybrid retrieval, top to bottom: candidates from both sides, their signals, fusion, distinct citations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from qa.index.backend import Reader, Searcher
from qa.retrieval.candidates import (
    CANDIDATES,
    LEXICAL_DEPTH,
    Candidate,
    best_sentence_cosines,
    dense_hits,
    lexical_hits,
    mentions_dates,
    passage_cosines,
)
from qa.retrieval.distinct import distinct
from qa.retrieval.fusion import fuse_hybrid
from qa.retrieval.query import Query

if TYPE_CHECKING:
    from numpy.typing import NDArray

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The cited passages best first, and the sentence vectors already read for them (by content hash)."""

    candidates: list[Candidate]
    # Read for fusion (hybrid mode; None in the others): answering reuses them instead of reading them again.
    sentence_vectors: Mapping[str, NDArray[np.float32]] | None = None


def retrieve(
    query: Query, qvec: NDArray[np.float32], store: Reader, dense: Searcher, k: int, *, mode: Mode = "hybrid"
) -> Retrieved:
    """The k best distinct passages for a question, best first."""
    n = max(CANDIDATES, 4 * k)
    by_dense = dense_hits(dense, qvec, n) if mode != "bm25" else []
    by_lexical = lexical_hits(store, query, max(LEXICAL_DEPTH, n)) if mode != "dense" else []
    if mode != "hybrid":
        fused = by_dense if mode == "dense" else by_lexical[:n]
        passages = store.chunks_by_id([i for i, _ in fused])
        ids = [i for i, _ in fused if i in passages]
        return Retrieved(distinct(fused, passages, passage_cosines(qvec, ids, passages, dict(by_dense), store), k))

    keys = list(dict.fromkeys([i for i, _ in by_dense] + [i for i, _ in by_lexical[:n]]))
    passages = store.chunks_by_id(keys)
    keys = [i for i in keys if i in passages]
    cosines = passage_cosines(qvec, keys, passages, dict(by_dense), store)
    hashes = {i: passages[i].hash for i in keys}
    sentence_vectors = store.sentence_vectors_for(list(hashes.values()), len(qvec))
    sentence = best_sentence_cosines(qvec, hashes, sentence_vectors)
    dated = [i for i in keys if mentions_dates(passages[i], query.dates)] if query.dates else []
    fused = fuse_hybrid(keys, cosines, dict(by_lexical), sentence, language=query.language, dated=dated)
    candidates = distinct(fused, passages, cosines, k)
    return Retrieved(
        candidates, {c.passage.hash: sentence_vectors[c.passage.hash] for c in candidates if c.passage.hash in sentence_vectors}
    )
