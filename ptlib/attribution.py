"""Token attributions: integrated gradients, and the deletion curve that tests their faithfulness.

:func:`integrated_gradients` (Sundararajan et al. 2017) attributes a model's score to each input
feature by integrating the gradient along the straight path from a baseline to the input;
:func:`deletion_curve` removes the most-attributed inputs first and follows the score, and
:func:`deletion_auc` summarises that curve by its area (lower: the attribution found what the
model relies on; Samek et al. 2017, Petsiuk et al. 2018).

Introduced in chapter 10 (challenges: interpretability).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ptlib import checks


def integrated_gradients(
    score_fn: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    batch_size: int = 32,
) -> torch.Tensor:
    """Integrated gradients of ``score_fn`` at ``inputs`` (one example), against ``baseline``.

    ``score_fn`` maps a batch of inputs, shape ``(batch, *inputs.shape)``, to one score each,
    shape ``(batch,)`` (e.g. a class's logit computed from token embeddings). The path integral
    ``(x - x') * integral_0^1 grad f(x' + t (x - x')) dt`` is approximated with the midpoint
    rule over ``steps`` points, evaluated ``batch_size`` at a time. The result has the shape of
    ``inputs``; its sum approaches ``f(x) - f(x')`` as ``steps`` grows (*completeness*), which
    is how to check the approximation. ``baseline`` defaults to zeros.
    Introduced in chapter 10 (challenges: interpretability).
    """
    steps = checks.positive_int(steps, "steps")
    batch_size = checks.positive_int(batch_size, "batch_size")
    x = checks.finite_tensor(inputs, "inputs").detach()
    if not x.is_floating_point():
        raise TypeError(f"inputs must be a float tensor (e.g. embeddings), got {x.dtype}")
    base = torch.zeros_like(x) if baseline is None else baseline.detach().to(x)
    checks.finite_tensor(base, "baseline")
    if base.shape != x.shape:
        raise ValueError(f"baseline shape {tuple(base.shape)} != inputs shape {tuple(x.shape)}")
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    total = torch.zeros_like(x)
    for start in range(0, steps, batch_size):
        a = alphas[start : start + batch_size].view(-1, *([1] * x.dim()))
        path = (base + a * (x - base)).requires_grad_(True)  # (chunk, *x.shape)
        scores = score_fn(path)
        if scores.shape != (path.shape[0],):
            raise ValueError(f"score_fn must return shape ({path.shape[0]},), got {scores.shape}")
        (grad,) = torch.autograd.grad(scores.sum(), path)
        checks.finite_tensor(grad, "the gradient of score_fn")
        total += grad.sum(dim=0)
    return (x - base) * total / steps


def deletion_curve(
    score_fn: Callable[[np.ndarray], np.ndarray],
    order: Sequence[int] | np.ndarray,
    n_points: int = 11,
) -> tuple[np.ndarray, np.ndarray]:
    """The score as the inputs are removed in ``order``: ``(fractions, scores)``.

    ``order`` lists the input positions, the first to delete first (e.g. by descending
    attribution, or at random for the baseline). At each of ``n_points`` fractions from 0 to 1,
    the first ``round(fraction * n)`` positions of ``order`` are deleted; ``score_fn`` gets a
    boolean *keep* mask of shape ``(n_points, n)`` and returns one score per row (e.g. the
    probability of the originally predicted class). Introduced in chapter 10.
    """
    order = np.asarray(order, dtype=int)
    n = order.size
    if n == 0:
        raise ValueError("order is empty")
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of 0..n-1")
    n_points = checks.positive_int(n_points, "n_points", minimum=2)
    fractions = np.linspace(0.0, 1.0, n_points)
    keep = np.ones((n_points, n), dtype=bool)
    for i, f in enumerate(fractions):
        keep[i, order[: int(round(f * n))]] = False
    scores = np.asarray(score_fn(keep), dtype=float)
    if scores.shape != (n_points,):
        raise ValueError(f"score_fn must return shape ({n_points},), got {scores.shape}")
    checks.finite_array(scores, "the scores score_fn returned")
    return fractions, scores


def deletion_auc(
    fractions: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """Area under a deletion curve (trapezoid rule), divided by the span of ``fractions``.

    The mean score over the deletion path: with scores in [0, 1], 1 if deleting never changes
    the score, lower the faster it falls. Introduced in chapter 10.
    """
    x = np.asarray(fractions, dtype=float)
    y = np.asarray(scores, dtype=float)
    if x.size < 2 or x.shape != y.shape:
        raise ValueError("fractions and scores must be 1-D of the same length, at least 2")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("fractions and scores must not contain NaN or infinite values")
    if np.any(np.diff(x) <= 0):
        raise ValueError("fractions must be strictly increasing")
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    return area / float(x[-1] - x[0])
