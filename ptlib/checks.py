"""Argument checks at ptlib's boundary: bad input fails fast, with an error that says what to do.

Every public function of ptlib checks what it is given with these helpers before it computes
anything. Each error names the argument (or the file, or the environment variable), says what
was wrong with it, and says what to do. Numbers are never returned from NaN, infinite or empty
input: a NaN that slips through a mean or a permutation test can look like a real result (a
p-value of 0.0, a disparity of 0.0), so it is rejected here instead.

Introduced in chapter 1 (background); every chapter's helpers use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is a whole number ``>= minimum``; otherwise ``ValueError``
    (``TypeError`` for a non-integer such as ``2.5``, ``"3"`` or ``True``).

    Introduced in chapter 1 (background).
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{name} must be a whole number (int), got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def finite_number(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """``value`` as a ``float`` if it is a finite real number within ``[low, high]`` (``(low,
    high]`` with ``low_open``); otherwise ``ValueError`` (``TypeError`` for a non-number).

    Introduced in chapter 1 (background).
    """
    if isinstance(value, bool) or not isinstance(value, Real | np.generic):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        bound = f"greater than {low}" if low_open else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be at most {high}, got {x}")
    return x


def finite_array(
    x: Any, name: str, ndim: int | None = None, allow_empty: bool = False
) -> np.ndarray:
    """``x`` (a list, NumPy array or tensor) as a float64 NumPy array, checked: not empty (unless
    ``allow_empty``), no NaN or infinity, and ``ndim`` dimensions if given.

    Raises ``ValueError`` naming ``name`` and, for NaN/inf, how many entries are bad.
    Introduced in chapter 1 (background).
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numbers (a list, array or tensor): {err}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: there is nothing to compute on")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s) out of {arr.size}; "
            "find where they come from (a diverged model, a missing value) and fix or drop them"
        )
    return arr


def finite_tensor(t: torch.Tensor, name: str, allow_empty: bool = False) -> torch.Tensor:
    """``t`` unchanged if it is a tensor with no NaN or infinity (and not empty unless
    ``allow_empty``); otherwise ``ValueError`` naming ``name``. The tensor stays on its device
    and in the autograd graph. Introduced in chapter 1 (background).
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.numel() == 0 and not allow_empty:
        raise ValueError(
            f"{name} is empty (shape {tuple(t.shape)}): there is nothing to compute on"
        )
    if t.is_floating_point() and not bool(torch.isfinite(t.detach()).all()):
        n = int((~torch.isfinite(t.detach())).sum())
        raise ValueError(
            f"{name} holds {n} NaN or infinite value(s) out of {t.numel()}; "
            "a diverged model or a bad input produced them"
        )
    return t


def labels(y: Any, name: str) -> np.ndarray:
    """``y`` (a list, array, Series or tensor) as a non-empty 1-D NumPy array of labels without
    missing values (``None``, NaN): a missing label would otherwise become a class of its own,
    or a weight of 0. A single string is rejected. Introduced in chapter 1 (background).
    """
    if isinstance(y, str):
        raise TypeError(f"{name} must be a sequence of labels, not one string")
    arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of labels, got shape {arr.shape}"
        )
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(
            f"{name} holds {int(missing.sum())} missing label(s) (None/NaN) out of {arr.size}: "
            "drop or fill them first"
        )
    return arr


def texts(values: Any, name: str = "texts", allow_empty: bool = False) -> list[str]:
    """``values`` as a list of strings: a sequence (list, tuple, array, Series) of ``str``.

    A single string is rejected (it would be read as one text per character), and so are
    ``None``, NaN and non-string entries (they would be tokenised as the words "none"/"nan").
    Introduced in chapter 1 (background).
    """
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a sequence of strings, not one string: wrap it in a list")
    if hasattr(values, "tolist"):  # NumPy array, pandas Series
        values = values.tolist()
    if not isinstance(values, Sequence):
        try:
            values = list(values)
        except TypeError:
            raise TypeError(
                f"{name} must be a sequence of strings, got {type(values).__name__}"
            ) from None
    if not values and not allow_empty:
        raise ValueError(f"{name} is empty: give at least one text")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(
                f"{name}[{i}] is {v!r} ({type(v).__name__}), not a string: drop or fill missing "
                "texts first (e.g. df.dropna(subset=['text']))"
            )
    return list(values)


def read_json(path: str | Path, what: str = "file") -> Any:
    """The parsed JSON of ``path``; a missing or corrupt file raises an error that names it.

    ``FileNotFoundError`` for a missing file, ``ValueError`` for one that is not valid JSON
    (truncated, edited by hand, half-written by a crash), both with what to do.
    Introduced in chapter 1 (background).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{what} {path} is not UTF-8 text ({err}); it is damaged: delete or restore it"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{what} {path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
            "it is damaged or was edited by hand: restore it, or delete it and run the step that "
            "writes it again"
        ) from None
