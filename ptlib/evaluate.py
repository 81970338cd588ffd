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
import torch
from scipy import stats
from sklearn import metrics
from tqdm import tqdm

from ptlib import checks


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
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if pd.isna(y).any():
            raise ValueError(f"{name} holds missing labels (None/NaN): drop or fill them first")
    return float(metrics.accuracy_score(y_true, y_pred))


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    num_labels: int | None = None,
) -> dict[str, Any]:
    """Accuracy, macro-averaged precision, recall and F1, and the confusion matrix.

    The classes are ``0 .. num_labels - 1`` when ``num_labels`` is given, otherwise every value
    in ``y_true`` or ``y_pred`` (sorted). Macro averages weigh every class the same; a class
    that is never predicted has precision 0 (not an error). ``confusion_matrix[i][j]`` counts
    examples of true class ``i`` predicted as ``j``. Returns ``{"accuracy", "precision",
    "recall", "macro_f1", "confusion_matrix"}``; computed with scikit-learn.
    Introduced in chapter 1 (background); chapter 5 adds the confusion matrix.
    """
    y_true, y_pred = checks.labels(y_true, "y_true"), checks.labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} and {y_pred.size}")
    labels = None
    if num_labels is not None:
        labels = list(range(checks.positive_int(num_labels, "num_labels")))
        both = np.concatenate([y_true, y_pred])
        outside = both[~np.isin(both, labels)].tolist()
        if outside:
            raise ValueError(
                f"with num_labels={num_labels} the labels must be 0 .. {num_labels - 1}, got "
                f"{outside[0]!r}: pass class ids, or the right num_labels"
            )
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "macro_f1": float(f1),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The mean of ``values`` (e.g. one accuracy per seed) and the half-width of its Student-t
    confidence interval at ``level``: ``t_{(1+level)/2, n-1} * s / sqrt(n)``.

    One value has no spread to measure: its half-width is 0. NaN or no values raise
    ``ValueError``. Introduced in chapter 3 (masked language modelling); chapter 5 reuses it.
    """
    x = np.asarray(values, dtype=float).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("values must be non-empty and finite")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if x.size == 1:
        return float(x[0]), 0.0
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(half)


def sample_per_class(labels: Sequence[Any] | np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of exactly ``k`` examples of every class, drawn at random without replacement.

    The same ``seed`` gives the same indices, and for one seed a smaller ``k`` picks a subset
    of what a larger ``k`` picks (each class is shuffled once and its first ``k`` taken), so the
    points of a label-efficiency curve differ only in how many labels they see.
    Raises ``ValueError`` if a class has fewer than ``k`` examples. Returned sorted.
    Introduced in chapter 1 (background).
    """
    labels = checks.labels(labels, "labels")
    k = checks.positive_int(k, "k")
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
    y_train, y_test = checks.labels(y_train, "y_train"), checks.labels(y_test, "y_test")
    if len(features_train) != len(y_train) or len(features_test) != len(y_test):
        raise ValueError(
            f"features and labels must have the same number of rows, got features_train "
            f"{len(features_train)} / y_train {len(y_train)}, features_test {len(features_test)} "
            f"/ y_test {len(y_test)}"
        )
    if len(budgets) == 0 or len(seeds) == 0:
        raise ValueError("budgets and seeds must each hold at least one entry")
    for budget in budgets:  # fail before any model is trained
        if budget is not None:
            checks.positive_int(budget, "each budget (labels per class, or None for all)")
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
    missing = {"budget", "n_train", "accuracy"} - set(df.columns)
    if missing:
        raise ValueError(
            f"df has no column(s) {sorted(missing)}: pass the output of label_efficiency"
        )
    if df.empty:
        raise ValueError("df is empty: there is nothing to summarise")
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
    n = checks.finite_array(n_train, "n_train", ndim=1)
    acc = checks.finite_array(accuracy, "accuracy", ndim=1)
    target = checks.finite_number(target, "target")
    if n.shape != acc.shape:
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


# -- representations: linear probe, k-NN, retrieval (chapter 4) -------------------------------


def _tensor(x: Any, dtype: type) -> torch.Tensor:
    """A torch copy of an array-like (also of read-only NumPy arrays, e.g. from pandas)."""
    return torch.from_numpy(np.array(x, dtype=dtype))


def _features(x: Any, name: str) -> torch.Tensor:
    """``x`` as a float32 tensor ``[n, d]``, checked: 2-D, not empty, finite."""
    try:
        t = _tensor(x.detach().cpu() if isinstance(x, torch.Tensor) else x, np.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array [n, d]: {err}") from None
    if t.ndim != 2:
        raise ValueError(f"{name} must be [n, d] (one vector per row), got shape {tuple(t.shape)}")
    return checks.finite_tensor(t, name)


def _unit_rows(x: Any, name: str) -> torch.Tensor:
    """Rows of ``x`` as float32 unit vectors (for cosine similarities)."""
    return torch.nn.functional.normalize(_features(x, name), dim=1)


def _same_dim(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names} must have one feature dimension, got {a.shape[1]} and {b.shape[1]}: "
            "were they made by the same encoder?"
        )


