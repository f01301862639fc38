"""The fitted reader: a sentence ranker, a span model and a calibrated abstention, loaded from plain files per model.

A model's folder (qa/answering/params/MODEL/) holds what eval/train_reader.py wrote: `reader.json` (the
feature names each part reads, the abstention's threshold and vetoes, how it was fitted and measured) and
three LightGBM text models, `sentences.txt`, `spans.txt` and `abstention.txt`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.answering.abstention import SIGNAL_FEATURES
from qa.answering.features import SENTENCE_FEATURES
from qa.answering.spans import SPAN_FEATURES
from qa.core.errors import ModelError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from qa.answering.span_reader import SpanReader

PARAMS = Path(__file__).resolve().parent / "params"
READER_FILE = "reader.json"
SENTENCE_MODEL = "sentences.txt"
SPAN_MODEL = "spans.txt"
ABSTENTION_MODEL = "abstention.txt"

QUESTION_FEATURES = (
    "top_cosine",  # the best passage's cosine to the question
    "sentence_cosine",  # the chosen sentence's
    "best_prob",  # the sentence ranker's probability for the chosen sentence
    "prob_margin",  # ... minus the runner-up's
    "best_lexical",
    "top_score",  # the first passage's fused score
    "chosen_rank",  # the passage the chosen sentence is in
    "span_score",  # the span model's score for the short answer
    *SIGNAL_FEATURES,
)


class Scorer(Protocol):
    """A fitted model over rows of features (a LightGBM Booster, or anything that predicts like one)."""

    def predict(self, data: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Abstention:
    """A model of "the passages answer" over named question features (LightGBM, binary), its threshold, and
    the signals that settle an abstention alone."""

    model: Scorer
    threshold: float  # abstain below this probability
    vetoes: tuple[str, ...] = ()  # any of these features above 0: abstain, chosen on the training questions
    features: tuple[str, ...] = QUESTION_FEATURES  # what each row holds, in order

    def vetoed(self, x: Sequence[float]) -> str | None:
        """The first veto the question's features raise, or None."""
        return next((name for name in self.vetoes if x[self.features.index(name)] > 0), None)

    def probability(self, x: Sequence[float]) -> float:
        return float(np.asarray(self.model.predict(np.asarray([x], dtype=np.float32), num_threads=1))[0])

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each feature's share of the log-odds for this question (the model's SHAP values)."""
        raw = np.asarray(self.model.predict(np.asarray([x], dtype=np.float32), pred_contrib=True, num_threads=1))[0]
        return [float(v) for v in raw[: len(self.features)]]

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "threshold": self.threshold, "vetoes": list(self.vetoes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], model: Scorer, features: Sequence[str] = QUESTION_FEATURES) -> Abstention:
        """The abstention saved as `d`; ValueError unless it was fitted on `features`, the ones this code computes."""
        if list(d["features"]) != list(features):
            raise ValueError("the abstention was fitted on other question features: refit it")
        unknown = sorted(set(d.get("vetoes", ())) - set(features))
        if unknown:
            raise ValueError(f"the abstention names vetoes this code does not compute: {unknown}")
        return cls(model, float(d["threshold"]), tuple(d.get("vetoes", ())), tuple(features))


@dataclass(frozen=True, slots=True)
class Policy:
    """Which parts of the answer step the fitted models take: the sentence ("fitted" ranker or "rules") and
    the abstention ("fitted", "rules", or "either" abstaining). Chosen by measurement (eval/train_reader.py)."""

    sentence: str = "fitted"
    abstention: str = "fitted"

    def __post_init__(self) -> None:
        if self.sentence not in ("fitted", "rules") or self.abstention not in ("fitted", "rules", "either"):
            raise ValueError(f"not a reader policy: {self}")


class Reader:
    """The fitted answer step: which sentence answers, which words of it, and whether the passages answer at all."""

    def __init__(
        self,
        sentences: Scorer,
        spans: Scorer,
        abstention: Abstention | None,
        policy: Policy | None = None,
        span_reader: SpanReader | None = None,
    ) -> None:
        self.sentences = sentences
        self.spans = spans
        self.abstention = abstention
        self.policy = policy or Policy()
        # When fitted, the neural reader finds the short answer instead of the span model.
        self.span_reader = span_reader
        # LightGBM boosters predict from one thread at a time.
        self._lock = threading.RLock()

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
        """The probability that the passages answer (1.0 when no abstention was fitted, 0.0 when a veto settles it)."""
        if self.abstention is None:
            return 1.0
        with self._lock:
            return 0.0 if self.abstention.vetoed(x) else self.abstention.probability(x)

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each question feature's weight for or against an answer (none fitted: zeros)."""
        if self.abstention is None:
            return [0.0] * len(QUESTION_FEATURES)
        with self._lock:
            return self.abstention.contributions(x)

    def abstains(self, x: Sequence[float]) -> bool:
        """Whether the passages do not answer: a veto, or a probability below the threshold."""
        if self.abstention is None:
            return False
        return self.abstention.vetoed(x) is not None or self.answerable(x) < self.abstention.threshold

    @classmethod
    def load(cls, folder: Path) -> Reader:
        """The reader saved in a folder; raises ValueError naming what does not fit this code."""
        import lightgbm

        meta = json.loads((folder / READER_FILE).read_text(encoding="utf-8"))
        if list(meta["sentence_features"]) != list(SENTENCE_FEATURES) or list(meta["span_features"]) != list(SPAN_FEATURES):
            raise ValueError(f"the reader in {folder} was fitted on other features: refit it (eval/train_reader.py)")
        sentences = lightgbm.Booster(model_file=str(folder / SENTENCE_MODEL))
        spans = lightgbm.Booster(model_file=str(folder / SPAN_MODEL))
        abstention = lightgbm.Booster(model_file=str(folder / ABSTENTION_MODEL))
        policy = Policy(**meta.get("policy", {}))
        return cls(sentences, spans, Abstention.from_dict(meta["abstention"], abstention), policy)


@lru_cache(maxsize=4)
def reader_for(model: str, params: Path = PARAMS, cache_dir: Path | None = None) -> Reader | None:
    """The reader fitted for an embedding model (its cosines are what the reader reads), or None if none was;
    with `cache_dir` (where the span reader's base model is provisioned), the span reader too when one was
    fitted. ModelError naming the folder when its files cannot be read or do not fit this code."""
    folder = params / model
    if not (folder / READER_FILE).is_file():
        return None
    try:
        reader = Reader.load(folder)
    except Exception as exc:  # whatever the files or LightGBM raise (LightGBMError included): one clear message
        raise ModelError(
            f"the fitted reader in {folder} cannot be used ({type(exc).__name__}: {exc}); "
            "refit it with eval/train_reader.py, or remove the folder to answer by the rules"
        ) from None
    if cache_dir is not None:
        from qa.answering.span_reader import span_reader_for

        reader.span_reader = span_reader_for(cache_dir)
    return reader
