"""Extractive answers: the sentence that answers, cited as [n], or an honest abstention."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.analyzer import analyze, analyze_query, fold, stop_words, words
from qa.search import Candidate
from qa.types import Answer, Citation, Span

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Below this cosine (question to best passage) e5 passages are on another subject (eval/gold.jsonl).
MIN_COSINE = 0.80
# A question naming something the passages never mention is answered only above this sentence cosine.
MISSING_NAME_COSINE = 0.90
# Weight of lexical overlap against the sentence's cosine when choosing the answering sentence.
LEXICAL_WEIGHT = 0.2
# Sentences are picked from this many of the best passages.
ANSWER_POOL = 3

_MONTHS = {
    fold(m)
    for m in ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
}
_QUESTION_WORDS = {fold(w) for w in ["what", "who", "whom", "whose", "when", "where", "which", "why", "how", "quel", "quelle", "quels", "quelles", "qui", "que", "quoi", "quand", "où", "comment", "pourquoi", "combien"]}


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen sentence (or two adjacent ones): which candidate it is in, its span, its cosine."""

    index: int
    span: Span
    cosine: float


def salient_terms(question: str) -> list[str]:
    """Names and numbers a passage must mention to answer: capitalised words past the first, and numbers."""
    toks = words(question)
    out: list[str] = []
    for pos, tok in enumerate(toks):
        f = fold(tok)
        if f in stop_words() or f in _MONTHS or f in _QUESTION_WORDS or len(f) < 2:
            continue
        if any(ch.isdigit() for ch in tok) or (pos > 0 and tok[0].isupper()):
            out.append(f)
    return out


def _mentioned(term: str, vocabulary: set[str]) -> bool:
    if term in vocabulary:
        return True
    if term.isdigit() or len(term) < 4:
        return False
    # Transliterations differ by a letter or two: Tokayev/Tokaïev, Moscow/Moscou.
    return any(difflib.SequenceMatcher(None, term, w).ratio() >= 0.8 for w in vocabulary if abs(len(w) - len(term)) <= 2)


def choose_sentence(
    question: str,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: dict[str, NDArray[np.float32]],
) -> Choice | None:
    """The sentence, among the best passages, most likely to answer the question."""
    q_terms = set(analyze_query(question))
    best: tuple[int, int, float] | None = None  # (candidate, sentence, cosine)
    best_score = -1.0
    for index, cand in enumerate(candidates[:ANSWER_POOL]):
        chunk = cand.stored.chunk
        vecs = sentence_vectors.get(cand.stored.hash)
        sentences = chunk.sentences or (Span(chunk.start, chunk.end),)
        if vecs is not None and len(vecs) != len(sentences):
            vecs = None
        for j, span in enumerate(sentences):
            text = chunk.text[span.start - chunk.start : span.end - chunk.start]
            if not re.search(r"\w", text):
                continue
            cosine = float(vecs[j] @ qvec) if vecs is not None else cand.cosine
            lexical = len(q_terms & set(analyze(text))) / max(len(q_terms), 1)
            # Later passages must beat earlier ones clearly: passage rank carries the fused evidence.
            score = cosine + LEXICAL_WEIGHT * lexical - 0.01 * index
            if score > best_score:
                best, best_score = (index, j, cosine), score
    if best is None:
        return None
    index, j, cosine = best
    chunk = candidates[index].stored.chunk
    sentences = chunk.sentences or (Span(chunk.start, chunk.end),)
    span = sentences[j]
    # The sentence that sets the scene ("in Astana in June") is often not the one that says what
    # happened ("they signed 24 agreements"): take the next sentence too when it adds question terms.
    if j + 1 < len(sentences):
        here = set(analyze(chunk.text[span.start - chunk.start : span.end - chunk.start]))
        nxt = sentences[j + 1]
        there = set(analyze(chunk.text[nxt.start - chunk.start : nxt.end - chunk.start]))
        if (q_terms & there) - here:
            span = Span(span.start, nxt.end)
    return Choice(index, span, cosine)


def should_abstain(question: str, candidates: Sequence[Candidate], choice: Choice | None) -> bool:
    """True when the passages do not answer: too far from the question, or silent on a name it asks about."""
    if not candidates or choice is None:
        return True
    if max(c.cosine for c in candidates) < MIN_COSINE:
        return True
    vocabulary = {fold(w) for c in candidates[:ANSWER_POOL] for w in words(c.stored.chunk.text)}
    missing = [t for t in salient_terms(question) if not _mentioned(t, vocabulary)]
    return bool(missing) and choice.cosine < MISSING_NAME_COSINE


def compose_answer(
    question: str,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: dict[str, NDArray[np.float32]],
) -> Answer:
    """The answer with its citations, best first; `answer` is None when the archive does not say."""
    choice = choose_sentence(question, qvec, candidates, sentence_vectors)
    abstain = should_abstain(question, candidates, choice)
    citations = []
    for n, cand in enumerate(candidates, start=1):
        chunk = cand.stored.chunk
        highlight = choice.span if (choice is not None and not abstain and choice.index == n - 1) else None
        citations.append(
            Citation(
                n=n,
                article_id=chunk.article_id,
                title=cand.stored.title,
                date=cand.stored.date,
                url=cand.stored.url,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
                score=round(cand.cosine, 4),
                highlight=highlight,
            )
        )
    if abstain or choice is None:
        return Answer(question=question, answer=None, citations=tuple(citations))
    chunk = candidates[choice.index].stored.chunk
    sentence = chunk.text[choice.span.start - chunk.start : choice.span.end - chunk.start].strip()
    return Answer(question=question, answer=f"{sentence} [{choice.index + 1}]", citations=tuple(citations))