def _class_ids(y: Any, n: int, name: str) -> torch.Tensor:
    """Integer class ids ``0..C-1`` as an int64 tensor, one per row of an ``n``-row array."""
    arr = checks.labels(y, name)
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class ids, got fractional values")
    if arr.dtype.kind not in "iuf" or arr.min() < 0:
        raise ValueError(
            f"{name} must hold integer class ids 0..C-1, got {arr[:3].tolist()}...: map the "
            "labels to ids first (np.unique(y, return_inverse=True))"
        )
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} entries for {n} rows of features")
    return _tensor(arr, np.int64)


class LinearProbe:
    """Multinomial logistic regression on frozen features, fitted with full-batch L-BFGS in torch.

    It minimises the same objective as scikit-learn's ``LogisticRegression(C=C)`` (lbfgs,
    multinomial): ``C * sum_i CE(W x_i + b, y_i) + ||W||^2 / 2`` (the bias is not penalised),
    in float32, stopping after ``max_iter`` L-BFGS iterations. With ``standardize`` the features are first
    scaled to zero mean and unit variance (statistics of the training set). Scikit-learn style:
    ``fit(x, y)``, ``predict(x)``, ``predict_proba(x)``, ``score(x, y)``; labels can be any
    values. Introduced in chapter 4 (contrastive learning).
    """

    def __init__(self, C: float = 1.0, max_iter: int = 100, standardize: bool = True) -> None:
        C = checks.finite_number(C, "C", low=0.0, low_open=True)
        max_iter = checks.positive_int(max_iter, "max_iter")
        self.C, self.max_iter, self.standardize = C, max_iter, standardize

    def _x(self, x: Any) -> torch.Tensor:
        if not hasattr(self, "mean_"):
            raise RuntimeError("this LinearProbe is not fitted yet: call fit(x, y) first")
        t = _features(x, "x")
        if t.shape[1] != len(self.mean_):
            raise ValueError(
                f"x has {t.shape[1]} features, the probe was fitted on {len(self.mean_)}"
            )
        return (t - self.mean_) / self.scale_

    def fit(self, x: Any, y: Sequence[Any] | np.ndarray) -> LinearProbe:
        """Fit on features ``x`` ``[n, d]`` and labels ``y`` ``[n]``; returns ``self``."""
        x_np = _features(x, "x").numpy()
        y = checks.labels(y, "y")
        if len(y) != len(x_np):
            raise ValueError(f"x has {len(x_np)} rows and y {len(y)} labels: one label per row")
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y holds one class only ({self.classes_.tolist()[0]!r}): a classifier needs at least two"
            )
        d, k = x_np.shape[1], len(self.classes_)
        t = torch.from_numpy(x_np)
        self.mean_ = t.mean(0) if self.standardize else torch.zeros(d)
        self.scale_ = t.std(0).clamp_min(1e-6) if self.standardize else torch.ones(d)
        t = self._x(x_np)
        target = torch.as_tensor(y_idx, dtype=torch.long)
        w = torch.zeros(d, k, requires_grad=True)
        b = torch.zeros(k, requires_grad=True)
        n = len(target)
        opt = torch.optim.LBFGS(
            [w, b],
            lr=1,
            max_iter=self.max_iter,
            tolerance_grad=1e-6,
            tolerance_change=1e-9,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            # the objective divided by C * n, so its scale does not depend on n
            loss = torch.nn.functional.cross_entropy(t @ w + b, target) + (w * w).sum() / (
                2 * self.C * n
            )
            loss.backward()
            return loss

        opt.step(closure)
        self.coef_ = w.detach().T.contiguous()  # [k, d], in the standardised space
        self.intercept_ = b.detach()
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        """The logits ``[n, k]``."""
        return (self._x(x) @ self.coef_.T + self.intercept_).numpy()

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities ``[n, k]``, columns in the order of ``classes_``."""
        return torch.softmax(torch.as_tensor(self.decision_function(x)), dim=1).numpy()

    def predict(self, x: Any) -> np.ndarray:
        """The most probable class of every row."""
        return self.classes_[self.decision_function(x).argmax(axis=1)]

    def score(self, x: Any, y: Sequence[Any] | np.ndarray) -> float:
        """Accuracy on ``(x, y)``."""
        return accuracy(np.asarray(y), self.predict(x))


def linear_probe(
    x_train: Any,
    y_train: Sequence[Any] | np.ndarray,
    x_test: Any,
    y_test: Sequence[Any] | np.ndarray,
    C: float = 1.0,
    max_iter: int = 100,
) -> float:
    """Test accuracy of a :class:`LinearProbe` (logistic regression) trained on frozen features.

    The standard measure of a self-supervised representation: the encoder is not changed, and
    only a linear classifier is trained on its features. Introduced in chapter 4 (contrastive
    learning).
    """
    probe = LinearProbe(C=C, max_iter=max_iter).fit(x_train, y_train)
    return probe.score(x_test, y_test)


def knn_predict(
    x_train: np.ndarray | torch.Tensor,
    y_train: Sequence[int] | np.ndarray,
    x_test: np.ndarray | torch.Tensor,
    k: int = 20,
    temperature: float | None = 0.1,
    batch_size: int = 1024,
) -> np.ndarray:
    """Weighted k-nearest-neighbour classification by cosine similarity.

    Each test vector looks up its ``k`` most similar training vectors; each neighbour votes for
    its label with weight ``exp(sim / temperature)`` (the rule of Wu et al. 2018, used to
    evaluate SimCLR-style encoders), or weight 1 with ``temperature=None`` (a plain majority
    vote; ties go to the smaller label). Labels must be integers ``0..C-1``.
    Introduced in chapter 4 (contrastive learning).
    """
    train, test = _unit_rows(x_train, "x_train"), _unit_rows(x_test, "x_test")
    _same_dim(train, test, "x_train and x_test")
    labels = _class_ids(y_train, len(train), "y_train")
    if checks.positive_int(k, "k") > len(train):
        raise ValueError(f"k must be between 1 and the number of training vectors, got {k}")
    if temperature is not None:
        checks.finite_number(temperature, "temperature", low=0.0, low_open=True)
    batch_size = checks.positive_int(batch_size, "batch_size")
    n_classes = int(labels.max()) + 1
    out = []
    for start in range(0, len(test), batch_size):
        sim = test[start : start + batch_size] @ train.T  # [b, n_train]
        top_sim, top_idx = sim.topk(k, dim=1)  # [b, k]
        if temperature is None:
            weight = torch.ones_like(top_sim)
        else:  # exp(sim / t), divided by the largest one so that it cannot overflow
            weight = ((top_sim - top_sim[:, :1]) / temperature).exp()
        votes = torch.zeros(len(sim), n_classes)
        votes.scatter_add_(1, labels[top_idx], weight)
        out.append(votes.argmax(dim=1))
    return torch.cat(out).numpy()


def knn_accuracy(
    x_train: np.ndarray | torch.Tensor,
    y_train: Sequence[int] | np.ndarray,
    x_test: np.ndarray | torch.Tensor,
    y_test: Sequence[int] | np.ndarray,
    k: int = 20,
    temperature: float | None = 0.1,
) -> float:
    """Test accuracy of :func:`knn_predict`: a representation evaluated with no training at all.

    Introduced in chapter 4 (contrastive learning).
    """
    return accuracy(np.asarray(y_test), knn_predict(x_train, y_train, x_test, k, temperature))


def retrieval_ranks(
    queries: np.ndarray | torch.Tensor,
    documents: np.ndarray | torch.Tensor,
    relevant: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """The rank (1 = best) of each query's relevant document among all documents, by cosine
    similarity. ``relevant[i]`` is the row of ``documents`` that answers query ``i``. Ties
    count against the relevant document (it ranks after every document as similar as it).
    Introduced in chapter 4 (contrastive learning).
    """
    q, d = _unit_rows(queries, "queries"), _unit_rows(documents, "documents")
    _same_dim(q, d, "queries and documents")
    rel = _class_ids(relevant, len(q), "relevant")
    if (rel >= len(d)).any():
        raise ValueError(f"relevant must be rows of documents, in [0, {len(d)})")
    sim = q @ d.T  # [n_queries, n_documents]
    target = sim.gather(1, rel.view(-1, 1))  # [n_queries, 1]
    return ((sim >= target).sum(dim=1)).numpy().astype(np.int64)


def recall_at_k(
    queries: np.ndarray | torch.Tensor,
    documents: np.ndarray | torch.Tensor,
    relevant: Sequence[int] | np.ndarray,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Retrieval quality: the fraction of queries whose relevant document is among the top ``k``
    (``"recall@k"`` for each ``k``), and the mean reciprocal rank ``"mrr"``.

    Introduced in chapter 4 (contrastive learning).
    """
    if isinstance(ks, int) or len(ks) == 0:
        raise ValueError(
            f"ks must be a non-empty sequence of cut-offs, e.g. (1, 5, 10), got {ks!r}"
        )
    for k in ks:
        checks.positive_int(k, "each k in ks")
    ranks = retrieval_ranks(queries, documents, relevant)
    out = {f"recall@{k}": float(np.mean(ranks <= k)) for k in ks}
    out["mrr"] = float(np.mean(1.0 / ranks))
    return out
