"""Scaling laws: how a model's loss falls with its size, and what the training compute is.

:func:`fit_power_law` fits ``L(N) = a * N**(-alpha) + c`` (Kaplan et al. 2020) to measured
losses; :func:`non_embedding_parameters` counts the ``N`` such fits use;
:func:`training_flops` is the ``6 N D`` approximation of training compute and
:func:`flops_utilisation` the share of a machine's peak that a run reached.

Introduced in chapter 10 (trends: bigger models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from torch import nn

from ptlib import checks


@dataclass(frozen=True)
class PowerLawFit:
    """The fitted ``L(N) = a * N**(-alpha) + c``; ``c`` is the irreducible loss.

    Introduced in chapter 10 (trends: bigger models).
    """

    a: float
    alpha: float
    c: float

    def __call__(self, n: float | np.ndarray) -> float | np.ndarray:
        """The fitted loss at size(s) ``n``."""
        return self.a * np.asarray(n, dtype=float) ** (-self.alpha) + self.c


def _as_positive(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive")
    return arr


def fit_power_law(
    sizes: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    irreducible: bool = True,
) -> PowerLawFit:
    """Least-squares fit of ``L(N) = a * N**(-alpha) + c`` to ``losses`` at ``sizes``.

    With ``irreducible=False``, ``c = 0`` and the fit is a straight line on log-log axes
    (ordinary least squares of ``log L`` on ``log N``). Otherwise ``c`` is searched in
    ``[0, min(losses))`` (a bounded scalar search; for each ``c`` the line through
    ``log(L - c)`` is fitted exactly), minimising the squared error of ``log L``. Needs at
    least 3 sizes with ``c`` (2 without). Introduced in chapter 10 (trends: bigger models).
    """
    n = _as_positive(sizes, "sizes")
    loss = _as_positive(losses, "losses")
    if n.size != loss.size:
        raise ValueError(f"sizes ({n.size}) and losses ({loss.size}) differ in length")
    need = 3 if irreducible else 2
    if np.unique(n).size < need:
        raise ValueError(f"sizes must hold at least {need} distinct values for this fit")
    log_n = np.log(n)

    def line(c: float) -> tuple[float, float, float]:
        slope, intercept = np.polyfit(log_n, np.log(loss - c), 1)
        pred = np.log(np.exp(intercept) * n**slope + c)
        return float(np.sum((pred - np.log(loss)) ** 2)), float(slope), float(intercept)

    if not irreducible:
        _, slope, intercept = line(0.0)
        return PowerLawFit(a=float(np.exp(intercept)), alpha=-slope, c=0.0)
    upper = float(loss.min()) * (1 - 1e-9)
    grid = np.linspace(0.0, upper, 200, endpoint=False)
    best = grid[int(np.argmin([line(c)[0] for c in grid]))]
    step = upper / 200
    res = optimize.minimize_scalar(
        lambda c: line(c)[0],
        bounds=(max(0.0, best - step), min(upper, best + step)),
        method="bounded",
        options={"xatol": 1e-12},
    )
    c = float(res.x) if line(float(res.x))[0] <= line(best)[0] else float(best)
    _, slope, intercept = line(c)
    return PowerLawFit(a=float(np.exp(intercept)), alpha=-slope, c=c)


def non_embedding_parameters(model: nn.Module) -> int:
    """Parameters of ``model`` outside its embedding tables (and outside tied copies of them).

    Kaplan et al. (2020) found that loss follows model size cleanly only when the token and
    position embeddings are left out: they are lookups, not computation. Every parameter of an
    ``nn.Embedding`` module, and any parameter that shares its storage (a tied output layer),
    is excluded; everything else is counted once. Introduced in chapter 10.
    """
    embedding = {
        p.data_ptr() for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()
    }
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if p.data_ptr() in embedding or p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        total += p.numel()
    return total


def training_flops(parameters: float, tokens: float) -> float:
    """About ``6 * N * D`` floating-point operations to train ``N`` parameters on ``D`` tokens.

    2 per parameter per token for the forward pass and 4 for the backward pass (Kaplan et al.
    2020, section 2.1); attention over the context adds a little more, ignored here.
    Introduced in chapter 10 (trends: bigger models).
    """
    parameters = checks.finite_number(parameters, "parameters", low=0.0)
    tokens = checks.finite_number(tokens, "tokens", low=0.0)
    return 6.0 * float(parameters) * float(tokens)


def flops_utilisation(flops: float, seconds: float, peak_flops_per_second: float) -> float:
    """Model FLOPs utilisation: achieved ``flops / seconds`` as a share of the machine's peak.

    Introduced in chapter 10 (trends: bigger models).
    """
    flops = checks.finite_number(flops, "flops", low=0.0)
    seconds = checks.finite_number(seconds, "seconds", low=0.0, low_open=True)
    peak_flops_per_second = checks.finite_number(
        peak_flops_per_second, "peak_flops_per_second", low=0.0, low_open=True
    )
    return float(flops) / float(seconds) / float(peak_flops_per_second)
