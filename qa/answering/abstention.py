"""When the passages do not answer: the signals abstaining rests on, the bars calibrated per model, the decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qa.answering.evidence import Choice
from qa.core.types import Passage
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query
from qa.text.answer_types import holds_type
from qa.text.dates import DateRange, overlaps, ranges_overlap
from qa.text.names import is_known_name, missing_names
from qa.text.relative import relative_date


@dataclass(frozen=True, slots=True)
class Bars:
    """Cosine bars under which the passages do not answer, per question language, for one model.

    Below `min_cosine` (question to best passage) the passages are on another subject; a question naming
    something the passages never mention is answered only above `missing_name_cosine` (question to the
    chosen sentence). Cosines are the model's own, so each model has its bars.
    """

    min_cosine: dict[str, float]
    missing_name_cosine: dict[str, float]
    # (share, cosine): a question whose words the archive never uses make up at least `share` of its
    # weight is answered only when the chosen sentence reaches `cosine`. None for a language: no such bar.
    absent_words: dict[str, tuple[float, float]] = field(default_factory=dict)


# Calibrated on PIAF questions whose paragraph was removed from the index (eval/calibrate_abstention.py ->
# eval/reports/abstention-calibration-MODEL.json): French, the best abstention recall on the dev split that
# turns at most 3% of its answerable questions into abstentions; English questions sit lower against French
# text and spell names otherwise, so theirs are the French bars lowered by the smallest shift that wrongly
# abstains on at most one English dev question. Recalibrated once the answer step read sentence windows
# (a sentence is as close as its closest window, so the cosines the bars read moved up).
BARS: dict[str, Bars] = {
    # Absent words, French only (English words are never in a French archive): chosen on PIAF dev holdout
    # as the pair catching the most unanswerable questions for at most 0.5% more wrong abstentions.
    "embeddinggemma-300m": Bars({"fr": 0.26, "en": 0.24}, {"fr": 0.48, "en": 0.46}, {"fr": (0.1, 0.35)}),
    "multilingual-e5-small-q4": Bars({"fr": 0.82, "en": 0.72}, {"fr": 0.90, "en": 0.80}),
}
# A model nobody calibrated: no bar on the subject, and a name the passages never mention always abstains.
UNCALIBRATED = Bars({"fr": -1.0, "en": -1.0}, {"fr": 2.0, "en": 2.0})
# Bars that never abstain on a cosine or on absent words: only the rules that need no bar are left.
NO_BARS = Bars({"fr": -1.0, "en": -1.0}, {"fr": -1.0, "en": -1.0})

# Names and dates are looked for in this many of the best passages (the default k): more would make
# the answer depend on how many citations were asked for.
NAME_POOL = 5


def bars_for(model: str) -> Bars:
    """The abstention bars calibrated for a model, or the cautious ones for a model never calibrated."""
    return BARS.get(model, UNCALIBRATED)


class Archive(Protocol):
    """What abstaining asks of the whole archive, beyond the passages retrieved."""

    def unheard(self, units: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]: ...

    def absent_share(self, terms: Sequence[str]) -> float: ...

    def idf(self, terms: Sequence[str]) -> dict[str, float]: ...


@dataclass(frozen=True, slots=True)
class Signals:
    """What abstaining rests on, for one question and its passages."""

    language: str
    top_cosine: float  # the best passage's cosine to the question
    sentence_cosine: float  # the chosen sentence's
    missing_names: tuple[tuple[str, ...], ...]  # names of the question the passages never mention
    unheard_names: tuple[tuple[str, ...], ...]  # ... that the whole archive never mentions either
    absent_share: float  # weight of the question's words the archive never uses
    missing_dates: bool  # it names a period no passage mentions
    off_period: bool  # the answering passage is about another period
    no_quantity: bool  # a "how many" answered by no quantity

    @property
    def known_missing(self) -> bool:
        """A well-known name (whose French form is known) the passages never mention in either form."""
        return any(is_known_name(unit) for unit in self.missing_names)


# What every fitted abstention reads of the rules' signals and of the question, in this order.
SIGNAL_FEATURES = (
    "missing_names",  # names of the question the passages never mention
    "unheard_names",  # ... nor the whole archive
    "known_missing",  # a well-known name (whose French form we know) the passages never mention
    "absent_share",  # weight of the question's words the archive never uses
    "missing_dates",  # it names a period the passages never mention
    "off_period",  # the answering passage is about another period
    "no_quantity",  # a "how many" answered by no quantity
    "english",
    "question_terms",
    "asks_number",
    "asks_date",
    "asks_name",
)


def signal_values(query: Query, s: Signals) -> tuple[float, ...]:
    """The rules' signals and the question's kind, in SIGNAL_FEATURES order."""
    values = (
        len(s.missing_names),
        len(s.unheard_names),
        s.known_missing,
        s.absent_share,
        s.missing_dates,
        s.off_period,
        s.no_quantity,
        query.language == "en",
        len(query.terms),
        query.answer_type == "number",
        query.answer_type == "date",
        query.answer_type == "name",
    )
    return tuple(float(v) for v in values)


def misses_dates(query: Query, candidates: Sequence[Candidate]) -> bool:
    """True when the question names a period and none of the passages speaks of it (speaks_of)."""
    ranges = query.dates
    return bool(ranges) and not any(speaks_of(c.passage, rng) for c in candidates for rng in ranges)


# News tells of the days before it went out ("lundi", "hier"): an article published on 7 September 2020 speaks
# of September 2020 without writing it. OrangeSum questions naming a month or a year from the article's date
# were abstained on wrongly for one in five answerable ones (eval/news.py training questions, session 18).
REPORTED_DAYS = 7  # the days before the publication that count, besides the day itself


def speaks_of(passage: Passage, rng: DateRange) -> bool:
    """Whether a passage speaks of a range of days: a date it writes, a date it tells from its publication
    ("lundi", "l'an dernier"), or, for a range longer than a day, the week up to its publication.

    A day the question names is not met by the publication date alone: an article dated 19 November does not
    report what happened on 19 November unless it says so ("ce mardi").
    """
    chunk = passage.chunk
    if any(overlaps(v, rng) for v in chunk.dates):
        return True
    published = passage.date
    if published is None:
        return False
    week = DateRange(published - dt.timedelta(days=REPORTED_DAYS), published)
    if rng.last_day > rng.first_day and ranges_overlap(week, rng):
        return True
    for span in chunk.sentences:
        told = relative_date(chunk.excerpt(span), published=published, previous=None)
        if told is not None and overlaps(told.value, rng):
            return True
    return False


def chosen_text(candidates: Sequence[Candidate], choice: Choice) -> str:
    """The text of the chosen span."""
    return candidates[choice.index].passage.chunk.excerpt(choice.span)


def _without_numbers(units: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Numbers and ordinals ("20ème") are never looked up in the archive."""
    return [unit for unit in units if not any(ch.isdigit() for t in unit for ch in t)]


