"""Tests of ptlib.attribution (chapter 10): integrated gradients and the deletion curve."""

import numpy as np
import pytest
import torch

from ptlib import attribution


def test_ig_of_a_linear_function_is_input_times_weight():
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    x = torch.tensor([[2.0, 1.0], [-1.0, 4.0]])
    ig = attribution.integrated_gradients(lambda z: (z * w).sum(dim=(1, 2)), x, steps=4)
    torch.testing.assert_close(ig, x * w)


def test_ig_of_a_square_is_exact_with_midpoints_and_complete():
    x = torch.tensor([1.0, -2.0, 3.0])
    base = torch.tensor([0.5, 0.5, -1.0])
    ig = attribution.integrated_gradients(
        lambda z: (z**2).sum(dim=1), x, baseline=base, steps=3, batch_size=2
    )
    torch.testing.assert_close(ig, x**2 - base**2)  # by hand: integral of 2z dz
    # completeness on a non-polynomial function, against the exact difference
    f = lambda z: torch.tanh(z).sum(dim=1)  # noqa: E731
    ig = attribution.integrated_gradients(f, x, steps=256)
    assert float(ig.sum()) == pytest.approx(float(torch.tanh(x).sum()), abs=1e-4)


def test_ig_rejects_bad_input():
    with pytest.raises(ValueError, match="steps"):
        attribution.integrated_gradients(lambda z: z.sum(dim=1), torch.ones(2), steps=0)
    with pytest.raises(ValueError, match="NaN"):
        attribution.integrated_gradients(lambda z: z.sum(dim=1), torch.tensor([np.nan]))
    with pytest.raises(ValueError, match="baseline"):
        attribution.integrated_gradients(
            lambda z: z.sum(dim=1), torch.ones(2), baseline=torch.ones(3)
        )


def test_deletion_curve_deletes_in_order():
    weights = np.array([0.1, 0.6, 0.3])

    def score(keep):
        return keep @ weights

    fractions, scores = attribution.deletion_curve(score, [1, 2, 0], n_points=4)
    np.testing.assert_allclose(fractions, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(scores, [1.0, 0.4, 0.1, 0.0])
    with pytest.raises(ValueError, match="permutation"):
        attribution.deletion_curve(score, [0, 0, 1])


def test_deletion_auc_against_numpy_trapezoid():
    x = np.linspace(0, 1, 11)
    y = np.exp(-3 * x)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    assert attribution.deletion_auc(x, y) == pytest.approx(trapezoid(y, x))
    assert attribution.deletion_auc([0, 0.5], [1, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        attribution.deletion_auc([0, 1], [1, np.nan])
    with pytest.raises(ValueError, match="increasing"):
        attribution.deletion_auc([0, 0], [1, 1])
