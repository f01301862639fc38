"""The span reader's fitted sentence chooser: its rows, its pick in the answer step, its files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.answering.abstention import chosen_text
from qa.answering.chooser import (
    CHOOSER_FEATURES,
    CHOOSER_MODEL,
    NO_SPAN,
    Chooser,
    drop_chooser,
    load_chooser,
    save_chooser,
    window_rows,
)
from qa.answering.evidence import pool_sentences, rules_ranked
from qa.answering.span_reader import DEFAULT_DIR, META_FILE, ChoiceParams, Found
from qa.retrieval.query import analyse
from tests.answering.test_reader import candidates_of
from tests.answering.test_span_choice import QUESTION, TEXT, Scripted, ask


class ByFeature:
    """A stand-in for the fitted ranker: scores each row by one named feature, times `sign`."""

    def __init__(self, feature: str, sign: float = 1.0) -> None:
        self.column, self.sign = CHOOSER_FEATURES.index(feature), sign

    def predict(self, data: Any, **kwargs: Any) -> Any:
        return self.sign * np.asarray(data, dtype=np.float64)[:, self.column]


def ranked_pool() -> tuple[Any, Any, Any]:
    query = analyse(QUESTION)
    cands = candidates_of("m", TEXT)
    sentences = pool_sentences(cands, {}, np.zeros(4, np.float32), {})
    return query, cands, rules_ranked(query, cands, sentences, 4)


def test_rows_describe_each_sentence_against_the_rules_first_and_the_best() -> None:
    query, cands, ranked = ranked_pool()
    assert len(ranked) == 2
    texts = [chosen_text(cands, r.choice) for r in ranked]
    found = [Found(0, 5, 3.0, 1.0), Found(0, 0, float("-inf"), 0.5)]  # the second: no span at all
    rows = window_rows(query, cands, ranked, texts, found)
    assert rows.shape == (2, len(CHOOSER_FEATURES)) and rows.dtype == np.float32
    first, second = (dict(zip(CHOOSER_FEATURES, row.tolist(), strict=True)) for row in rows)
    assert (first["rank"], second["rank"]) == (0, 1)
    assert first["margin"] == 2.0 and first["margin_over_first"] == 0.0 and first["margin_below_best"] == 0.0
    assert second["margin"] == NO_SPAN and second["span_score"] == NO_SPAN
    assert second["margin_over_first"] == NO_SPAN - 2.0 and second["margin_rank"] == 1
    assert first["short_chars"] == 5 and second["short_chars"] == 0
    assert first["window_chars"] == len(texts[0])
    assert first["rules_gap"] == 0.0 and second["rules_gap"] <= 0.0


@pytest.mark.parametrize(
    ("chooser", "answered"),
    [
        # The margin rule alone would keep the rules' first ("deux mois": the other beats it by 1, delta is 4).
        (None, "deux mois"),
        # A ranker that trusts the reader's margin picks the other, whatever delta says.
        (Chooser(ByFeature("margin"), 2), "trente"),
        # One that trusts the rules' order keeps their first even where the reader prefers another.
        (Chooser(ByFeature("rank", -1.0), 2), "deux mois"),
    ],
)
def test_the_chooser_picks_the_sentence_its_ranker_puts_first(chooser: Chooser | None, answered: str) -> None:
    scripted = Scripted({"deux mois": 1.0, "trente": 2.0}, ChoiceParams(2, 4.0), chooser=chooser)
    answer = ask(scripted)
    assert answer.answer is not None and answered in answer.answer
    assert answer.short is not None and answer.short.text == answered
    assert len(scripted.read_texts) == 2  # both sentences read once, in one batch


def test_the_chooser_reads_as_many_sentences_as_it_was_fitted_on() -> None:
    scripted = Scripted({"deux mois": 1.0, "trente": 2.0}, ChoiceParams(2, 4.0), chooser=Chooser(ByFeature("margin"), 1))
    answer = ask(scripted)
    assert len(scripted.read_texts) == 1 and "deux mois" in (answer.answer or "")


def tiny_ranker() -> Any:
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(CHOOSER_FEATURES)))
    y = (x[:, CHOOSER_FEATURES.index("margin")] > 0).astype(float)
    params = {"objective": "lambdarank", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1}
    return lightgbm.train(params, lightgbm.Dataset(x, y, group=[4] * 50, feature_name=list(CHOOSER_FEATURES)), 5)


def test_a_saved_chooser_loads_back_and_can_be_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "span-reader"
    shutil.copytree(DEFAULT_DIR, folder)
    drop_chooser(folder)
    assert load_chooser(folder, json.loads((folder / META_FILE).read_text(encoding="utf-8"))) is None
    saved = Chooser(tiny_ranker(), 3)
    save_chooser(folder, saved, {"calibration": "figures"})
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    loaded = load_chooser(folder, meta)
    assert loaded is not None and loaded.k == 3 and loaded.features == CHOOSER_FEATURES
    rows = np.random.default_rng(1).normal(size=(3, len(CHOOSER_FEATURES))).astype(np.float32)
    assert loaded.pick(rows) == saved.pick(rows)
    assert meta["chooser"]["fit"] == {"calibration": "figures"} and "adapter_config.json" in {p.name for p in folder.iterdir()}
    drop_chooser(folder)
    assert not (folder / CHOOSER_MODEL).exists() and "chooser" not in json.loads((folder / META_FILE).read_text())


def test_a_chooser_fitted_on_other_features_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="other features"):
        Chooser.from_dict({"features": ["rank"], "k": 4}, tiny_ranker())
