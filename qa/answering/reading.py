"""The fitted answer step over retrieved passages: the sentence, the short answer in it, and a calibrated abstention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.answering.abstention import Archive, Signals, abstention_signals, chosen_text, signal_values
from qa.answering.chooser import window_rows
from qa.answering.evidence import Choice, Sentence, choose_among, extend, rules_ranked
from qa.answering.features import SentenceTable, sentence_table
from qa.answering.reader import QUESTION_FEATURES, Abstention, Reader
from qa.answering.span_reader import AbstainParams, Found
from qa.answering.spans import span_table
from qa.core.types import Span
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Short:
    """The short answer: a span of one candidate's passage (offsets in its article), and the span model's score."""

    index: int
    span: Span
    score: float


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the fitted step read and decided for one question (what training and tracing look at)."""

    table: SentenceTable
    probabilities: NDArray[np.float64]
    best: int  # the chosen sentence's row
    choice: Choice
    short: Short | None
    signals: Signals
    features: tuple[float, ...]  # QUESTION_FEATURES


def best_short(reader: Reader, query: Query, candidates: Sequence[Candidate], choice: Choice) -> Short | None:
    """The words of the chosen span most likely to be the answer itself."""
    text = chosen_text(candidates, choice)
    if reader.span_reader is not None:
        return short_found(choice, reader.span_reader.read([query.text], [text])[0])
    table = span_table(query, text)
    if not table.spans:
        return None
    scores = reader.span_scores(table.rows)
    i = int(np.argmax(scores))
    start, end = table.spans[i]
    # The chosen span's offsets are the article's: so are the short answer's.
    offset = choice.span.start
    return Short(choice.index, Span(offset + start, offset + end), float(scores[i]))


def short_found(choice: Choice, found: Found) -> Short | None:
    """The span reader's answer in the chosen span as a short answer, in the article's offsets (None if empty)."""
    if found.end <= found.start:
        return None
    offset = choice.span.start
    return Short(choice.index, Span(offset + found.start, offset + found.end), found.margin)


@dataclass(frozen=True, slots=True)
class ReadChoice:
    """The sentence the span reader settled on among the rules' best, its short answer, and every margin it read
    (the rules' order: the first is the rules' first)."""

    choice: Choice
    short: Short | None
    margins: tuple[float, ...]
    picked: int


def choose_by_reading(
    reader: Reader, query: Query, candidates: Sequence[Candidate], sentences: Sequence[Sentence]
) -> ReadChoice | None:
    """The rules' best sentences read by the span reader, and the one that answers, with its short answer: the
    fitted chooser's pick among its `k`, or without one the rules' first unless another of their best `k`
    outscores it by `delta` (the reader's `choice`). None when there are no sentences."""
    span_reader = reader.span_reader
    assert span_reader is not None
    if not sentences:
        return None
    chooser = span_reader.chooser
    ranked = rules_ranked(query, candidates, sentences, chooser.k if chooser is not None else span_reader.choice.k)
    texts = [chosen_text(candidates, r.choice) for r in ranked]
    found = span_reader.read([query.text] * len(texts), texts)
    if chooser is not None:
        best = chooser.pick(window_rows(query, candidates, ranked, texts, found))
    else:
        best = max(range(len(found)), key=lambda i: found[i].margin)
        if found[best].margin - found[0].margin < span_reader.choice.delta:
            best = 0
    margins = tuple(f.margin for f in found)
    chosen = ranked[best].choice
    return ReadChoice(chosen, short_found(chosen, found[best]), margins, best)


def reader_abstains(params: AbstainParams, rules_reason: str | None, short: Short | None) -> tuple[bool, str | None]:
    """Whether to abstain, and why, from the rules' reason (None: they answer) and the span reader's short answer."""
    margin = short.score if short is not None else float("-inf")
    if not params.abstains(rules_reason is not None, margin):
        return False, None
    if rules_reason is not None:
        return True, rules_reason
    return True, _unread(margin, f"below {params.low:.1f}")


def _unread(margin: float, bar: str) -> str:
    return f"the reader finds no answer in the passages (its best scores {margin:.1f}, {bar})"


# The features that are the span reader's own judgement: when one of them weighs most, the reader is the reason.
READER_SIGNALS = ("margin", "first_margin", "best_margin", "runner_margin", "short_chars")


