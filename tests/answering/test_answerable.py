"""The span reader's calibrated abstention: its features, its verdict and reason in the answer step, its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.answering.abstention import UNCALIBRATED
from qa.answering.answerable import (
    ANSWERABLE_FEATURES,
    ANSWERABLE_MODEL,
    NO_SPAN,
    answerable_features,
    drop_answerable,
    load_answerable,
    save_answerable,
)
from qa.answering.reader import Abstention
from qa.answering.span_reader import META_FILE, AbstainParams, ChoiceParams
from tests.answering.test_span_choice import Scripted, ask


class Logistic:
    """A stand-in for the fitted model: a logistic of weighted ANSWERABLE_FEATURES, with its contributions."""

    def __init__(self, weights: dict[str, float], bias: float = 0.0) -> None:
        self.coef = np.array([weights.get(f, 0.0) for f in ANSWERABLE_FEATURES])
        self.bias = bias

    def predict(self, data: Any, pred_contrib: bool = False, **kwargs: Any) -> Any:
        x = np.asarray(data, dtype=np.float64)
        if pred_contrib:
            return np.hstack([x * self.coef, np.full((len(x), 1), self.bias)])
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.bias)))


def by_margin(threshold: float = 0.5, vetoes: tuple[str, ...] = ()) -> Abstention:
    """Answerable as the reader's margin says: p = 0.5 at margin 0."""
    return Abstention(Logistic({"margin": 1.0}), threshold, vetoes, ANSWERABLE_FEATURES)


def test_a_low_margin_abstains_and_says_the_reader_found_nothing() -> None:
    answer = ask(Scripted({"deux mois": -3.0, "trente": -2.5}, ChoiceParams(2, 4.0), answerable=by_margin()))
    assert answer.answer is None and answer.short is None
    reason = answer.abstained_because
    assert "reader finds no answer" in reason and "-3.0" in reason and "probability of an answer 0.05, below 0.50" in reason


def test_with_the_calibrated_abstention_set_aside_the_rules_and_the_low_margin_decide() -> None:
    from qa.answering.answer import compose_answer, decide
    from qa.retrieval.query import analyse
    from tests.answering.test_reader import candidates_of
    from tests.answering.test_span_choice import QUESTION, TEXT, reader_with

    # The probability says abstain (margins far below 0); QA_ABSTENTION=rules answers as the rules do.
    scripted = Scripted({"deux mois": -3.0, "trente": -2.5}, ChoiceParams(2, 4.0), answerable=by_margin())
    args = (analyse(QUESTION), np.zeros(4, np.float32), candidates_of("mosquees", TEXT, offset=7), {})
    fitted = compose_answer(decide(*args, reader=reader_with(scripted)))
    rules = compose_answer(decide(*args, reader=reader_with(scripted), calibrated=False))
    assert fitted.answer is None and "probability of an answer" in fitted.abstained_because
    assert rules.answer is not None and rules.abstained_because is None
    # ... and the reader's low margin is the rules' again: below it, they abstain with its reason.
    scripted.abstention = AbstainParams(low=-2.0)
    low = compose_answer(decide(*args, reader=reader_with(scripted), calibrated=False))
    assert low.answer is None and "reader finds no answer" in low.abstained_because
    assert "probability" not in low.abstained_because


def test_the_abstention_setting_is_checked() -> None:
    from pydantic import ValidationError

    from qa.core.config import Settings

    assert Settings().abstention == "fitted" and Settings(abstention="rules").abstention == "rules"
    with pytest.raises(ValidationError, match="abstention"):
        Settings(abstention="sometimes")  # type: ignore[arg-type]


def test_a_confident_reader_answers_where_the_rules_alone_would_not_be_asked() -> None:
    answer = ask(Scripted({"deux mois": 1.0, "trente": 6.0}, ChoiceParams(2, 4.0), answerable=by_margin()))
    assert answer.answer is not None and "trente" in answer.answer
    assert answer.short is not None and answer.short.text == "trente"
    assert answer.abstained_because is None


def test_another_signal_weighing_most_is_named_instead() -> None:
    # The margin says answer; the question's many terms weigh more against.
    model = Abstention(Logistic({"margin": 0.1, "question_terms": -5.0}), 0.5, (), ANSWERABLE_FEATURES)
    answer = ask(Scripted({"deux mois": 1.0, "trente": 1.0}, ChoiceParams(1, 4.0), answerable=model))
    assert answer.answer is None
    assert answer.abstained_because.startswith("no passage comes close enough to answering (probability of an answer")


