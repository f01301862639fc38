"""The abstention's fitting (qa.evaluation.training): which signals become vetoes, and the threshold's budget."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering.answerable import ANSWERABLE_FEATURES, VETOES
from qa.evaluation.training import ALWAYS_VETO, choose_threshold, choose_vetoes, fit_abstention

NAMES = list(ANSWERABLE_FEATURES)


def rows(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Questions answerable as their margin says, with a missing period on one in ten, answerable half the time."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, len(NAMES)), dtype=np.float32)
    x[:, NAMES.index("margin")] = rng.normal(size=n)
    y = x[:, NAMES.index("margin")] > 0
    dated = np.arange(n) % 10 == 0
    x[dated, NAMES.index("missing_dates")] = 1.0
    y[dated] = np.arange(dated.sum()) % 2 == 0
    return x, y


def test_a_signal_often_answerable_is_a_veto_only_when_kept_always() -> None:
    x, y = rows(400)
    measured_only, measured = choose_vetoes(x, y, NAMES)
    assert "missing_dates" not in measured_only and measured["missing_dates"]["answerable_share"] == 0.5
    assert measured_only == [v for v in ALWAYS_VETO if v in measured_only]
    facts, _ = choose_vetoes(x, y, NAMES, VETOES)
    assert set(facts) == set(VETOES)


def test_vetoes_kept_always_abstain_and_count_in_the_budget() -> None:
    x, y = rows(600)
    cx, cy = rows(400, seed=1)
    model, fit = fit_abstention(x, y, cx, cy, 0.05, NAMES, VETOES)
    assert set(model.vetoes) == set(VETOES)
    dated = cx[:, NAMES.index("missing_dates")] > 0
    assert all(model.vetoed(row) == "missing_dates" for row in cx[dated])
    # Half the dated questions are answerable: the vetoes alone overspend a 5% budget, so the probability adds
    # no abstention, and what is reported is the vetoes' own cost.
    vetoes_wrong = float(dated[cy].mean())
    assert vetoes_wrong > 0.05
    assert fit["threshold"] == 0.0 and fit["calibration_wrong_abstentions"] == vetoes_wrong
    loose, loose_fit = fit_abstention(x, y, cx, cy, 0.2, NAMES, VETOES)
    # Within a looser budget the probability abstains too: on what the margin says is unanswered.
    assert loose.threshold > 0.0 and loose_fit["calibration_abstention_recall"] > fit["calibration_abstention_recall"]


def test_the_threshold_is_the_highest_within_budget() -> None:
    probs = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 0.95, -1.0])
    answerable = np.array([False, False, True, False, True, True, False])
    threshold, recall, wrong = choose_threshold(probs, answerable, 0.0)
    assert threshold == 0.3 and recall == 0.75 and wrong == 0.0


def test_monotone_constraints_name_only_features_the_model_reads() -> None:
    from qa.answering.answerable import MONOTONE

    assert set(MONOTONE) <= set(ANSWERABLE_FEATURES)
    x = np.zeros((4, 2), dtype=np.float32)
    y = np.array([True, False, True, False])
    with pytest.raises(ValueError, match="renamed"):
        fit_abstention(x, y, x, y, 0.03, ("a", "b"), (), {"a": 1, "renamed": -1})