def fitted_abstains(model: Abstention, x: Sequence[float], signals: Signals) -> tuple[bool, str | None]:
    """Whether the calibrated probability (or a veto) abstains on features `x` (ANSWERABLE_FEATURES), and why:
    the veto, or the signal that weighs most against an answer."""
    veto = model.vetoed(x)
    if veto is not None:
        return True, rules_reason(veto, signals)
    p = model.probability(x)
    if p >= model.threshold:
        return False, None
    contributions = dict(zip(model.features, model.contributions(x), strict=True))
    worst = min(contributions, key=lambda k: contributions[k])
    closeness = f"probability of an answer {p:.2f}, below {model.threshold:.2f}"
    if worst in READER_SIGNALS:
        return True, _unread(x[model.features.index("margin")], closeness)
    return True, _reason(worst, signals, closeness)


def question_features(
    query: Query,
    candidates: Sequence[Candidate],
    reading: tuple[SentenceTable, NDArray[np.float64], int],
    short: Short | None,
    signals: Signals,
) -> tuple[float, ...]:
    """What the abstention reads of one question, in QUESTION_FEATURES order."""
    table, probs, best = reading
    ordered = np.sort(probs)[::-1]
    runner_up = float(ordered[1]) if len(ordered) > 1 else 0.0
    values = (
        signals.top_cosine,
        signals.sentence_cosine,
        float(probs[best]),
        float(probs[best]) - runner_up,
        table.lexical[best],
        candidates[0].score,
        table.sentences[best].index,
        short.score if short is not None else 0.0,
        *signal_values(query, signals),
    )
    assert len(values) == len(QUESTION_FEATURES)
    return tuple(float(v) for v in values)


def read(
    reader: Reader,
    query: Query,
    candidates: Sequence[Candidate],
    sentences: Sequence[Sentence],
    archive: Archive | None,
    *,
    by_rules: bool = False,
) -> Reading | None:
    """The fitted step over the pool's sentences (None when there are none): the ranker's choice, or the
    rules' when `by_rules`, its short answer, the abstention signals and the features the abstention reads."""
    if not sentences:
        return None
    table = sentence_table(query, candidates, sentences, archive.idf(query.terms) if archive is not None else None)
    probs = reader.sentence_probabilities(table.rows)
    best = int(np.argmax(probs))
    chosen = table.sentences[best]
    choice = Choice(chosen.index, extend(query, candidates[chosen.index], chosen), chosen.cosine)
    short = best_short(reader, query, candidates, choice)
    signals = abstention_signals(query, candidates, choice, archive)
    # The features describe the ranker's choice, as the abstention was fitted on.
    features = question_features(query, candidates, (table, probs, best), short, signals)
    if by_rules:
        rules = choose_among(query, candidates, sentences)
        assert rules is not None  # there are sentences to choose from
        choice = rules
        short = best_short(reader, query, candidates, choice)
        signals = abstention_signals(query, candidates, choice, archive)
    return Reading(table, probs, best, choice, short, signals, features)


def _names(units: Sequence[tuple[str, ...]]) -> str:
    return ", ".join(" ".join(unit) for unit in units)


def abstention_reason(reader: Reader, reading: Reading) -> str:
    """The reason in words: the signal that weighs most against an answer."""
    if reader.abstention is None:
        return "the passages do not answer"
    contributions = dict(zip(QUESTION_FEATURES, reader.contributions(reading.features), strict=True))
    worst = reader.abstention.vetoed(reading.features) or min(contributions, key=lambda k: contributions[k])
    return _reason(worst, reading.signals, f"confidence {reader.answerable(reading.features):.2f}")


def rules_reason(rule: str, signals: Signals) -> str:
    """The reason in words for an abstention by the rules: the rule that fired (abstention_rule's name)."""
    return _reason(rule, signals, f"closest passage at cosine {signals.top_cosine:.2f}")


def _reason(worst: str, s: Signals, closeness: str) -> str:
    if worst in ("unheard_names",) and s.unheard_names:
        return f"no article mentions {_names(s.unheard_names)}"
    if worst in ("missing_names", "known_missing", "unheard_names", "english_far_name") and s.missing_names:
        return f"the passages found never mention {_names(s.missing_names)}"
    if worst == "missing_dates" and s.missing_dates:
        return "the passages found say nothing about the period the question names"
    if worst == "off_period" and s.off_period:
        return "the closest passage is about another period than the one asked"
    if worst == "no_quantity" and s.no_quantity:
        return "the question asks for a quantity and the closest passage gives none"
    if worst in ("absent_share", "absent_words") and s.absent_share > 0:
        return "the archive never uses some of the question's key words"
    return f"no passage comes close enough to answering ({closeness})"
