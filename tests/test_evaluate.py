"""Tests of ptlib.evaluate against hand-computed values and synthetic problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from ptlib import evaluate


def test_accuracy_counts_matches() -> None:
    assert evaluate.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(0.75)
    assert evaluate.accuracy(np.array(["a", "b"]), np.array(["a", "b"])) == 1.0


def test_accuracy_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        evaluate.accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        evaluate.accuracy([], [])


def test_classification_report_matches_hand_computed_confusion_matrix() -> None:
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]
    # Confusion matrix (rows true, columns predicted):
    #   [[2, 1, 1],
    #    [1, 2, 0],
    #    [0, 0, 3]]
    # precision per class: 2/3, 2/3, 3/4; recall per class: 2/4, 2/3, 3/3.
    p = [2 / 3, 2 / 3, 3 / 4]
    r = [2 / 4, 2 / 3, 1.0]
    f1 = [2 * a * b / (a + b) for a, b in zip(p, r, strict=True)]
    report = evaluate.classification_metrics(y_true, y_pred)
    assert report["accuracy"] == pytest.approx(7 / 10)
    assert report["precision"] == pytest.approx(np.mean(p))
    assert report["recall"] == pytest.approx(np.mean(r))
    assert report["macro_f1"] == pytest.approx(np.mean(f1))


def test_classification_report_never_predicted_class_has_zero_precision() -> None:
    report = evaluate.classification_metrics([0, 1, 1, 1], [1, 1, 1, 1])
    # class 0: precision 0 (never predicted), recall 0; class 1: precision 3/4, recall 1.
    assert report["precision"] == pytest.approx((0 + 3 / 4) / 2)
    assert report["recall"] == pytest.approx(0.5)


def test_sample_per_class_exact_counts_no_duplicates() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 7)
    idx = evaluate.sample_per_class(labels, 7, seed=0)
    assert len(idx) == 21
    assert len(set(idx.tolist())) == 21
    assert np.bincount(labels[idx]).tolist() == [7, 7, 7]
    assert np.all(np.diff(idx) > 0)  # sorted


def test_sample_per_class_deterministic_and_seed_dependent() -> None:
    labels = np.repeat([0, 1], 100)
    a = evaluate.sample_per_class(labels, 10, seed=3)
    b = evaluate.sample_per_class(labels, 10, seed=3)
    c = evaluate.sample_per_class(labels, 10, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_per_class_nested_across_budgets() -> None:
    labels = np.repeat([0, 1], 100)
    small = set(evaluate.sample_per_class(labels, 8, seed=1).tolist())
    large = set(evaluate.sample_per_class(labels, 32, seed=1).tolist())
    assert small <= large


def test_sample_per_class_errors_when_a_class_is_too_small() -> None:
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 has 3 examples"):
        evaluate.sample_per_class(labels, 4, seed=0)
    with pytest.raises(ValueError):
        evaluate.sample_per_class(labels, 0, seed=0)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian classes in 50 dimensions: learnable, but not from 2 examples."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    mean = np.zeros(50)
    mean[:5] = 0.6
    x = rng.normal(size=(n, 50)) + np.where(y[:, None] == 1, mean, -mean)
    return x, y


def test_label_efficiency_accuracy_rises_with_budget() -> None:
    x_train, y_train = _blobs(2000, seed=0)
    x_test, y_test = _blobs(1000, seed=1)
    df = evaluate.label_efficiency(
        x_train,
        y_train,
        x_test,
        y_test,
        budgets=[2, 16, 128, None],
        seeds=range(8),
        make_model=lambda: LogisticRegression(max_iter=1000),
        progress=False,
    )
    assert len(df) == 4 * 8
    assert list(df.columns) == ["budget", "seed", "n_train", "accuracy", "fit_seconds"]
    assert df.loc[df["budget"] == 16, "n_train"].eq(32).all()
    assert df.loc[df["budget"].isna(), "n_train"].eq(2000).all()
    summary = evaluate.summarise(df)
    means = summary["mean"].to_numpy()
    assert summary["budget"].isna().tolist() == [False, False, False, True]
    assert np.all(np.diff(means) > -0.005), means  # rising (up to noise at the top)
    assert means[-1] - means[0] > 0.1, means
    assert means[-1] > 0.9  # the Bayes accuracy of this problem is about 0.91
    assert summary["n_seeds"].eq(8).all()
    # all labels: every seed trains on the same data, so a deterministic model agrees
    assert summary["std"].iloc[-1] == pytest.approx(0.0)
    assert summary["std"].iloc[0] > 0


def test_label_efficiency_accepts_lists_of_texts() -> None:
    rng = np.random.default_rng(0)
    pos, neg = ["good", "great", "fine", "lovely"], ["bad", "awful", "poor", "dull"]
    filler = ["film", "plot", "the", "a", "actors", "story"]

    def texts(n: int) -> tuple[list[str], np.ndarray]:
        y = rng.integers(0, 2, size=n)
        words = [
            " ".join(rng.choice(filler, 4).tolist() + [rng.choice(pos if c else neg)]) for c in y
        ]
        return words, y

    x_train, y_train = texts(200)
    x_test, y_test = texts(100)
    df = evaluate.label_efficiency(
        x_train,
        y_train,
        x_test,
        y_test,
        budgets=[8, None],
        seeds=[0, 1],
        make_model=lambda: make_pipeline(TfidfVectorizer(), LogisticRegression()),
        progress=False,
    )
    assert df.loc[df["budget"].isna(), "accuracy"].eq(1.0).all()
    assert df["accuracy"].between(0, 1).all()


def test_label_efficiency_indexes_pandas_by_position() -> None:
    x_train, y_train = _blobs(200, seed=0)
    frame = pd.DataFrame(x_train, index=np.arange(1000, 1200))  # index labels != positions
    x_test, y_test = _blobs(50, seed=1)
    df = evaluate.label_efficiency(
        frame,
        y_train,
        pd.DataFrame(x_test),
        y_test,
        budgets=[5],
        seeds=[0],
        make_model=lambda: LogisticRegression(),
        progress=False,
    )
    assert df["n_train"].tolist() == [10]


def test_label_efficiency_rejects_mismatched_lengths() -> None:
    x, y = _blobs(20, seed=0)
    with pytest.raises(ValueError, match="same number of rows"):
        evaluate.label_efficiency(
            x, y[:-1], x, y, [2], [0], lambda: LogisticRegression(), progress=False
        )


def test_summarise_mean_and_sample_std() -> None:
    df = pd.DataFrame(
        {
            "budget": pd.array([8, 8, 8, None], dtype="Int64"),
            "seed": [0, 1, 2, 0],
            "n_train": [16, 16, 16, 500],
            "accuracy": [0.5, 0.6, 0.7, 0.9],
            "fit_seconds": [0.0] * 4,
        }
    )
    s = evaluate.summarise(df)
    assert s["n_train"].tolist() == [16, 500]
    assert s["mean"].tolist() == pytest.approx([0.6, 0.9])
    assert s["std"].tolist() == pytest.approx([0.1, 0.0])
    assert s["n_seeds"].tolist() == [3, 1]


def test_labels_to_reach_interpolates_in_log_space() -> None:
    n = [10, 100, 1000]
    acc = [0.5, 0.6, 0.8]
    # 0.7 lies halfway between 100 and 1000 in accuracy, so at 10**2.5 labels on a log scale
    assert evaluate.labels_to_reach(n, acc, 0.7) == pytest.approx(10**2.5)
    assert evaluate.labels_to_reach(n, acc, 0.6) == pytest.approx(100)
    assert evaluate.labels_to_reach(n, acc, 0.4) == pytest.approx(10)  # reached at once
    assert evaluate.labels_to_reach(n, acc, 0.9) == float("inf")  # never reached


def test_labels_to_reach_uses_first_crossing_and_validates() -> None:
    # a curve that dips after crossing: the first crossing counts
    assert evaluate.labels_to_reach([1, 10, 100], [0.5, 0.9, 0.7], 0.7) == pytest.approx(10**0.5)
    with pytest.raises(ValueError, match="increasing"):
        evaluate.labels_to_reach([10, 5], [0.5, 0.6], 0.55)
    with pytest.raises(ValueError):
        evaluate.labels_to_reach([], [], 0.5)


def test_mean_ci_matches_a_hand_computed_t_interval() -> None:
    mean, half = evaluate.mean_ci([0.80, 0.84, 0.82, 0.86])
    s = np.std([0.80, 0.84, 0.82, 0.86], ddof=1)
    assert mean == pytest.approx(0.83)
    assert half == pytest.approx(3.182446305284263 * s / 2)  # t_{0.975, 3} = 3.1824...
    assert evaluate.mean_ci([0.5]) == (0.5, 0.0)
    for bad in ([], [0.5, float("nan")]):
        with pytest.raises(ValueError, match="values"):
            evaluate.mean_ci(bad)
    assert evaluate.classification_metrics([0, 1], [0, 0], num_labels=3)["confusion_matrix"] == [
        [1, 0, 0],
        [1, 0, 0],
        [0, 0, 0],
    ]
