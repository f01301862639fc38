"""Extractive answers: the sentence that answers, cited as [n], or an honest abstention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from qa.answering.evidence import Choice, choose_sentence
from qa.core.types import Answer, Citation
from qa.retrieval.search import Candidate, question_language
from qa.text.answer_types import answer_type, holds_type, money_excluded
from qa.text.dates import overlaps, query_dates
from qa.text.names import is_known_name, missing_names

if TYPE_CHECKING:
    from numpy.typing import NDArray


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


def bars_for(model: str) -> Bars:
    """The abstention bars calibrated for a model, or the cautious ones for a model never calibrated."""
    return BARS.get(model, UNCALIBRATED)


class Archive(Protocol):
    """What abstaining asks of the whole archive, beyond the passages retrieved."""

    def mentions(self, unit: tuple[str, ...]) -> bool: ...

    def absent_share(self, question: str) -> float: ...


# Names and dates are looked for in this many of the best passages (the default k): more would make
# the answer depend on how many citations were asked for.
NAME_POOL = 5


def misses_dates(question: str, candidates: Sequence[Candidate]) -> bool:
    """True when the question names a period and none of the passages mentions a date in it.

    The publication date is deliberately not consulted: an article dated 19 November does not report
    what happened on 19 November.
    """
    ranges = query_dates(question)
    return bool(ranges) and not any(overlaps(value, rng) for c in candidates for value in c.stored.chunk.dates for rng in ranges)


def _text(candidates: Sequence[Candidate], choice: Choice) -> str:
    chunk = candidates[choice.index].stored.chunk
    return chunk.text[choice.span.start - chunk.start : choice.span.end - chunk.start]


def unheard_names(missing: Sequence[tuple[str, ...]], archive: Archive) -> list[tuple[str, ...]]:
    """The missing names that the whole archive never mentions; numbers and ordinals ("20ème") are left out."""
    return [unit for unit in missing if not any(ch.isdigit() for t in unit for ch in t) and not archive.mentions(unit)]


def abstention_signals(
    question: str, candidates: Sequence[Candidate], choice: Choice | None, archive: Archive | None = None
) -> dict[str, object]:
    """What abstaining rests on: language, best passage cosine, chosen sentence cosine, names and dates missing."""
    pool = candidates[:NAME_POOL]
    language = question_language(question)
    missing = missing_names(question, [c.stored.chunk.text for c in pool])
    # The archive is asked about French questions only: a capitalised English word is often an ordinary word
    # the French text says otherwise ("Jewish", "DNA"), and English words are never in a French archive.
    asked = archive if language == "fr" else None
    return {
        "language": language,
        "top_cosine": max((c.cosine for c in pool), default=0.0),
        "sentence_cosine": choice.cosine if choice is not None else 0.0,
        "missing_names": missing,
        "unheard_names": unheard_names(missing, asked) if asked is not None else [],
        "absent_share": asked.absent_share(question) if asked is not None else 0.0,
        "missing_dates": misses_dates(question, pool),
        "off_period": choice is not None and misses_dates(question, [candidates[choice.index]]),
        "no_quantity": choice is not None
        and answer_type(question) == "number"
        and not holds_type("number", _text(candidates, choice), set(), money=not money_excluded(question)),
    }


def should_abstain(
    question: str,
    candidates: Sequence[Candidate],
    choice: Choice | None,
    bars: Bars = UNCALIBRATED,
    archive: Archive | None = None,
) -> bool:
    """True when the passages do not answer: silent on the period the question asks about (or the
    answering passage is), silent on a name it asks about (unless the sentence is very close; a
    well-known name's French form, or a name the whole archive never mentions, leaves no doubt), hinging on
    words the archive never uses (unless the sentence is close), or too far from the question altogether."""
    if not candidates or choice is None:
        return True
    s = abstention_signals(question, candidates, choice, archive)
    lang = str(s["language"])
    if s["missing_dates"] or s["off_period"] or s["no_quantity"] or s["unheard_names"]:
        return True
    missing = cast("list[tuple[str, ...]]", s["missing_names"])
    if any(is_known_name(unit) for unit in missing):
        return True
    if float(s["top_cosine"]) < bars.min_cosine[lang]:  # type: ignore[arg-type]
        return True
    share, cosine = bars.absent_words.get(lang, (2.0, -1.0))
    if float(s["absent_share"]) >= share and float(s["sentence_cosine"]) < cosine:  # type: ignore[arg-type]
        return True
    return bool(missing) and float(s["sentence_cosine"]) < bars.missing_name_cosine[lang]  # type: ignore[arg-type]


def compose_answer(
    question: str,
    qvec: NDArray[np.float32],
    candidates: Sequence[Candidate],
    sentence_vectors: Mapping[str, NDArray[np.float32]],
    bars: Bars = UNCALIBRATED,
    archive: Archive | None = None,
    window_vectors: Mapping[str, NDArray[np.float32]] | None = None,
) -> Answer:
    """The answer with its citations, best first; `answer` is None when the archive does not say."""
    choice = choose_sentence(question, qvec, candidates, sentence_vectors, window_vectors)
    abstain = should_abstain(question, candidates, choice, bars, archive)
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
    sentence = _text(candidates, choice).strip()
    return Answer(question=question, answer=f"{sentence} [{choice.index + 1}]", citations=tuple(citations))
