"""The closeness of a sentence to its passages: best cosine to one of their sentences, each text embedded once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.generation.check import check
from qa.generation.support import Support, support_threshold
from tests.conftest import FakeEncoder
from tests.generation.test_check import PASSAGES


class Counting:
    """FakeEncoder's bag-of-words vectors, counting the texts embedded."""

    def __init__(self) -> None:
        self.encoder = FakeEncoder(dim=64)
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.encoder.embed_passages(list(texts))


def test_the_score_is_the_best_cosine_to_one_sentence_and_texts_are_embedded_once() -> None:
    embed = Counting()
    support = Support(embed, threshold=0.9)
    passage = "Le ciel est bleu. Les deux chefs ont signé 24 accords."
    assert support.score("Les deux chefs ont signé 24 accords.", [passage]) > 0.99
    assert support.score("Le ciel est vert.", [passage]) < 0.9
    assert embed.texts.count("Le ciel est bleu.") == 1  # kept across calls


def test_a_sentence_not_close_enough_to_its_passage_is_dropped() -> None:
    support = Support(Counting(), threshold=0.99)
    [verdict] = check("Tokayev and Xi Jinping signed 24 bilateral agreements in Astana [1].", PASSAGES, "en", support)
    assert verdict.dropped_because is not None and verdict.dropped_because.startswith("it says nothing close enough to [1]")
    [verdict] = check("Tokayev and Xi Jinping signed 24 bilateral agreements in Astana [1].", PASSAGES, "en", None)
    assert verdict.dropped_because is None


def test_the_threshold_is_read_per_model(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"m": {"min_cosine": 0.8}}), encoding="utf-8")
    assert support_threshold("m", path) == 0.8
    assert support_threshold("other", path) is None
    assert support_threshold("m", tmp_path / "missing.json") is None
