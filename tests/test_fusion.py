"""Reciprocal-rank fusion."""

from qa.fusion import rrf


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == 1 / 61 + 1 / 62
    assert fused["c"] == 1 / 63 + 1 / 61
    assert fused["b"] == 1 / 62


def test_rrf_orders_best_first_and_weights() -> None:
    assert [key for key, _ in rrf([["a", "b"], ["b", "a"]], weights=[1.0, 2.0])] == ["b", "a"]
    assert [key for key, _ in rrf([["x"], []])] == ["x"]