def abstention_signals(
    query: Query, candidates: Sequence[Candidate], choice: Choice | None, archive: Archive | None = None
) -> Signals:
    """What abstaining rests on: language, best passage cosine, chosen sentence cosine, names and dates missing."""
    pool = candidates[:NAME_POOL]
    missing = missing_names(query.names, [c.passage.chunk.text for c in pool])
    # The archive is asked about French questions only: a capitalised English word is often an ordinary word
    # the French text says otherwise ("Jewish", "DNA"), and English words are never in a French archive.
    asked = archive if query.language == "fr" else None
    return Signals(
        language=query.language,
        top_cosine=max((c.cosine for c in pool), default=0.0),
        sentence_cosine=choice.cosine if choice is not None else 0.0,
        missing_names=tuple(missing),
        unheard_names=tuple(asked.unheard(_without_numbers(missing))) if asked is not None else (),
        absent_share=asked.absent_share(query.content_terms) if asked is not None else 0.0,
        missing_dates=misses_dates(query, pool),
        off_period=choice is not None and misses_dates(query, [candidates[choice.index]]),
        no_quantity=choice is not None
        and query.answer_type == "number"
        and not holds_type("number", chosen_text(candidates, choice), set(), money=not query.money_excluded),
    )


# The rules that settle an abstention alone, with no bar: a fact of the question the passages or the archive lack,
# in the order the cascade names them.
_FACTS: dict[str, Callable[[Signals], bool]] = {
    "missing_dates": lambda s: s.missing_dates,
    "off_period": lambda s: s.off_period,
    "no_quantity": lambda s: s.no_quantity,
    "unheard_names": lambda s: bool(s.unheard_names),
    "known_missing": lambda s: s.known_missing,
}
FACT_RULES = tuple(_FACTS)


def fact_rule(s: Signals) -> str | None:
    """The first of FACT_RULES that fires on the signals, or None."""
    return next((name for name, fired in _FACTS.items() if fired(s)), None)


def absent_words(s: Signals, bars: Bars) -> bool:
    """Whether the question hinges on words the whole archive never uses, and the chosen sentence is not close."""
    share, cosine = bars.absent_words.get(s.language, (2.0, -1.0))
    return s.absent_share >= share and s.sentence_cosine < cosine


def far_name(s: Signals, bars: Bars) -> bool:
    """Whether the question names something the passages never mention and the chosen sentence is not close
    (the rules' bar on missing names)."""
    return bool(s.missing_names) and s.sentence_cosine < bars.missing_name_cosine[s.language]


def abstention_rule(signals: Signals, bars: Bars = UNCALIBRATED) -> str | None:
    """The rule by which the passages do not answer, named as the signal it reads, or None when they answer:
    silent on the period the question asks about (or the answering passage is), silent on a name it asks
    about (unless the sentence is very close; a well-known name's French form, or a name the whole archive
    never mentions, leaves no doubt), hinging on words the archive never uses (unless the sentence is
    close), or too far from the question altogether."""
    s, lang = signals, signals.language
    fact = fact_rule(s)
    if fact is not None:
        return fact
    if s.top_cosine < bars.min_cosine[lang]:
        return "top_cosine"
    if absent_words(s, bars):
        return "absent_share"
    if far_name(s, bars):
        return "missing_names"
    return None
