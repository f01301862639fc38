"""Ranking and answer metrics against examples computed by hand."""

from __future__ import annotations

import math

import pytest

from qa.evaluation.metrics import (
    abstention_precision_recall,
    answer_matches,
    judge_articles,
    judge_spans,
    mean,
    ndcg_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
    reciprocal_rank,
)

E: frozenset[int] = frozenset()
# Two gold items: item 0 found at rank 2 (and again at 4), item 1 at rank 5.
JUDGED = [E, frozenset({0}), E, frozenset({0}), frozenset({1})]


def test_recall_counts_each_gold_item_once() -> None:
    assert recall_at_k(JUDGED, 2, 1) == 0.0
    assert recall_at_k(JUDGED, 2, 2) == 0.5
    assert recall_at_k(JUDGED, 2, 4) == 0.5  # the repeat at rank 4 finds nothing new
    assert recall_at_k(JUDGED, 2, 5) == 1.0
    assert recall_at_k(JUDGED, 2, 10) == 1.0


def test_reciprocal_rank_is_one_over_first_hit_within_k() -> None:
    assert reciprocal_rank(JUDGED, 10) == 0.5
    assert reciprocal_rank(JUDGED, 1) == 0.0
    assert reciprocal_rank([E, E, E], 10) == 0.0
    assert reciprocal_rank([frozenset({3})], 10) == 1.0


def test_ndcg_by_hand() -> None:
    # DCG = 1/log2(3) + 1/log2(6); ideal = 1/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(JUDGED, 2, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(JUDGED, 2, 10) == pytest.approx(0.62405, abs=1e-5)
    # One gold item, found first, then repeated: perfect, the repeat gains nothing.
    assert ndcg_at_k([frozenset({0}), frozenset({0})], 1, 10) == 1.0
    # Found at rank 3 only: 1/log2(4) = 0.5.
    assert ndcg_at_k([E, E, frozenset({0})], 1, 10) == pytest.approx(0.5)
    assert ndcg_at_k([E, E, frozenset({0})], 1, 2) == 0.0


def test_ranking_metrics_refuse_no_gold() -> None:
    with pytest.raises(ValueError):
        recall_at_k(JUDGED, 0, 5)
    with pytest.raises(ValueError):
        ndcg_at_k(JUDGED, 0, 5)


def test_judging_articles_and_half_open_spans() -> None:
    assert judge_articles(["b", "a", "c", "a"], ["a"]) == [E, frozenset({0}), E, frozenset({0})]
    gold = [("a", 20, 30), ("b", 0, 5)]
    judged = judge_spans([("a", 10, 20), ("a", 19, 21), ("b", 4, 9), ("c", 0, 99), ("a", 0, 100)], gold)
    assert judged == [E, frozenset({0}), frozenset({1}), E, frozenset({0})]


def test_answers_match_without_case_accents_or_typography() -> None:
    answer = "Les deux chefs d’État ont alors signé 24 accords bilatéraux, couvrant l’énergie [1]"
    assert answer_matches(answer, ["24 ACCORDS BILATERAUX"])
    assert answer_matches(answer, ["chefs d'etat"])
    assert answer_matches(answer, ["Tianjin", "l'énergie"])
    assert not answer_matches(answer, ["Tianjin"])
    assert not answer_matches(None, ["24"])
    assert answer_matches("x", [])
    assert normalize_answer("Tokaïev\u00a0 a  Signé") == "tokaiev a signe"


def test_abstention_precision_and_recall_by_hand() -> None:
    # questions: unanswerable+abstained, unanswerable+answered, answerable+abstained, answerable+answered
    assert abstention_precision_recall([True, False, True, False], [False, False, True, True]) == (0.5, 0.5)
    assert abstention_precision_recall([False, False], [True, True]) == (None, None)
    assert abstention_precision_recall([True], [False]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        abstention_precision_recall([True], [True, False])


def test_mean_and_percentiles_as_numpy() -> None:
    assert mean([]) is None
    assert mean([1.0, 2.0]) == 1.5
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
