"""Whether the passages answer, as a calibrated probability over the span reader's margins and the rules' signals.

The model is LightGBM's, fitted by eval/fit_answerable.py on PIAF questions made unanswerable for real, and
kept beside the span reader's adapters: `answerable.txt` (the booster) and the `answerable` entry of its
reader.json (the features in order, the threshold chosen for a budget of wrong abstentions, the vetoes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa.answering.abstention import FACT_RULES, SIGNAL_FEATURES, Bars, Signals, absent_words, far_name, signal_values
from qa.answering.reader import Abstention
from qa.answering.span_reader import NO_SPAN, set_meta_entry
from qa.core.types import Span
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query

ANSWERABLE_MODEL = "answerable.txt"
META_KEY = "answerable"

ANSWERABLE_FEATURES = (
    "margin",  # the span reader's margin over "no answer" in the chosen sentence
    "first_margin",  # ... in the rules' first sentence
    "best_margin",  # the best among the sentences it read
    "runner_margin",  # the second best (the first's when it read one)
    "short_chars",  # length of the short answer
    "top_cosine",  # the best passage's cosine to the question
    "sentence_cosine",  # the chosen sentence's
    "top_score",  # the first passage's fused score
    "chosen_rank",  # the passage the chosen sentence is in
    *SIGNAL_FEATURES,
    "absent_words",  # the question hinges on words the archive never uses, the sentence far (the rules' bars)
    "english_far_name",  # an English question names something the passages never mention, the sentence far
)
# What abstains whatever the probability: a fact of the question that the passages or the whole archive lack.
# PIAF's Wikipedia rarely asks about a period or about what a 1,518-paragraph archive never names, so a model
# fitted there weighs these little; on a news archive they are what settles most unanswerable questions. Words
# the archive never uses are weighed by the model instead: as a veto they alone overspend the 3% budget on PIAF
# (7.6% of its 277 training questions are answerable).
# English questions have a veto of their own: the archive is never asked about their names (a capitalised English
# word is often an ordinary word the French text says otherwise), so a name no article mentions ("What did
# Tokayev sign in Tokyo?") is no fact rule for them. The rules' bar on a missing name with the sentence far,
# calibrated for English on the dev split, stands in for it.
VETOES = (*FACT_RULES, "english_far_name")
# Which way a feature may move the probability of an answer, whatever the others (LightGBM's monotone
# constraints): a larger margin or cosine never lowers it, a missing name, period or word never raises it. Without
# them the refit of session 18 gave the issue's own "Quel est le prix actuel du baril de pétrole kazakh ?" (every
# word absent from the archive, its sentence at cosine 0.24) a higher probability than answered PIAF questions.
MONOTONE = {
    **dict.fromkeys(("margin", "first_margin", "best_margin", "top_cosine", "sentence_cosine", "top_score"), 1),
    **dict.fromkeys((*FACT_RULES, "missing_names", "absent_share", "absent_words", "english_far_name"), -1),
}


def answerable_features(
    query: Query,
    candidates: Sequence[Candidate],
    margins: Sequence[float],
    picked: int,
    short: Span | None,
    signals: Signals,
    chosen_rank: int,
    bars: Bars,
) -> tuple[float, ...]:
    """What the fitted abstention reads of one question, in ANSWERABLE_FEATURES order: the reader's `margins`
    over the rules' best sentences (first is the rules' first), the one `picked`, its short answer's span."""
    read = sorted((max(m, NO_SPAN) for m in margins), reverse=True) or [NO_SPAN]
    values = (
        max(margins[picked], NO_SPAN) if margins else NO_SPAN,
        max(margins[0], NO_SPAN) if margins else NO_SPAN,
        read[0],
        read[1] if len(read) > 1 else read[0],
        (short.end - short.start) if short is not None else 0,
        signals.top_cosine,
        signals.sentence_cosine,
        candidates[0].score if candidates else 0.0,
        chosen_rank,
        *signal_values(query, signals),
        absent_words(signals, bars),
        signals.language == "en" and far_name(signals, bars),
    )
    assert len(values) == len(ANSWERABLE_FEATURES)
    return tuple(float(v) for v in values)


def load_answerable(folder: Path, meta: dict[str, object]) -> Abstention | None:
    """The fitted abstention kept in the span reader's folder (None when none was fitted); ValueError naming
    what does not fit this code."""
    entry = meta.get(META_KEY)
    if not isinstance(entry, dict) or not (folder / ANSWERABLE_MODEL).is_file():
        return None
    import lightgbm

    model = lightgbm.Booster(model_file=str(folder / ANSWERABLE_MODEL))
    return Abstention.from_dict(entry, model, ANSWERABLE_FEATURES)


def drop_answerable(folder: Path) -> None:
    """The fitted abstention removed from the span reader's folder (its reader.json entry and booster)."""
    (folder / ANSWERABLE_MODEL).unlink(missing_ok=True)
    set_meta_entry(folder, META_KEY, None)


def save_answerable(folder: Path, abstention: Abstention, fit: dict[str, object]) -> None:
    """The fitted abstention written beside the span reader: its booster, and its entry in reader.json."""
    abstention.model.save_model(str(folder / ANSWERABLE_MODEL))  # type: ignore[attr-defined]
    set_meta_entry(folder, META_KEY, {**abstention.to_dict(), "fit": fit})