def test_a_veto_abstains_whatever_the_probability() -> None:
    from qa.answering.answer import compose_answer, decide
    from qa.retrieval.query import analyse
    from tests.answering.test_reader import candidates_of
    from tests.answering.test_span_choice import QUESTION, TEXT, reader_with

    query = analyse(QUESTION.replace(" ?", " en 1995 ?"))
    assert query.dates, "the question names a period"
    scripted = Scripted({"deux mois": 9.0, "trente": 9.0}, ChoiceParams(1, 4.0), answerable=by_margin(vetoes=("missing_dates",)))
    decision = decide(query, np.zeros(4, np.float32), candidates_of("m", TEXT), {}, reader=reader_with(scripted))
    answer = compose_answer(decision)
    assert answer.answer is None
    assert answer.abstained_because == "the passages found say nothing about the period the question names"
    assert decision.features is not None and decision.features[ANSWERABLE_FEATURES.index("missing_dates")] == 1.0


@pytest.mark.parametrize(
    ("question", "vetoed"),
    [
        ("How many worshippers are admitted in each mosque in Tokyo?", True),
        # French questions ask the archive instead (unheard_names); with none given, only the probability decides.
        ("Combien de fidèles sont admis dans chaque mosquée à Tokyo ?", False),
    ],
)
def test_an_english_question_naming_what_the_passages_never_mention_is_vetoed(question: str, vetoed: bool) -> None:
    from qa.answering.answer import compose_answer, decide
    from qa.answering.answerable import VETOES
    from qa.retrieval.query import analyse
    from tests.answering.test_reader import candidates_of
    from tests.answering.test_span_choice import TEXT, reader_with

    scripted = Scripted({"deux mois": 9.0, "trente": 9.0}, ChoiceParams(1, 4.0), answerable=by_margin(vetoes=VETOES))
    decision = decide(analyse(question), np.zeros(4, np.float32), candidates_of("m", TEXT), {}, reader=reader_with(scripted))
    answer = compose_answer(decision)
    assert decision.features is not None
    assert decision.features[ANSWERABLE_FEATURES.index("english_far_name")] == float(vetoed)
    if vetoed:
        assert answer.answer is None and answer.abstained_because == "the passages found never mention tokyo"
    else:
        assert answer.answer is not None and "trente" in answer.answer


def test_features_clip_a_missing_span_and_keep_their_order() -> None:
    from qa.answering.abstention import abstention_signals
    from qa.retrieval.query import analyse
    from tests.answering.test_reader import candidates_of
    from tests.answering.test_span_choice import QUESTION, TEXT

    query = analyse(QUESTION)
    cands = candidates_of("m", TEXT)
    signals = abstention_signals(query, cands, None)
    x = answerable_features(query, cands, [float("-inf"), 2.0, -1.0], 1, None, signals, 0, UNCALIBRATED)
    named = dict(zip(ANSWERABLE_FEATURES, x, strict=True))
    assert named["margin"] == 2.0 and named["first_margin"] == NO_SPAN
    assert named["best_margin"] == 2.0 and named["runner_margin"] == -1.0
    assert named["short_chars"] == 0 and named["asks_number"] == 1.0


def tiny_booster() -> Any:
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(ANSWERABLE_FEATURES)))
    y = (x[:, 0] > 0).astype(float)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 5}
    return lightgbm.train(params, lightgbm.Dataset(x, y, feature_name=list(ANSWERABLE_FEATURES)), 5)


def test_saved_and_loaded_as_plain_files(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text(json.dumps({"base_model": "x"}), encoding="utf-8")
    saved = Abstention(tiny_booster(), 0.42, ("missing_dates",), ANSWERABLE_FEATURES)
    save_answerable(tmp_path, saved, {"seed": 1})
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    assert meta["base_model"] == "x" and meta["answerable"]["fit"] == {"seed": 1}
    loaded = load_answerable(tmp_path, meta)
    assert loaded is not None and loaded.threshold == 0.42 and loaded.vetoes == ("missing_dates",)
    x = [1.0] * len(ANSWERABLE_FEATURES)
    assert loaded.probability(x) == pytest.approx(saved.probability(x))
    meta["answerable"]["features"] = ["margin"]
    with pytest.raises(ValueError, match="other question features"):
        load_answerable(tmp_path, meta)


def test_dropped_it_leaves_the_rest_of_the_reader(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text(json.dumps({"base_model": "x"}), encoding="utf-8")
    save_answerable(tmp_path, Abstention(tiny_booster(), 0.42, (), ANSWERABLE_FEATURES), {"seed": 1})
    drop_answerable(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    assert meta == {"base_model": "x"} and not (tmp_path / ANSWERABLE_MODEL).exists()
    assert load_answerable(tmp_path, meta) is None


def test_none_without_its_files(tmp_path: Path) -> None:
    assert load_answerable(tmp_path, {}) is None
