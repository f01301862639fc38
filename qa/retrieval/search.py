"""Hybrid retrieval: dense and lexical candidates, fused, date-aware, one citation per passage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from qa.index.dense import DenseIndex
from qa.index.store import Store, StoredChunk
from qa.retrieval.fusion import spread, weighted_fusion, zscores
from qa.text.analyzer import analyze, analyze_query, stop_words, words
from qa.text.dates import DateRange, overlaps, query_dates
from qa.text.names import name_forms, name_units

if TYPE_CHECKING:
    from numpy.typing import NDArray

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")

# Candidates taken from each side before fusion: enough that fusion and de-duplication have room.
# Dense top 50 and lexical top 50 together hold the right PIAF paragraph for ~97.5% of questions.
CANDIDATES = 50
# BM25 scores are read this deep, so that a dense candidate ranked past the lexical top 50 still gets
# its own score rather than none (FTS5 scores every matching row to sort them: deeper costs little).
LEXICAL_DEPTH = 200
# Weights of the z-normalised (dense cosine, BM25, best sentence cosine) in the fused score, per
# question language. Tuned on the PIAF dev split (eval/tune_retrieval.py, eval/reports/tuning.md):
# French 0.30/0.40/0.30 beat plain RRF by +2.2 R@5 and +3.1 MRR@10. English questions meet French
# text mostly through names and numbers, so their lexical side counts half as much.
FUSION_WEIGHTS: dict[str, tuple[float, float, float]] = {"fr": (0.3, 0.4, 0.3), "en": (0.4, 0.2, 0.4)}
LEXICAL_WEIGHT = {lang: w[1] for lang, w in FUSION_WEIGHTS.items()}
# Two passages of one article sharing more than this share of the shorter one are one citation.
MAX_SHARED = 0.5
# The first citations hold at most this many passages of one article while another article has a passage
# scoring above the candidates' mean to offer: one long article does not crowd out the others (a question
# spanning two articles needs both), and no weak passage is pulled up just for coming from elsewhere.
PER_ARTICLE = 3
FIRST_CITATIONS = 5
# Added to the fused score (in standard deviations) of a passage mentioning the date the question
# names; +0.5 lifted PIAF dev questions naming a date from 0.885 to 0.923 R@1.
DATE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved passage with its fused score and its own cosine to the question."""

    stored: StoredChunk
    score: float
    cosine: float


