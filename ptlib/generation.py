"""The Fréchet distance between two sets of feature vectors, the score behind FID.

Fit a Gaussian to each set (mean ``mu``, covariance ``S``); the Fréchet (2-Wasserstein) distance
between the two Gaussians is ``|mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})``
(Dowson and Landau 1982). FID (Heusel et al. 2017) is this distance in the 2048-d pool features
of one particular Inception-v3 network; computed in any other feature space (chapter 7 uses the
course's own SimCLR encoder) it is a Fréchet distance, not FID, and its numbers are not
comparable with published FIDs.

Introduced in chapter 7 (vision applications).
"""

from __future__ import annotations

import numpy as np

from ptlib import checks


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and covariance ``[d, d]`` (unbiased, float64) of features ``[N, d]``, N >= 2.

    Introduced in chapter 7 (vision applications).
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [N, d] with N >= 2, got shape {f.shape}")
    checks.finite_array(f, "features")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative eigenvalues -> 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance_from_stats(
    mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray
) -> float:
    """Fréchet distance of ``N(mu1, cov1)`` and ``N(mu2, cov2)``.

    ``Tr((S_1 S_2)^{1/2})`` is computed as ``Tr((S_1^{1/2} S_2 S_1^{1/2})^{1/2})`` (the same
    eigenvalues, but of a symmetric matrix), so no complex square root is needed.
    Introduced in chapter 7 (vision applications).
    """
    mu1, mu2 = checks.finite_array(mu1, "mu1", ndim=1), checks.finite_array(mu2, "mu2", ndim=1)
    cov1, cov2 = checks.finite_array(cov1, "cov1"), checks.finite_array(cov2, "cov2")
    d = len(mu1)
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(
            f"mu1, mu2 must be [d] and cov1, cov2 [d, d] with the same d, got {mu1.shape}, "
            f"{mu2.shape}, {cov1.shape}, {cov2.shape}"
        )
    root1 = _sqrt_psd(cov1)
    cross = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    tr_sqrt = float(np.sqrt(np.clip(cross, 0, None)).sum())
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)
    return max(value, 0.0)


def frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``[N1, d]`` and ``[N2, d]``.

    Introduced in chapter 7 (vision applications).
    """
    stats1, stats2 = gaussian_stats(features1), gaussian_stats(features2)
    if len(stats1[0]) != len(stats2[0]):
        raise ValueError(
            f"features1 and features2 must have the same d (one feature space), got "
            f"{len(stats1[0])} and {len(stats2[0])}"
        )
    return frechet_distance_from_stats(*stats1, *stats2)
