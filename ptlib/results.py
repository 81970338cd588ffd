"""Recording the numbers a chapter's prose relies on.

A notebook calls :func:`start` once, :func:`record` for every number its text quotes, and
:func:`finish` at the end. The numbers land in ``results/<notebook-stem>.json`` and the claims
tests assert thresholds on them, so a number in the text can never silently become false.
Introduced in chapter 1 (background).
"""

from __future__ import annotations

import json
import math
import os
import time
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np

from ptlib import storage

_state: dict[str, Any] = {"stem": None, "t0": None}


def results_dir() -> Path:
    """The folder results are written to: ``$PTLIB_RESULTS_DIR`` or ``./results``.

    Introduced in chapter 1 (background).
    """
    return Path(os.environ.get("PTLIB_RESULTS_DIR") or "results")


def _path(stem: str) -> Path:
    return results_dir() / f"{stem}.json"


def _to_json(value: Any) -> Any:
    """Convert NumPy/PyTorch scalars and arrays to plain JSON values; reject NaN."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist())  # nested lists, or a Python scalar for a 0-d array
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot record a non-finite number ({value}); check the computation")
    if value is None or isinstance(value, bool | str | Number):
        return value
    raise TypeError(
        f"cannot record a value of type {type(value).__name__}; use numbers, "
        "strings, lists or dicts"
    )


def start(stem: str) -> None:
    """Start recording for the notebook ``stem`` (e.g. ``"01_background"``) and start its clock.

    Earlier results of the same notebook are discarded, so the file only ever holds the numbers
    of one complete run. Introduced in chapter 1 (background).
    """
    if not stem or "/" in stem or stem.endswith(".ipynb"):
        raise ValueError(f"stem must be a notebook name without folder or suffix, got {stem!r}")
    _state["stem"] = stem
    _state["t0"] = time.perf_counter()
    storage.write_json(_path(stem), {})


def current() -> str:
    """The stem given to :func:`start`. Introduced in chapter 1 (background)."""
    if _state["stem"] is None:
        raise RuntimeError("no notebook is recording: call ptlib.results.start('<stem>') first")
    return _state["stem"]


def load(stem: str) -> dict[str, Any]:
    """Read the recorded results of notebook ``stem`` (an empty dict if there are none).

    Introduced in chapter 1 (background).
    """
    path = _path(stem)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def record(key: str, value: Any) -> Any:
    """Record ``value`` under ``key`` for the current notebook and return it unchanged.

    ``value`` may be a number, string, list or dict (NumPy/PyTorch values are converted).
    The file is rewritten atomically, so a crash never leaves half a file.
    Introduced in chapter 1 (background).
    """
    stem = current()
    data = load(stem)
    data[key] = _to_json(value)
    storage.write_json(_path(stem), data)
    return value


def finish() -> float:
    """Record ``runtime_s``, the seconds since :func:`start`, and return it.

    Introduced in chapter 1 (background).
    """
    current()  # raises if start() was not called
    seconds = round(time.perf_counter() - _state["t0"], 1)
    record("runtime_s", seconds)
    return seconds
