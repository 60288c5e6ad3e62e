"""Metric definitions on hand-computed examples (eval/METRICS.md)."""

import math

import numpy as np
import pytest

from attune_training import metrics


def test_per_user_hand_computed():
    # ranking 3,1,7,2 ; relevant {1,2,9}: hits at ranks 2 and 4.
    m = metrics.per_user(np.array([3, 1, 7, 2]), {1, 2, 9}, k=4)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["hit_rate"] == 1.0
    assert m["ndcg"] == pytest.approx(0.49818925746641274, abs=1e-12)
    assert m["map"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert m["map_at_k"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert m["mrr"] == pytest.approx(0.5)


def test_idcg_capped_at_k_and_map_at_k_divisor():
    # 12 relevant items, all of the top 3 hit: nDCG = 1, MAP = 3/12, MAP@k = 3/3.
    m = metrics.per_user(np.array([0, 1, 2]), set(range(12)), k=3)
    assert m["ndcg"] == pytest.approx(1.0)
    assert m["map"] == pytest.approx(0.25)
    assert m["map_at_k"] == pytest.approx(1.0)
    assert m["precision"] == pytest.approx(1.0)


def test_single_target_ndcg_is_ln2_over_ln_rank_plus_one():
    m = metrics.per_user(np.array([5, 6, 7, 8]), {7}, k=10)
    assert m["ndcg"] == pytest.approx(math.log(2) / math.log(4))
    assert m["precision"] == pytest.approx(1 / 10)  # divides by k, not by the list length
    assert m["hit_rate"] == m["recall"] == 1.0


def test_top_k_ties_and_exclusion():
    r = metrics.top_k(np.array([[1.0, 3.0, 3.0, 0.0]]), 3, exclude=[np.array([1])])
    assert r.tolist() == [[2, 0, 3]]
    r = metrics.top_k(np.array([[0.5, 0.5, 0.5]]), 3)
    assert r.tolist() == [[0, 1, 2]]


def test_evaluate_skips_users_without_test_items():
    R = np.array([[0, 1], [1, 0], [0, 1]])
    out = metrics.evaluate(R, [{0}, set(), {5}], k=2)
    assert out["users"] == 2
    assert out["hit_rate"] == pytest.approx(0.5)
    assert out["ndcg"] == pytest.approx(0.5)


def test_coverage_and_popularity_bias():
    R = np.array([[0, 1], [0, 2]])
    assert metrics.coverage(R, 10, 2) == pytest.approx(0.3)
    pb = metrics.popularity_bias(R, np.array([6.0, 2, 2, 0, 0, 0, 0, 0, 0, 0]), 2)
    assert pb["mean_popularity_share"] == pytest.approx((0.6 + 0.2 + 0.6 + 0.2) / 4)
    assert pb["head10_share"] == pytest.approx(0.5)   # head = item 0 (1 of 10 items)