def question_language(question: str) -> str:
    """ "en" or "fr", from which language's function words the question uses more."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    toks = [w.casefold() for w in words(question)]
    en = sum(t in STOPWORDS_EN_PLUS for t in toks)
    fr = sum(t in STOPWORDS_FRENCH for t in toks)
    return "en" if en > fr else "fr"


def query_terms(question: str) -> list[str]:
    """The lexical query: French and English stems of the question's content words, plus the French
    form of any English name that no spelling rule reaches ("United States" -> "États-Unis")."""
    terms = [t for t in analyze_query(question) if t not in stop_words()]
    for unit in name_units(question):
        for term in analyze(" ".join(sorted(name_forms(unit) - set(unit)))):
            if term not in terms:
                terms.append(term)
    return terms


def _overlapping(a: StoredChunk, b: StoredChunk) -> bool:
    """Whether two passages are mostly the same text: more than MAX_SHARED of the shorter one is shared.

    Neighbouring chunks share a sentence of lead-in (chunking's overlap); refusing any overlap at all
    would hide the passage after a cited one, which is often the one that answers.
    """
    if a.chunk.article_id != b.chunk.article_id:
        return False
    shared = min(a.chunk.end, b.chunk.end) - max(a.chunk.start, b.chunk.start)
    shorter = min(a.chunk.end - a.chunk.start, b.chunk.end - b.chunk.start)
    return shared > MAX_SHARED * shorter


def mentions_dates(stored: StoredChunk, ranges: Sequence[DateRange]) -> bool:
    """Whether the passage mentions a date inside one of the periods."""
    return any(overlaps(value, rng) for value in stored.chunk.dates for rng in ranges)


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


def fuse_hybrid(
    keys: Sequence[int],
    cosines: Mapping[int, float],
    bm25: Mapping[int, float],
    sentence: Mapping[int, float],
    *,
    language: str,
    dated: Sequence[int] = (),
) -> list[tuple[int, float]]:
    """The candidates best first by the weighted z-scores of their signals, plus the date bonus.

    A chunk without a sentence cosine takes its passage cosine there; one no lexical term matches has BM25 0.
    """
    w_dense, w_lexical, w_sentence = FUSION_WEIGHTS.get(language, FUSION_WEIGHTS["fr"])
    sentence_or_passage = {i: sentence.get(i, cosines.get(i, 0.0)) for i in keys}
    return weighted_fusion(
        [cosines, bm25, sentence_or_passage],
        [w_dense, w_lexical, w_sentence],
        keys,
        bonus=dict.fromkeys(dated, DATE_WEIGHT),
    )


def _cosines(
    qvec: NDArray[np.float32], ids: Sequence[int], chunks: Mapping[int, StoredChunk], known: Mapping[int, float], store: Store
) -> dict[int, float]:
    """Cosine of every candidate to the question: from the dense search, else from its cached vector."""
    out = {i: known[i] for i in ids if i in known}
    missing = [chunks[i].hash for i in ids if i not in out and i in chunks]
    if missing:
        vecs = store.vectors_for(missing)
        for i in ids:
            if i not in out and i in chunks and chunks[i].hash in vecs:
                out[i] = float(vecs[chunks[i].hash] @ qvec)
    return out


def _distinct(
    fused: Sequence[tuple[int, float]], chunks: Mapping[int, StoredChunk], cosines: Mapping[int, float], k: int
) -> list[Candidate]:
    """The first k passages of a fused ranking that neither repeat a text nor overlap one already taken,
    spread so that the first citations do not all come from one article."""
    picked: list[Candidate] = []
    by_article: dict[str, list[StoredChunk]] = {}
    seen_hashes: set[str] = set()
    for chunk_id, score in fused:
        stored = chunks.get(chunk_id)
        if stored is None or stored.hash in seen_hashes:
            continue  # deleted since the dense snapshot was taken, or the same text already cited
        same_article = by_article.setdefault(stored.chunk.article_id, [])
        if any(_overlapping(stored, other) for other in same_article):
            continue
        seen_hashes.add(stored.hash)
        same_article.append(stored)
        picked.append(Candidate(stored, score, cosines.get(chunk_id, 0.0)))
    z = zscores({n: c.score for n, c in enumerate(picked)}, range(len(picked)))
    order = spread(
        range(len(picked)),
        lambda n: picked[n].stored.chunk.article_id,
        per_group=PER_ARTICLE,
        head=min(k, FIRST_CITATIONS),
        promotable=lambda n: z[n] >= 0.0,
    )
    ordered = [picked[n] for n in order]
    return ordered[:k]


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
    dense_hits = dense.search(qvec, n) if mode != "bm25" else []
    lexical_hits = store.lexical_search(query_terms(question), max(LEXICAL_DEPTH, n)) if mode != "dense" else []
    if mode == "dense":
        fused = dense_hits
    elif mode == "bm25":
        fused = lexical_hits[:n]
    else:
        keys = list(dict.fromkeys([i for i, _ in dense_hits] + [i for i, _ in lexical_hits[:n]]))
        chunks = store.chunks_by_id(keys)
        keys = [i for i in keys if i in chunks]
        cosines = _cosines(qvec, keys, chunks, dict(dense_hits), store)
        hashes = {i: chunks[i].hash for i in keys}
        sentence = best_sentence_cosines(qvec, hashes, store.sentence_vectors_for(list(hashes.values()), len(qvec)))
        ranges = query_dates(question)
        dated = [i for i in keys if mentions_dates(chunks[i], ranges)] if ranges else []
        fused = fuse_hybrid(keys, cosines, dict(lexical_hits), sentence, language=question_language(question), dated=dated)
        return _distinct(fused, chunks, cosines, k)
    chunks = store.chunks_by_id([i for i, _ in fused])
    ids = [i for i, _ in fused if i in chunks]
    return _distinct(fused, chunks, _cosines(qvec, ids, chunks, dict(dense_hits), store), k)
