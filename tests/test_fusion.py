"""Reciprocal-rank fusion."""

import pytest

from qa.fusion import rrf


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == 1 / 61 + 1 / 62
    assert fused["c"] == 1 / 63 + 1 / 61
    assert fused["b"] == 1 / 62


def test_rrf_orders_best_first_and_weights() -> None:
    assert [key for key, _ in rrf([["a", "b"], ["b", "a"]], weights=[1.0, 2.0])] == ["b", "a"]
    assert [key for key, _ in rrf([["x"], []])] == ["x"]


def test_zscores_by_hand() -> None:
    from qa.fusion import zscores

    z = zscores({"a": 1.0, "b": 3.0}, ["a", "b", "c"])  # c counts as 0: mean 4/3, sd sqrt(14/9 - ...)
    mean, sd = 4 / 3, ((1 - 4 / 3) ** 2 + (3 - 4 / 3) ** 2 + (4 / 3) ** 2) ** 0.5 / 3**0.5
    assert z["a"] == pytest.approx((1 - mean) / sd) and z["c"] == pytest.approx(-mean / sd)
    assert zscores({"a": 2.0, "b": 2.0}, ["a", "b"]) == {"a": 0.0, "b": 0.0}
    assert zscores({}, []) == {}


def test_weighted_fusion_adds_weighted_zscores_and_bonus() -> None:
    from qa.fusion import weighted_fusion

    dense = {"a": 0.9, "b": 0.85, "c": 0.5}
    lexical = {"b": 10.0, "c": 9.0}  # a matches no term: BM25 0
    assert [k for k, _ in weighted_fusion([dense], [1.0], ["a", "b", "c"])] == ["a", "b", "c"]
    # z(dense) = (.843, .562, -1.405), z(lexical) = (-1.410, .816, .594): b, good on both, comes first.
    fused = weighted_fusion([dense, lexical], [0.5, 0.5], ["a", "b", "c"])
    assert [k for k, _ in fused] == ["b", "a", "c"]
    assert dict(fused)["b"] == pytest.approx(0.689, abs=1e-3)
    assert sum(s for _, s in fused) == pytest.approx(0.0)  # z-scores centre every signal
    boosted = weighted_fusion([dense, lexical], [0.5, 0.5], ["a", "b", "c"], bonus={"c": 2.0, "zz": 9.0})
    assert boosted[0][0] == "c" and "zz" not in dict(boosted)
    with pytest.raises(ValueError):
        weighted_fusion([dense], [0.5, 0.5], ["a"])
