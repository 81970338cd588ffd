"""Evaluating next-item recommendation: the leave-last-out split and full-ranking HR@k / NDCG@k.

Every user's interactions are ordered in time; the last one is held out for testing and the one
before it for validation. A recommender scores every item, the items the user has already seen
are removed, and the held-out item's rank among all the rest (full ranking, not a sample of
negatives) gives the hit rate ``HR@k`` and the normalised discounted cumulative gain ``NDCG@k``.
Introduced in chapter 8 (pre-training in other fields).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ptlib import checks


def _check_k(k: int) -> None:
    checks.positive_int(k, "k")


def leave_last_out(
    interactions: pd.DataFrame,
    user: str = "user_id",
    item: str = "item_id",
    time: str = "timestamp",
) -> dict[int, list[int]]:
    """Every user's items in time order, as ``{user: [item, ...]}`` (users in ascending order).

    Ties in ``time`` (MovieLens records many ratings in the same second) are broken by the item
    id, so the order, and therefore the held-out items, are the same on every run: the last item
    of each list is the test item, the one before it the validation item, the rest the training
    history. Raises ``ValueError`` for missing columns, missing values or an empty table.
    Introduced in chapter 8 (pre-training in other fields).
    """
    missing = [c for c in (user, item, time) if c not in interactions.columns]
    if missing:
        raise ValueError(f"interactions has no column(s) {missing}")
    if interactions.empty:
        raise ValueError("interactions is empty")
    if interactions[[user, item, time]].isna().any().any():
        raise ValueError("interactions has missing values in user, item or time")
    ordered = interactions.sort_values([user, time, item], kind="mergesort")
    return {
        int(u): [int(i) for i in g[item].to_numpy()] for u, g in ordered.groupby(user, sort=True)
    }


def target_ranks(
    scores: np.ndarray | torch.Tensor,
    targets: Sequence[int] | np.ndarray,
    exclude: Sequence[Sequence[int]] | None = None,
) -> np.ndarray:
    """The rank (1 = best) of each row's target item among all items, by score (full ranking).

    ``scores``: ``[n_users, n_items]``, higher is better; ``targets[u]``: the column of user
    ``u``'s held-out item; ``exclude[u]``: columns removed from user ``u``'s ranking (the items
    already seen; the target itself is never removed). Ties count against the target: it ranks
    after every other item with a score at least as high, so a constant scorer does not get a
    lucky rank. Raises ``ValueError`` on NaN scores, empty input or out-of-range targets.
    Introduced in chapter 8 (pre-training in other fields).
    """
    s = torch.as_tensor(np.asarray(scores) if not isinstance(scores, torch.Tensor) else scores)
    s = s.detach().to(torch.float64).clone()
    if s.ndim != 2 or s.numel() == 0:
        raise ValueError(
            f"scores must be a non-empty [n_users, n_items] array, got {tuple(s.shape)}"
        )
    if torch.isnan(s).any():
        raise ValueError("scores contain NaN")
    t_in = np.asarray(targets)
    if t_in.dtype.kind not in "iuf" or (t_in.dtype.kind == "f" and np.any(t_in != np.round(t_in))):
        raise ValueError(f"targets must be whole-number column indices, got {t_in[:3].tolist()}")
    t = torch.as_tensor(t_in.astype(np.int64))
    if t.shape != (s.shape[0],):
        raise ValueError(
            f"targets needs one item per row of scores ({s.shape[0]}), got {tuple(t.shape)}"
        )
    if (t < 0).any() or (t >= s.shape[1]).any():
        raise ValueError(f"targets must be columns of scores, in [0, {s.shape[1]})")
    if exclude is not None:
        if len(exclude) != s.shape[0]:
            raise ValueError("exclude needs one list of items per row of scores")
        for u, seen in enumerate(exclude):
            seen = [int(i) for i in seen if int(i) != int(t[u])]
            if seen:
                s[u, seen] = -torch.inf
    target_score = s.gather(1, t.view(-1, 1))  # [n_users, 1]
    better_or_equal = (s >= target_score).sum(dim=1)  # includes the target itself
    return better_or_equal.numpy().astype(np.int64)


def _ranks(ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise ValueError("ranks is empty")
    if np.isnan(r).any() or (r < 1).any():
        raise ValueError("ranks must be >= 1 (1 = the best rank) and not NaN")
    return r


def hit_rate_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """HR@k: the fraction of users whose held-out item is among the top ``k``.

    With one held-out item per user this is also recall@k. Introduced in chapter 8 (pre-training
    in other fields).
    """
    _check_k(k)
    return float(np.mean(_ranks(ranks) <= k))


def ndcg_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """NDCG@k with one relevant item per user: ``1 / log2(rank + 1)`` if ``rank <= k``, else 0,
    averaged over users.

    The ideal ranking puts the one relevant item first (DCG ``1/log2(2) = 1``), so no further
    normalisation is needed: rank 1 scores 1, rank 2 scores 0.631, rank 10 scores 0.289.
    Introduced in chapter 8 (pre-training in other fields).
    """
    _check_k(k)
    r = _ranks(ranks)
    return float(np.mean(np.where(r <= k, 1.0 / np.log2(r + 1.0), 0.0)))


def ranking_report(
    ranks: Sequence[int] | np.ndarray, ks: Sequence[int] = (10,)
) -> dict[str, float]:
    """``{"hr@k", "ndcg@k"}`` for every ``k`` in ``ks``, and ``"mrr"`` (mean reciprocal rank).

    Introduced in chapter 8 (pre-training in other fields).
    """
    r = _ranks(ranks)
    if isinstance(ks, int) or len(ks) == 0:
        raise ValueError(f"ks must be a non-empty sequence of cut-offs, e.g. (10,), got {ks!r}")
    out: dict[str, float] = {}
    for k in ks:
        out[f"hr@{k}"] = hit_rate_at_k(r, k)
        out[f"ndcg@{k}"] = ndcg_at_k(r, k)
    out["mrr"] = float(np.mean(1.0 / r))
    return out
