"""Extractive answers: the sentence that answers, cited as [n], or an honest abstention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.answering.abstention import UNCALIBRATED, Archive, Bars, Signals, abstention_rule, abstention_signals, chosen_text
from qa.answering.answerable import answerable_features
from qa.answering.evidence import Choice, Sentence, choose_among, choose_sentence, pool_sentences
from qa.answering.reader import Reader
from qa.answering.reading import (
    Reading,
    Short,
    abstention_reason,
    best_short,
    choose_by_reading,
    fitted_abstains,
    read,
    reader_abstains,
    rules_reason,
)
from qa.core.types import Answer, Citation, ShortAnswer
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
    short: Short | None = None
    reason: str | None = None  # why it abstains, in words
    reading: Reading | None = None  # what the fitted reader read, when there is one
    features: tuple[float, ...] | None = None  # what the span reader's abstention reads (ANSWERABLE_FEATURES)


# Why an abstention that no model weighed was made.
NOTHING_FOUND = "no passage of the archive is close to the question"
NOTHING_ASKED = "the question has no word to look for"


def decide(
    query: Query,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: Mapping[str, NDArray[np.float32]],
    window_vectors: Mapping[str, NDArray[np.float32]] | None = None,
    *,
    bars: Bars = UNCALIBRATED,
    archive: Archive | None = None,
    reader: Reader | None = None,
    calibrated: bool = True,
) -> Decision:
    """Choose the answering sentence among the best passages, then whether the passages answer at all:
    with the reader fitted for the model when there is one, else with the rules and bars. `calibrated`: the
    span reader's calibrated abstention decides when one is fitted (else the rules plus its low margin)."""
    # A question of stop words alone ("le la les ?", "Qui ?") asks nothing the passages could answer.
    if not query.terms:
        return Decision(query, candidates, None, None, True, reason=NOTHING_ASKED)
    if reader is not None:
        sentences = pool_sentences(candidates, sentence_vectors, qvec, window_vectors or {})
        return _fitted(reader, query, candidates, sentences, bars, archive, calibrated)
    choice = choose_sentence(query, qvec, candidates, sentence_vectors, window_vectors)
    if not candidates or choice is None:
        return Decision(query, candidates, choice, None, True, reason=NOTHING_FOUND)
    signals = abstention_signals(query, candidates, choice, archive)
    rule = abstention_rule(signals, bars)
    return Decision(query, candidates, choice, signals, rule is not None, reason=rules_reason(rule, signals) if rule else None)


def _fitted(
    reader: Reader,
    query: Query,
    candidates: Sequence[Candidate],
    sentences: Sequence[Sentence],
    bars: Bars,
    archive: Archive | None,
    calibrated: bool = True,
) -> Decision:
    """The answer step with a fitted reader, as its policy says: the sentence by the ranker or the rules, the
    short answer by the span model, the abstention by the fitted model, the rules, or either."""
    policy = reader.policy
    if policy.sentence == "rules" and policy.abstention == "rules":
        if reader.span_reader is not None:
            return _read(reader, query, candidates, sentences, bars, archive, calibrated)
        # Only the span model is fitted here: nothing the other models would read is computed.
        choice = choose_among(query, candidates, sentences)
        short = best_short(reader, query, candidates, choice) if choice is not None else None
        if choice is None:
            return Decision(query, candidates, None, None, True, reason=NOTHING_FOUND)
        signals = abstention_signals(query, candidates, choice, archive)
        rule = abstention_rule(signals, bars)
        reason = rules_reason(rule, signals) if rule else None
        return Decision(query, candidates, choice, signals, rule is not None, short, reason)
    reading = read(reader, query, candidates, sentences, archive, by_rules=policy.sentence == "rules")
    if reading is None:
        return Decision(query, candidates, None, None, True, reason=NOTHING_FOUND)
    rule = abstention_rule(reading.signals, bars) if policy.abstention != "fitted" else None
    by_model = policy.abstention != "rules" and reader.abstains(reading.features)
    reason = abstention_reason(reader, reading) if by_model else rules_reason(rule, reading.signals) if rule else None
    abstain = by_model or rule is not None
    return Decision(query, candidates, reading.choice, reading.signals, abstain, reading.short, reason, reading)


def _read(
    reader: Reader,
    query: Query,
    candidates: Sequence[Candidate],
    sentences: Sequence[Sentence],
    bars: Bars,
    archive: Archive | None,
    calibrated: bool = True,
) -> Decision:
    """The answer step with the span reader: the sentence it settles on among the rules' best, then the abstention
    by its calibrated probability when one was fitted (and `calibrated`), else by the rules with the reader's
    margin."""
    span_reader = reader.span_reader
    assert span_reader is not None
    read_choice = choose_by_reading(reader, query, candidates, sentences)
    if read_choice is None:
        return Decision(query, candidates, None, None, True, reason=NOTHING_FOUND)
    choice, short = read_choice.choice, read_choice.short
    signals = abstention_signals(query, candidates, choice, archive)
    x = answerable_features(
        query, candidates, read_choice.margins, read_choice.picked, short.span if short else None, signals, choice.index, bars
    )
    if span_reader.answerable is not None and calibrated:
        abstain, reason = fitted_abstains(span_reader.answerable, x, signals)
    else:
        rule = abstention_rule(signals, bars)
        abstain, reason = reader_abstains(span_reader.abstention, rules_reason(rule, signals) if rule else None, short)
    return Decision(query, candidates, choice, signals, abstain, short, reason, features=x)


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
        return Answer(
            question=decision.query.text,
            answer=None,
            citations=tuple(citations),
            abstained_because=decision.reason or NOTHING_FOUND,
        )
    sentence = chosen_text(candidates, answered).strip()
    short = None
    if decision.short is not None:
        span = decision.short.span
        text = candidates[decision.short.index].passage.chunk.excerpt(span)
        short = ShortAnswer(text, decision.short.index + 1, span.start, span.end)
    return Answer(
        question=decision.query.text, answer=f"{sentence} [{answered.index + 1}]", citations=tuple(citations), short=short
    )
