"""How close a generated sentence is to what its cited passages say: the embedding model's cosine to their closest sentence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.core.fitted import fitted_file
from qa.text.sentences import split_sentences

if TYPE_CHECKING:
    from numpy.typing import NDArray

PARAMS = Path(__file__).parent / "params.json"


class Support:
    """Scores a sentence against passages: the best cosine between its vector and any of their sentences' vectors
    (both embedded as passages, so a translation scores as high as a paraphrase). Vectors are kept per text, so
    the passages of one answer are embedded once however many sentences and citations are tried."""

    def __init__(self, embed: Callable[[list[str]], NDArray[np.float32]], threshold: float) -> None:
        self.embed = embed
        self.threshold = threshold
        self._vectors: dict[str, NDArray[np.float32]] = {}

    def _of(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def score(self, sentence: str, passages: Sequence[str]) -> float:
        parts = [p[s.start : s.end] for p in passages for s in split_sentences(p)] or list(passages)
        vectors = self._of([sentence, *parts])
        return float(np.max(vectors[1:] @ vectors[0]))


def support_threshold(model: str, path: Path = PARAMS) -> float | None:
    """The least cosine a sentence needs, fitted for this embedding model by eval/fit_support.py; None when the
    model has none (then names, numbers, dates and words are all that is checked)."""
    entry = fitted_file(path).get(model)
    return float(entry["min_cosine"]) if isinstance(entry, dict) and "min_cosine" in entry else None
