"""Which sentence of the best passages answers the question: what each sentence offers, and the choice."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.core.types import Chunk, Span
from qa.index.chunking import sentence_windows
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query
from qa.text.analyzer import analyze
from qa.text.answer_types import holds_type
from qa.text.dates import DateRange, extract_dates, overlaps

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Sentences are picked from this many of the best passages.
ANSWER_POOL = 5
# Weights, against the sentence's cosine to the question, of what else says a sentence answers. Tuned
# on PIAF dev questions and checked on the test split and the gold questions (eval/reports/tuning.md).
LEXICAL_WEIGHT = 1.0  # share of the question's terms the sentence holds, rare terms counting more
DATE_WEIGHT = 0.1  # the sentence names the period the question asks about (minus as much if only others)
TYPE_WEIGHT = 0.15  # the sentence holds the kind of thing asked for: a number, a date, a name
# Later passages must beat earlier ones clearly: passage rank carries the fused evidence.
RANK_PENALTY = 0.02
# Headings and captions ("Kassym-Jomart Tokaïev au sommet UE-Asie centrale") echo a question's words
# without answering it: as answers they must beat a real sentence by this much cosine.
HEADING_PENALTY = 0.1
# A sentence announcing a list ("elle repose sur trois objectifs :") is answered by the lines after it,
# taken up to this many characters.
LIST_CHARS = 400
_SENTENCE_END = re.compile(r"[.!?…:;»”\"')\]]\s*$")


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen sentence (or adjacent ones): which candidate it is in, its span, its cosine."""

    index: int
    span: Span
    cosine: float


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a candidate passage with what scoring reads of it."""

    index: int  # the candidate it is in
    position: int  # its place among that candidate's sentences
    span: Span
    text: str
    cosine: float  # the closer of its own and its closest window's
    terms: frozenset[str]
    own_cosine: float = -1.0  # its own vector's (-1 without sentence vectors)
    window_cosine: float = -1.0  # its closest window's (-1 without window vectors)


def is_heading(text: str) -> bool:
    """A line that is not a sentence: short and without closing punctuation (heading, caption, menu item)."""
    return len(text.split()) < 10 and not _SENTENCE_END.search(text)


def window_cosines(chunk: Chunk, windows: NDArray[np.float32] | None, qvec: NDArray[np.float32]) -> dict[int, float]:
    """Per sentence position, the cosine of its window closest to the question (none when the vectors do not fit)."""
    spans = sentence_windows(chunk)
    if windows is None or len(windows) != len(spans) or not spans:
        return {}
    best: dict[int, float] = {}
    for (position, _), cosine in zip(spans, (windows @ qvec).tolist(), strict=True):
        best[position] = max(best.get(position, -1.0), cosine)
    return best


def pool_sentences(
    candidates: Sequence[Candidate],
    sentence_vectors: Mapping[str, NDArray[np.float32]],
    qvec: NDArray[np.float32],
    window_vectors: Mapping[str, NDArray[np.float32]],
) -> list[Sentence]:
    out: list[Sentence] = []
    for index, cand in enumerate(candidates[:ANSWER_POOL]):
        chunk = cand.passage.chunk
        spans = chunk.sentences or (Span(chunk.start, chunk.end),)
        vecs = sentence_vectors.get(cand.passage.hash)
        if vecs is not None and len(vecs) != len(spans):
            vecs = None
        windows = window_cosines(chunk, window_vectors.get(cand.passage.hash), qvec) if vecs is not None else {}
        for j, span in enumerate(spans):
            text = chunk.excerpt(span)
            if not re.search(r"\w", text):
                continue
            # A long sentence counts as close as its closest window: its answering part is not drowned by the rest.
            own = float(vecs[j] @ qvec) if vecs is not None else -1.0
            window = windows.get(j, -1.0)
            cosine = max(own, window) if vecs is not None else cand.cosine
            out.append(Sentence(index, j, span, text, cosine, frozenset(analyze(text)), own, window))
    return out


def pool_idf(sentences: Sequence[Sentence]) -> dict[str, float]:
    """Term weights local to the pool: a term every sentence shares (the subject) tells them apart least."""
    df: dict[str, int] = {}
    for s in sentences:
        for t in s.terms:
            df[t] = df.get(t, 0) + 1
    n = len(sentences)
    return {t: math.log(1 + n / c) for t, c in df.items()}


def date_match(ranges: Sequence[DateRange], text: str) -> float:
    if not ranges:
        return 0.0
    mentions = extract_dates(text)
    if not mentions:
        return 0.0
    return 1.0 if any(overlaps(m.value, r) for m in mentions for r in ranges) else -1.0


def pool_lexical(query: Query, sentences: Sequence[Sentence]) -> list[float]:
    """Per sentence, the share of the question's terms it holds, weighted by their rarity in the pool."""
    q_terms = set(query.terms)
    idf = pool_idf(sentences)
    q_mass = sum(idf.get(t, math.log(1 + len(sentences))) for t in q_terms) or 1.0
    return [sum(idf[t] for t in q_terms & s.terms) / q_mass for s in sentences]


