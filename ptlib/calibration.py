"""Calibration of predicted probabilities: reliability bins and the expected calibration error.

A binary classifier is calibrated when, among the cases it gives probability ``p``, a fraction
``p`` are positive. Sorting the predictions into equal-width bins of ``p`` and comparing each
bin's mean prediction with its fraction of positives gives the reliability diagram; the
expected calibration error (ECE) is the gap averaged over bins, weighted by their size.
Introduced in chapter 8 (pre-training in other fields).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ptlib import checks


def _inputs(
    y_true: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    q = np.asarray(p, dtype=np.float64).reshape(-1)
    if y.size == 0:
        raise ValueError("y_true is empty")
    if y.shape != q.shape:
        raise ValueError(f"y_true ({y.size}) and p ({q.size}) need the same length")
    if np.isnan(y).any() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold only 0 and 1")
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("p must be probabilities in [0, 1], without NaN")
    checks.positive_int(n_bins, "n_bins")
    return y, q


def reliability_bins(
    y_true: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, n_bins: int = 10
) -> pd.DataFrame:
    """The reliability table of predicted probabilities ``p`` of the positive class.

    ``n_bins`` equal-width bins on [0, 1]; bin ``b`` holds ``lo <= p < hi`` (the last bin also
    holds ``p == 1``). Columns: ``lo``, ``hi``, ``count``, ``mean_p`` (mean prediction) and
    ``frac_pos`` (fraction of positives); the last two are NaN in an empty bin.
    Introduced in chapter 8 (pre-training in other fields).
    """
    y, q = _inputs(y_true, p, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.floor(q * n_bins).astype(np.int64), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        inside = which == b
        n = int(inside.sum())
        rows.append(
            {
                "lo": edges[b],
                "hi": edges[b + 1],
                "count": n,
                "mean_p": float(q[inside].mean()) if n else np.nan,
                "frac_pos": float(y[inside].mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(
    y_true: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, n_bins: int = 10
) -> float:
    """ECE = ``sum_b (n_b / n) * |frac_pos_b - mean_p_b|`` over the bins of
    :func:`reliability_bins` (0 is perfectly calibrated).

    Introduced in chapter 8 (pre-training in other fields).
    """
    table = reliability_bins(y_true, p, n_bins)
    full = table[table["count"] > 0]
    weights = full["count"] / full["count"].sum()
    return float((weights * (full["frac_pos"] - full["mean_p"]).abs()).sum())
