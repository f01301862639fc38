"""Extractive answers: the sentence that answers, cited as [n], or an honest abstention."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.analyzer import analyze, analyze_query
from qa.dates import overlaps, query_dates
from qa.names import missing_names
from qa.search import Candidate, question_language
from qa.types import Answer, Citation, Span

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Below MIN_COSINE (question to best passage) the passages are on another subject; a question naming
# something the passages never mention is answered only above MISSING_NAME_COSINE (question to the
# chosen sentence). Per question language, calibrated on PIAF questions whose paragraph was removed from
# the index (eval/calibrate_abstention.py -> eval/reports/abstention-calibration.json): French, the best
# abstention recall on the dev split that turns at most 3% of its answerable questions into abstentions;
# English questions sit lower against French text and spell names otherwise, so theirs are the French
# bars lowered by the smallest shift (0.10) that wrongly abstains on at most one English dev question.
MIN_COSINE: dict[str, float] = {"fr": 0.82, "en": 0.72}
MISSING_NAME_COSINE: dict[str, float] = {"fr": 0.90, "en": 0.80}
# Names and dates are looked for in this many of the best passages (the default k): more would make
# the answer depend on how many citations were asked for.
NAME_POOL = 5
# Weight of lexical overlap against the sentence's cosine when choosing the answering sentence.
LEXICAL_WEIGHT = 0.2
# Sentences are picked from this many of the best passages.
ANSWER_POOL = 3
# Headings and captions ("Kassym-Jomart Tokaïev au sommet UE-Asie centrale") echo a question's words
# without answering it: as answers they must beat a real sentence by this much cosine.
HEADING_PENALTY = 0.05
_SENTENCE_END = re.compile(r"[.!?…:;»”\"')\]]\s*$")


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen sentence (or two adjacent ones): which candidate it is in, its span, its cosine."""

    index: int
    span: Span
    cosine: float


def misses_dates(question: str, candidates: Sequence[Candidate]) -> bool:
    """True when the question names a period and none of the passages mentions a date in it.

    The publication date is deliberately not consulted: an article dated 19 November does not report
    what happened on 19 November.
    """
    ranges = query_dates(question)
    return bool(ranges) and not any(overlaps(value, rng) for c in candidates for value in c.stored.chunk.dates for rng in ranges)


def is_heading(text: str) -> bool:
    """A line that is not a sentence: short and without closing punctuation (heading, caption, menu item)."""
    return len(text.split()) < 10 and not _SENTENCE_END.search(text)


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
            score = cosine + LEXICAL_WEIGHT * lexical - 0.01 * index - (HEADING_PENALTY if is_heading(text) else 0.0)
            if score > best_score:
                best, best_score = (index, j, cosine), score
    if best is None:
        return None
    index, j, cosine = best
    chunk = candidates[index].stored.chunk
    sentences = chunk.sentences or (Span(chunk.start, chunk.end),)
    span = sentences[j]
    # The sentence that sets the scene ("in Astana in June") is often not the one that says what
    # happened ("they signed 24 agreements"): take the next sentence too when it adds question terms,
    # unless a line break separates them (the next paragraph is about something else).
    if j + 1 < len(sentences) and "\n" not in chunk.text[span.end - chunk.start : sentences[j + 1].start - chunk.start]:
        here = set(analyze(chunk.text[span.start - chunk.start : span.end - chunk.start]))
        nxt = sentences[j + 1]
        there = set(analyze(chunk.text[nxt.start - chunk.start : nxt.end - chunk.start]))
        if (q_terms & there) - here:
            span = Span(span.start, nxt.end)
    return Choice(index, span, cosine)


def abstention_signals(question: str, candidates: Sequence[Candidate], choice: Choice | None) -> dict[str, object]:
    """What abstaining rests on: language, best passage cosine, chosen sentence cosine, names and dates missing."""
    pool = candidates[:NAME_POOL]
    return {
        "language": question_language(question),
        "top_cosine": max((c.cosine for c in pool), default=0.0),
        "sentence_cosine": choice.cosine if choice is not None else 0.0,
        "missing_names": missing_names(question, [c.stored.chunk.text for c in pool]),
        "missing_dates": misses_dates(question, pool),
    }


def should_abstain(question: str, candidates: Sequence[Candidate], choice: Choice | None) -> bool:
    """True when the passages do not answer: silent on the period or a name the question asks about
    (unless the sentence is very close), or too far from the question altogether."""
    if not candidates or choice is None:
        return True
    s = abstention_signals(question, candidates, choice)
    lang = str(s["language"])
    if s["missing_dates"]:
        return True
    if float(s["top_cosine"]) < MIN_COSINE[lang]:  # type: ignore[arg-type]
        return True
    return bool(s["missing_names"]) and float(s["sentence_cosine"]) < MISSING_NAME_COSINE[lang]  # type: ignore[arg-type]


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