def sentence_scores(query: Query, sentences: Sequence[Sentence]) -> list[float]:
    """Each sentence's score as the answer: cosine plus the weighted signs that it answers."""
    ranges = query.dates
    kind = query.answer_type
    question_words = query.words
    scores = []
    for s, lexical in zip(sentences, pool_lexical(query, sentences), strict=True):
        score = (
            s.cosine
            + LEXICAL_WEIGHT * lexical
            + DATE_WEIGHT * date_match(ranges, s.text)
            + TYPE_WEIGHT * holds_type(kind, s.text, question_words)
            - RANK_PENALTY * s.index
            - (HEADING_PENALTY if is_heading(s.text) else 0.0)
        )
        scores.append(score)
    return scores


def choose_sentence(
    query: Query,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: Mapping[str, NDArray[np.float32]],
    window_vectors: Mapping[str, NDArray[np.float32]] | None = None,
) -> Choice | None:
    """The sentence, among the best passages, most likely to answer the question."""
    return choose_among(query, candidates, pool_sentences(candidates, sentence_vectors, qvec, window_vectors or {}))


@dataclass(frozen=True, slots=True)
class Ranked:
    """One of the rules' best sentences: what they read of it, their score, and the span it answers with."""

    sentence: Sentence
    score: float
    lexical: float  # share of the question's terms it holds, weighted by rarity in the pool
    choice: Choice


def rules_ranked(query: Query, candidates: Sequence[Candidate], sentences: Sequence[Sentence], k: int) -> list[Ranked]:
    """The rules' best `k` sentences among the pool's, best first, each with its score and what completes it."""
    scores = sentence_scores(query, sentences)
    lexical = pool_lexical(query, sentences)
    # Stable, so ties keep the pool's order and the first is np.argmax's.
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return [
        Ranked(s, scores[i], lexical[i], Choice(s.index, extend(query, candidates[s.index], s), s.cosine))
        for i, s in ((int(i), sentences[i]) for i in order)
    ]


def rules_best(query: Query, candidates: Sequence[Candidate], sentences: Sequence[Sentence], k: int) -> list[Choice]:
    """The rules' best `k` sentences among the pool's, best first, each with what completes it."""
    return [r.choice for r in rules_ranked(query, candidates, sentences, k)]


def choose_among(query: Query, candidates: Sequence[Candidate], sentences: Sequence[Sentence]) -> Choice | None:
    """The rules' choice among the pool's sentences (None when there are none), with what completes it."""
    best = rules_best(query, candidates, sentences, 1)
    return best[0] if best else None


def extend(query: Query, cand: Candidate, best: Sentence) -> Span:
    """The chosen sentence, with what completes it: the list it announces, or the next sentence.

    The sentence that sets the scene ("in Astana in June") is often not the one that says what happened
    ("they signed 24 agreements"): the next one is taken too when it adds question terms, unless a line
    break separates them (the next paragraph is about something else).
    """
    chunk = cand.passage.chunk
    spans = chunk.sentences or (Span(chunk.start, chunk.end),)
    span = best.span
    following = spans[best.position + 1 :]
    if best.text.rstrip().endswith(":") and following:
        end = span.end
        for nxt in following:
            if nxt.end - span.start > LIST_CHARS and end > span.end:
                break
            end = nxt.end
        return Span(span.start, end)
    if following and "\n" not in chunk.excerpt(Span(span.end, following[0].start)):
        nxt = following[0]
        there = set(analyze(chunk.excerpt(nxt)))
        if (query.stems & there) - best.terms:
            return Span(span.start, nxt.end)
    return span
