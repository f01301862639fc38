"""Which of the rules' best sentences answers: a LightGBM ranker over what the rules and the span reader say of each.

The model is fitted by eval/fit_chooser.py on PIAF dev-half questions and kept beside the span reader's adapters:
`chooser.txt` (the booster) and the `chooser` entry of its reader.json (the features in order, how many of the
rules' sentences it reads, the fit's figures). Without it, the rules' first stands unless the reader's margin
for another beats it by `delta` (ChoiceParams).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.answering.evidence import Ranked
from qa.answering.span_reader import NO_SPAN, Found, set_meta_entry
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query
from qa.text.answer_types import holds_type

CHOOSER_MODEL = "chooser.txt"
META_KEY = "chooser"

CHOOSER_FEATURES = (
    "rank",  # its place in the rules' order
    "rules_score",  # the rules' score of it as the answer
    "rules_gap",  # ... less the rules' first's
    "margin",  # the span reader's margin over "no answer" in it
    "margin_over_first",  # ... less the rules' first's
    "margin_below_best",  # ... less the best among those read
    "margin_rank",  # its place by margin
    "span_score",  # the reader's score of its best span
    "null_score",  # ... and of "no answer"
    "cosine",  # the sentence's cosine to the question (the closer of its own and its window's)
    "cosine_below_best",  # ... less the best among those read
    "own_cosine",
    "window_cosine",
    "passage",  # the rank of the passage it is in
    "passage_cosine",
    "passage_score",  # the passage's fused score
    "short_chars",  # length of the reader's span
    "window_chars",  # length of what the reader read
    "holds_type",  # it holds the kind of thing asked for (a number, a date, a name)
    "lexical",  # share of the question's terms it holds, rare ones counting more
    "english",
    "question_terms",
)


def window_rows(
    query: Query, candidates: Sequence[Candidate], ranked: Sequence[Ranked], texts: Sequence[str], found: Sequence[Found]
) -> NDArray[np.float32]:
    """One row of CHOOSER_FEATURES per sentence read: `ranked` in the rules' order, `texts` what the reader read
    of each, `found` what it found there."""
    margins = np.array([max(f.margin, NO_SPAN) for f in found], dtype=np.float64)
    by_margin = np.argsort(np.argsort(-margins, kind="stable"), kind="stable")
    cosines = np.array([r.sentence.cosine for r in ranked])
    rows = []
    for i, (r, text, f) in enumerate(zip(ranked, texts, found, strict=True)):
        cand = candidates[r.sentence.index]
        rows.append(
            (
                i,
                r.score,
                r.score - ranked[0].score,
                margins[i],
                margins[i] - margins[0],
                margins[i] - margins.max(),
                by_margin[i],
                max(f.score, NO_SPAN),
                f.null_score,
                r.sentence.cosine,
                r.sentence.cosine - cosines.max(),
                r.sentence.own_cosine,
                r.sentence.window_cosine,
                r.sentence.index,
                cand.cosine,
                cand.score,
                f.end - f.start,
                len(text),
                holds_type(query.answer_type, text, query.words),
                r.lexical,
                query.language == "en",
                len(query.terms),
            )
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(CHOOSER_FEATURES))


@dataclass(frozen=True, slots=True)
class Chooser:
    """A ranker of the rules' best `k` sentences, read by the span reader (LightGBM, lambdarank)."""

    model: Any
    k: int
    features: tuple[str, ...] = CHOOSER_FEATURES

    def pick(self, rows: NDArray[np.float32]) -> int:
        """The row the ranker puts first (the rules' first among ties)."""
        scores = np.asarray(self.model.predict(rows, num_threads=1), dtype=np.float64)
        return int(np.argmax(scores))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "k": self.k}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], model: Any) -> Chooser:
        """The chooser saved as `d`; ValueError unless it was fitted on the features this code computes."""
        if list(d["features"]) != list(CHOOSER_FEATURES):
            raise ValueError("the sentence chooser was fitted on other features: refit it (eval/fit_chooser.py)")
        return cls(model, int(d["k"]))


def load_chooser(folder: Path, meta: Mapping[str, Any]) -> Chooser | None:
    """The fitted chooser kept in the span reader's folder (None when none was fitted)."""
    entry = meta.get(META_KEY)
    if not isinstance(entry, dict) or not (folder / CHOOSER_MODEL).is_file():
        return None
    import lightgbm

    return Chooser.from_dict(entry, lightgbm.Booster(model_file=str(folder / CHOOSER_MODEL)))


def drop_chooser(folder: Path) -> None:
    """The fitted chooser removed from the span reader's folder (its reader.json entry and booster)."""
    (folder / CHOOSER_MODEL).unlink(missing_ok=True)
    set_meta_entry(folder, META_KEY, None)


def save_chooser(folder: Path, chooser: Chooser, fit: dict[str, Any]) -> None:
    """The fitted chooser written beside the span reader: its booster, and its entry in reader.json."""
    chooser.model.save_model(str(folder / CHOOSER_MODEL))
    set_meta_entry(folder, META_KEY, {**chooser.to_dict(), "fit": fit})
