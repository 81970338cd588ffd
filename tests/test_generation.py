"""Unit tests of ptlib.generation: the Fréchet distance against scipy and closed forms."""

import numpy as np
import pytest
from scipy import linalg

from ptlib import generation


def scipy_frechet(f1, f2):
    """The reference computation of the FID code (Heusel et al.), with scipy's sqrtm."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_matches_scipy():
    rng = np.random.default_rng(0)
    f1 = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    f2 = rng.normal(loc=0.5, size=(300, 6)) @ rng.normal(size=(6, 6))
    assert generation.frechet_distance(f1, f2) == pytest.approx(scipy_frechet(f1, f2), rel=1e-6)


def test_frechet_closed_forms():
    # identical sets: 0; diagonal Gaussians: |mu1 - mu2|^2 + sum (sigma1 - sigma2)^2
    rng = np.random.default_rng(1)
    f = rng.normal(size=(50, 3))
    assert generation.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, 1.0])
    c1, c2 = np.diag([4.0, 1.0]), np.diag([1.0, 9.0])
    expected = 9.0 + (2 - 1) ** 2 + (1 - 3) ** 2
    assert generation.frechet_distance_from_stats(mu1, c1, mu2, c2) == pytest.approx(expected)


def test_frechet_errors():
    with pytest.raises(ValueError, match="N >= 2"):
        generation.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        generation.frechet_distance(np.full((3, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="same d"):
        generation.frechet_distance(np.zeros((3, 2)), np.zeros((5, 3)))
    mu, cov = generation.gaussian_stats(np.random.default_rng(0).normal(size=(10, 1)))
    assert mu.shape == (1,) and cov.shape == (1, 1)
