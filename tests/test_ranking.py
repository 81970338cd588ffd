"""Tests of ptlib.ranking: the leave-last-out split and full-ranking HR@k / NDCG@k."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ptlib import ranking


def test_leave_last_out_orders_by_time_then_item():
    df = pd.DataFrame(
        {
            "user_id": [2, 1, 1, 1, 2],
            "item_id": [5, 10, 3, 7, 4],
            "timestamp": [9, 5, 5, 1, 9],
        }
    )
    # user 1: item 7 first (t=1); items 3 and 10 tie at t=5 and are ordered by id
    assert ranking.leave_last_out(df) == {1: [7, 3, 10], 2: [4, 5]}
    # the order of the rows does not matter
    assert ranking.leave_last_out(df.iloc[::-1]) == {1: [7, 3, 10], 2: [4, 5]}


def test_leave_last_out_rejects_bad_tables():
    with pytest.raises(ValueError, match="column"):
        ranking.leave_last_out(pd.DataFrame({"user_id": [1], "item_id": [2]}))
    with pytest.raises(ValueError, match="empty"):
        ranking.leave_last_out(pd.DataFrame(columns=["user_id", "item_id", "timestamp"]))
    with pytest.raises(ValueError, match="missing"):
        ranking.leave_last_out(
            pd.DataFrame({"user_id": [1], "item_id": [np.nan], "timestamp": [3]})
        )


def test_target_ranks_hand_checked():
    scores = np.array([[0.1, 0.5, 0.3, 0.9], [0.4, 0.2, 0.8, 0.1]])
    # row 0: target 2 (0.3); item 3 (0.9) is excluded, so only item 1 (0.5) is above it: rank 2
    # row 1: target 0 (0.4); item 2 (0.8) is above it: rank 2; excluding item 2 gives rank 1
    assert ranking.target_ranks(scores, [2, 0], exclude=[[3], []]).tolist() == [2, 2]
    assert ranking.target_ranks(scores, [2, 0], exclude=[[3], [2]]).tolist() == [2, 1]
    # the target is never excluded, even when listed
    assert ranking.target_ranks(scores, [2, 0], exclude=[[2], [0]]).tolist() == [3, 2]
    # torch input works the same
    assert ranking.target_ranks(torch.tensor(scores), [2, 0]).tolist() == [3, 2]


def test_target_ranks_ties_count_against_the_target():
    assert ranking.target_ranks(np.ones((1, 5)), [0]).tolist() == [5]


def test_target_ranks_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        ranking.target_ranks(np.array([[0.1, np.nan]]), [0])
    with pytest.raises(ValueError, match="non-empty"):
        ranking.target_ranks(np.zeros((0, 3)), [])
    with pytest.raises(ValueError, match="targets"):
        ranking.target_ranks(np.zeros((1, 3)), [3])
    with pytest.raises(ValueError, match="targets"):
        ranking.target_ranks(np.zeros((2, 3)), [0])
    with pytest.raises(ValueError, match="exclude"):
        ranking.target_ranks(np.zeros((2, 3)), [0, 1], exclude=[[1]])


def test_hit_rate_and_ndcg_hand_checked():
    ranks = [1, 2, 11]
    assert ranking.hit_rate_at_k(ranks, 10) == pytest.approx(2 / 3)
    assert ranking.hit_rate_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert ranking.ndcg_at_k(ranks, 10) == pytest.approx((1 + 1 / math.log2(3)) / 3)
    assert ranking.ndcg_at_k([10], 10) == pytest.approx(1 / math.log2(11))
    assert ranking.ndcg_at_k([11], 10) == 0.0
    report = ranking.ranking_report(ranks, ks=(1, 10))
    assert report["hr@1"] == pytest.approx(1 / 3)
    assert report["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 11) / 3)


def test_ndcg_matches_sklearn():
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 30))
    targets = rng.integers(0, 30, size=50)
    relevance = np.zeros_like(scores)
    relevance[np.arange(50), targets] = 1
    ranks = ranking.target_ranks(scores, targets)
    assert ranking.ndcg_at_k(ranks, 10) == pytest.approx(ndcg_score(relevance, scores, k=10))


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="empty"):
        ranking.ndcg_at_k([], 10)
    with pytest.raises(ValueError, match=">= 1"):
        ranking.hit_rate_at_k([0, 1], 10)
    with pytest.raises(ValueError, match="NaN"):
        ranking.hit_rate_at_k([np.nan], 10)
    with pytest.raises(ValueError, match="k must"):
        ranking.ndcg_at_k([1], 0)
