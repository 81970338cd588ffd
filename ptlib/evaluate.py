"""Evaluation: metrics, label budgets, and the label-efficiency runner.

Chapter 1 compares a classifier trained from scratch with one built on a pre-trained encoder at
several label budgets; later chapters add the linear probe and k-NN evaluations.
Introduced in chapter 1 (background).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics
from tqdm import tqdm


def accuracy(y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray) -> float:
    """The fraction of predictions equal to the true label.

    Introduced in chapter 1 (background).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of one shape, got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    return float(metrics.accuracy_score(y_true, y_pred))


def classification_report(
    y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray
) -> dict[str, float]:
    """Accuracy and the macro-averaged precision, recall and F1 (every class weighs the same).

    Returns ``{"accuracy", "precision", "recall", "f1"}``. A class that is never predicted has
    precision 0 (not an error). Introduced in chapter 1 (background).
    """
    acc = accuracy(y_true, y_pred)
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, average="macro", zero_division=0
    )
    return {
        "accuracy": acc,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }


def sample_per_class(labels: Sequence[Any] | np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of exactly ``k`` examples of every class, drawn at random without replacement.

    The same ``seed`` gives the same indices, and for one seed a smaller ``k`` picks a subset
    of what a larger ``k`` picks (each class is shuffled once and its first ``k`` taken), so the
    points of a label-efficiency curve differ only in how many labels they see.
    Raises ``ValueError`` if a class has fewer than ``k`` examples. Returned sorted.
    Introduced in chapter 1 (background).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < k:
            raise ValueError(
                f"class {cls.item()!r} has {len(members)} examples, fewer than the k={k} requested"
            )
        chosen.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(chosen))


def _take(features: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an array, sparse matrix, DataFrame/Series or plain sequence."""
    if hasattr(features, "iloc"):
        return features.iloc[idx]
    if isinstance(features, np.ndarray) or hasattr(features, "tocsr"):
        return features[idx]
    return [features[i] for i in idx]


def label_efficiency(
    features_train: Any,
    y_train: Sequence[Any] | np.ndarray,
    features_test: Any,
    y_test: Sequence[Any] | np.ndarray,
    budgets: Sequence[int | None],
    seeds: Sequence[int],
    make_model: Callable[[], Any],
    progress: bool = True,
) -> pd.DataFrame:
    """Test accuracy of a model trained on ``k`` labels per class, for every budget and seed.

    ``features_*`` are anything the model's ``fit``/``predict`` accept and that can be indexed
    by rows: a NumPy array of embeddings, a list of texts for a TF-IDF pipeline, a DataFrame.
    ``make_model()`` returns a fresh, unfitted scikit-learn-style estimator. A budget ``k``
    trains on :func:`sample_per_class` ``(y_train, k, seed)``; ``None`` trains on all of
    ``features_train`` (then every seed sees the same data).
    Returns one row per budget and seed: ``budget`` (``<NA>`` for all labels), ``seed``,
    ``n_train``, ``accuracy``, ``fit_seconds``.
    Introduced in chapter 1 (background).
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(features_train) != len(y_train) or len(features_test) != len(y_test):
        raise ValueError("features and labels must have the same number of rows")
    rows = []
    runs = [(b, s) for b in budgets for s in seeds]
    for budget, seed in tqdm(runs, desc="label budgets", disable=not progress):
        if budget is None:
            x, y = features_train, y_train
        else:
            idx = sample_per_class(y_train, int(budget), seed)
            x, y = _take(features_train, idx), y_train[idx]
        model = make_model()
        t0 = time.perf_counter()
        model.fit(x, y)
        fit_seconds = time.perf_counter() - t0
        rows.append(
            {
                "budget": budget,
                "seed": seed,
                "n_train": len(y),
                "accuracy": accuracy(y_test, model.predict(features_test)),
                "fit_seconds": fit_seconds,
            }
        )
    df = pd.DataFrame(rows, columns=["budget", "seed", "n_train", "accuracy", "fit_seconds"])
    df["budget"] = df["budget"].astype("Int64")
    return df


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of accuracy over seeds, one row per budget.

    Takes the output of :func:`label_efficiency`; returns columns ``budget``, ``n_train``,
    ``mean``, ``std`` (the sample standard deviation; 0 with a single seed) and ``n_seeds``,
    sorted by ``n_train`` (all labels last).
    Introduced in chapter 1 (background).
    """
    grouped = df.groupby("budget", dropna=False, sort=False)
    out = grouped.agg(
        n_train=("n_train", "mean"),
        mean=("accuracy", "mean"),
        std=("accuracy", "std"),
        n_seeds=("accuracy", "size"),
    ).reset_index()
    out["std"] = out["std"].fillna(0.0)
    out["n_train"] = out["n_train"].round().astype(int)
    return out.sort_values("n_train", kind="stable").reset_index(drop=True)


def labels_to_reach(
    n_train: Sequence[float] | np.ndarray, accuracy: Sequence[float] | np.ndarray, target: float
) -> float:
    """How many labels a learning curve needs to reach ``target`` accuracy.

    ``n_train`` (increasing) and ``accuracy`` are the points of a measured curve, e.g. the
    ``n_train`` and ``mean`` columns of :func:`summarise`. Between two points the curve is
    interpolated linearly in ``log(n_train)``, the scale such curves are plotted on. Returns the
    first point's ``n_train`` if that already reaches ``target``, and ``inf`` if no point does.
    Introduced in chapter 1 (background).
    """
    n = np.asarray(n_train, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    if n.ndim != 1 or n.shape != acc.shape or n.size == 0:
        raise ValueError("n_train and accuracy must be non-empty 1-D arrays of one length")
    if np.any(np.diff(n) <= 0) or n[0] <= 0:
        raise ValueError("n_train must be positive and strictly increasing")
    reached = np.flatnonzero(acc >= target)
    if reached.size == 0:
        return float("inf")
    i = int(reached[0])
    if i == 0:
        return float(n[0])
    frac = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
    log_n = np.log(n[i - 1]) + frac * (np.log(n[i]) - np.log(n[i - 1]))
    return float(np.exp(log_n))
