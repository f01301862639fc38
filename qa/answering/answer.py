"""Extractive answers: the sentence that answers, cited as [n], or an honest abstention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.answering.abstention import UNCALIBRATED, Archive, Bars, Signals, abstention_signals, chosen_text, should_abstain
from qa.answering.evidence import Choice, choose_sentence
from qa.core.types import Answer, Citation
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Decision:
    """What the answer step decided for one question: the chosen sentence, the signals, whether to abstain."""

    query: Query
    candidates: Sequence[Candidate]
    choice: Choice | None
    signals: Signals | None  # None when there was nothing to choose from
    abstain: bool


def decide(
    query: Query,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: Mapping[str, NDArray[np.float32]],
    window_vectors: Mapping[str, NDArray[np.float32]] | None = None,
    *,
    bars: Bars = UNCALIBRATED,
    archive: Archive | None = None,
) -> Decision:
    """Choose the answering sentence among the best passages, then whether the passages answer at all."""
    choice = choose_sentence(query, qvec, candidates, sentence_vectors, window_vectors)
    # A question of stop words alone ("le la les ?", "Qui ?") asks nothing the passages could answer.
    if not candidates or choice is None or not query.terms:
        return Decision(query, candidates, choice, None, True)
    signals = abstention_signals(query, candidates, choice, archive)
    return Decision(query, candidates, choice, signals, should_abstain(signals, bars))


def compose_answer(decision: Decision) -> Answer:
    """The answer with its citations, best first; `answer` is None when the archive does not say."""
    choice, candidates = decision.choice, decision.candidates
    answered = choice if not decision.abstain else None
    citations = []
    for n, cand in enumerate(candidates, start=1):
        chunk = cand.passage.chunk
        citations.append(
            Citation(
                n=n,
                article_id=chunk.article_id,
                title=cand.passage.title,
                date=cand.passage.date,
                url=cand.passage.url,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
                score=round(cand.cosine, 4),
                highlight=answered.span if answered is not None and answered.index == n - 1 else None,
            )
        )
    if answered is None:
        return Answer(question=decision.query.text, answer=None, citations=tuple(citations))
    sentence = chosen_text(candidates, answered).strip()
    return Answer(question=decision.query.text, answer=f"{sentence} [{answered.index + 1}]", citations=tuple(citations))
