"""Tests of the representation evaluations in ptlib.evaluate (chapter 4): the linear probe
against scikit-learn, weighted k-NN, and retrieval recall@k, on hand-made problems."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from ptlib import evaluate


def test_linear_probe_matches_scikit_learn_logistic_regression() -> None:
    x, y = make_classification(600, 20, n_informative=10, n_classes=4, random_state=0)
    xs = StandardScaler().fit_transform(x)
    for c in (0.05, 1.0):
        ref = LogisticRegression(C=c, max_iter=5000, tol=1e-10).fit(xs, y)
        probe = evaluate.LinearProbe(C=c, max_iter=500).fit(x, y)
        assert np.mean(ref.predict(xs) == probe.predict(x)) >= 0.99
        np.testing.assert_allclose(probe.predict_proba(x), ref.predict_proba(xs), atol=2e-3)
        np.testing.assert_allclose(probe.coef_.numpy(), ref.coef_ - ref.coef_.mean(0), atol=2e-2)


def test_linear_probe_separates_separable_data_and_keeps_label_values() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    y = np.repeat(["cat", "dog", "frog"], 30)
    x = centres[np.repeat(np.arange(3), 30)] + rng.normal(size=(90, 2))
    probe = evaluate.LinearProbe().fit(x, y)
    assert list(probe.classes_) == ["cat", "dog", "frog"]
    assert probe.score(x, y) == 1.0
    assert probe.predict_proba(x).shape == (90, 3)
    np.testing.assert_allclose(probe.predict_proba(x).sum(1), 1.0, rtol=1e-5)
    assert evaluate.linear_probe(x[::2], y[::2], x[1::2], y[1::2]) == 1.0
    with pytest.raises(ValueError, match="C must"):
        evaluate.LinearProbe(C=0)


def test_linear_probe_works_in_the_label_efficiency_runner() -> None:
    x, y = make_classification(400, 10, n_informative=5, n_classes=2, random_state=1)
    df = evaluate.label_efficiency(
        x[:300], y[:300], x[300:], y[300:], [5, None], [0, 1], evaluate.LinearProbe, progress=False
    )
    assert list(df["n_train"]) == [10, 10, 300, 300]
    assert df["accuracy"].between(0, 1).all()


def test_knn_hand_example_weighted_and_unweighted() -> None:
    # one training vector very close to the query (label 1), two a bit further (label 0)
    x_train = np.array([[1.0, 0.05], [1.0, 0.5], [1.0, -0.5], [-1.0, 0.0]])
    y_train = np.array([1, 0, 0, 2])
    query = np.array([[1.0, 0.0]])
    assert evaluate.knn_predict(x_train, y_train, query, k=3, temperature=None)[0] == 0  # 2 vs 1
    assert evaluate.knn_predict(x_train, y_train, query, k=3, temperature=0.01)[0] == 1  # nearest
    assert evaluate.knn_predict(x_train, y_train, query, k=1)[0] == 1
    # cosine similarity: the length of a vector does not matter
    assert evaluate.knn_predict(x_train * 7, y_train, query * 0.1, k=1)[0] == 1
    with pytest.raises(ValueError, match="k must"):
        evaluate.knn_predict(x_train, y_train, query, k=5)


def test_knn_majority_vote_matches_scikit_learn() -> None:
    x, y = make_classification(500, 8, n_informative=6, n_classes=3, random_state=2)
    ref = KNeighborsClassifier(n_neighbors=5, metric="cosine", algorithm="brute").fit(
        x[:400], y[:400]
    )
    ours = evaluate.knn_predict(x[:400], y[:400], x[400:], k=5, temperature=None, batch_size=32)
    assert np.mean(ours == ref.predict(x[400:])) >= 0.98  # ties may be broken differently
    acc = evaluate.knn_accuracy(x[:400], y[:400], x[400:], y[400:], k=5, temperature=None)
    assert acc == pytest.approx(np.mean(ours == y[400:]))


def test_retrieval_ranks_and_recall_at_k() -> None:
    docs = np.eye(4)
    queries = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],  # doc 0 first
            [0.9, 0.5, 0.0, 0.0],  # relevant doc 1 second, after doc 0
            [0.1, 0.2, 0.0, 0.9],  # relevant doc 2 last
        ]
    )
    relevant = [0, 1, 2]
    ranks = evaluate.retrieval_ranks(queries, docs, relevant)
    assert ranks.tolist() == [1, 2, 4]
    r = evaluate.recall_at_k(queries, docs, relevant, ks=(1, 2, 3))
    assert r["recall@1"] == pytest.approx(1 / 3)
    assert r["recall@2"] == pytest.approx(2 / 3)
    assert r["recall@3"] == pytest.approx(2 / 3)
    assert r["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)
    # a tie counts against the relevant document
    assert evaluate.retrieval_ranks([[1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [1]).tolist() == [2]
    with pytest.raises(ValueError):
        evaluate.retrieval_ranks(queries, docs, [0, 1])
