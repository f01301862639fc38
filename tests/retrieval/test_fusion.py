"""Fusion of retrieval signals, and the spread of the first citations over articles."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.retrieval.fusion import spread


def test_zscores_by_hand() -> None:
    from qa.retrieval.fusion import zscores

    z = zscores({"a": 1.0, "b": 3.0}, ["a", "b", "c"])  # c counts as 0: mean 4/3, sd sqrt(14/9 - ...)
    mean, sd = 4 / 3, ((1 - 4 / 3) ** 2 + (3 - 4 / 3) ** 2 + (4 / 3) ** 2) ** 0.5 / 3**0.5
    assert z["a"] == pytest.approx((1 - mean) / sd) and z["c"] == pytest.approx(-mean / sd)
    assert zscores({"a": 2.0, "b": 2.0}, ["a", "b"]) == {"a": 0.0, "b": 0.0}
    assert zscores({}, []) == {}


def test_weighted_fusion_adds_weighted_zscores_and_bonus() -> None:
    from qa.retrieval.fusion import weighted_fusion

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


def test_spread_lets_a_strong_passage_of_another_article_into_the_head() -> None:
    ranked = ["a1", "a2", "a3", "a4", "a5", "b1", "b2"]

    def article(item: str) -> str:
        return item[0]

    def run(promotable: set[str], head: int = 5) -> list[str]:
        return spread(ranked, article, per_group=3, head=head, promotable=lambda x: x in promotable)

    assert run({"b1", "b2"}) == ["a1", "a2", "a3", "b1", "b2", "a4", "a5"]
    assert run({"b2"}) == ["a1", "a2", "a3", "a4", "b2", "a5", "b1"]
    assert run(set()) == ranked  # nothing strong enough elsewhere: the ranking stands
    assert run({"b1", "b2"}, head=3) == ranked


@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=20), st.integers(1, 4), st.integers(0, 8))
def test_spread_properties(items: list[tuple[int, bool]], per_group: int, head: int) -> None:
    ranked = list(enumerate(items))  # (rank, (group, promotable))
    out = spread(ranked, lambda x: x[1][0], per_group=per_group, head=head, promotable=lambda x: x[1][1])
    assert sorted(out) == ranked  # a permutation
    top, rest = out[:head], out[head:]
    assert top == sorted(top) and rest == sorted(rest)  # each part keeps the ranking's order
    assert all(x[1][1] for x in top if x[0] >= head)  # only promotable items move up into the head
    groups = [x[1][0] for x in top]
    if any(groups.count(g) > per_group for g in groups):  # a group over its share: nothing was left to take its place
        assert not any(x[1][1] and groups.count(x[1][0]) < per_group for x in rest)
    if not any(x[1][1] for x in ranked[head:]):
        assert out == ranked
