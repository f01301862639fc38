"""The fitted reader: a sentence ranker, a span model and a calibrated abstention, loaded from plain files per model.

A model's folder (qa/answering/params/MODEL/) holds what eval/train_reader.py wrote: `reader.json` (the
feature names each part reads, the abstention's logistic coefficients and threshold, how it was fitted
and measured) and two LightGBM text models, `sentences.txt` and `spans.txt`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.answering.features import SENTENCE_FEATURES
from qa.answering.spans import SPAN_FEATURES

if TYPE_CHECKING:
    from numpy.typing import NDArray

PARAMS = Path(__file__).resolve().parent / "params"
READER_FILE = "reader.json"
SENTENCE_MODEL = "sentences.txt"
SPAN_MODEL = "spans.txt"

QUESTION_FEATURES = (
    "top_cosine",  # the best passage's cosine to the question
    "sentence_cosine",  # the chosen sentence's
    "best_prob",  # the sentence ranker's probability for the chosen sentence
    "prob_margin",  # ... minus the runner-up's
    "best_lexical",
    "top_score",  # the first passage's fused score
    "chosen_rank",  # the passage the chosen sentence is in
    "span_score",  # the span model's score for the short answer
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


class Scorer(Protocol):
    """A fitted model over rows of features (a LightGBM Booster, or anything that predicts like one)."""

    def predict(self, data: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Abstention:
    """A logistic model of "the passages answer", over standardised QUESTION_FEATURES, and its threshold."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # abstain below this probability

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each feature's share of the log-odds, from where the average question stands."""
        return [c * (v - m) / s for v, m, s, c in zip(x, self.mean, self.scale, self.coef, strict=True)]

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(self.contributions(x))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(QUESTION_FEATURES),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Abstention:
        if list(d["features"]) != list(QUESTION_FEATURES):
            raise ValueError("the abstention was fitted on other question features: refit it (eval/train_reader.py)")
        return cls(tuple(d["mean"]), tuple(d["scale"]), tuple(d["coef"]), float(d["intercept"]), float(d["threshold"]))


class Reader:
    """The fitted answer step: which sentence answers, which words of it, and whether the passages answer at all."""

    def __init__(self, sentences: Scorer, spans: Scorer, abstention: Abstention | None) -> None:
        self.sentences = sentences
        self.spans = spans
        self.abstention = abstention
        # LightGBM boosters predict from one thread at a time.
        self._lock = threading.Lock()

    def _predict(self, model: Scorer, rows: NDArray[np.float32]) -> NDArray[np.float64]:
        if not len(rows):
            return np.zeros(0)
        with self._lock:
            return np.asarray(model.predict(rows, num_threads=1), dtype=np.float64)

    def sentence_probabilities(self, rows: NDArray[np.float32]) -> NDArray[np.float64]:
        """Per sentence row (SENTENCE_FEATURES), the probability that it holds the answer."""
        return self._predict(self.sentences, rows)

    def span_scores(self, rows: NDArray[np.float32]) -> NDArray[np.float64]:
        """Per span row (SPAN_FEATURES), a score that ranks the spans of one text by how much of the answer they are."""
        return self._predict(self.spans, rows)

    def answerable(self, x: Sequence[float]) -> float:
        """The probability that the passages answer (1.0 when no abstention was fitted)."""
        return self.abstention.probability(x) if self.abstention is not None else 1.0

    @classmethod
    def load(cls, folder: Path) -> Reader:
        """The reader saved in a folder; raises ValueError naming what does not fit this code."""
        import lightgbm

        meta = json.loads((folder / READER_FILE).read_text(encoding="utf-8"))
        if list(meta["sentence_features"]) != list(SENTENCE_FEATURES) or list(meta["span_features"]) != list(SPAN_FEATURES):
            raise ValueError(f"the reader in {folder} was fitted on other features: refit it (eval/train_reader.py)")
        sentences = lightgbm.Booster(model_file=str(folder / SENTENCE_MODEL))
        spans = lightgbm.Booster(model_file=str(folder / SPAN_MODEL))
        return cls(sentences, spans, Abstention.from_dict(meta["abstention"]))


@lru_cache(maxsize=4)
def reader_for(model: str) -> Reader | None:
    """The reader fitted for an embedding model (its cosines are what the reader reads), or None if none was."""
    folder = PARAMS / model
    if not (folder / READER_FILE).is_file():
        return None
    return Reader.load(folder)
