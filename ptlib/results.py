"""Recording the numbers a chapter's prose relies on.

A notebook calls :func:`start` once, :func:`record` for every number its text quotes, and
:func:`finish` at the end. The numbers land in ``results/<notebook-stem>.json`` and the claims
tests assert thresholds on them, so a number in the text can never silently become false.
Introduced in chapter 1 (background).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ptlib import checks, storage

try:  # POSIX: an advisory lock on the lock file
    import fcntl
except ImportError:  # Windows: the lock file's existence is the lock
    fcntl = None  # type: ignore[assignment]

_state: dict[str, Any] = {"stem": None, "t0": None, "finished": False}
#: Seconds a writer waits for another process's lock (the Windows fallback) before giving up.
LOCK_TIMEOUT_S = 30.0


def results_dir() -> Path:
    """The folder results are written to: ``$PTLIB_RESULTS_DIR`` or ``./results``.

    Introduced in chapter 1 (background).
    """
    folder = Path(os.environ.get("PTLIB_RESULTS_DIR") or "results")
    if folder.exists() and not folder.is_dir():
        where = "PTLIB_RESULTS_DIR" if os.environ.get("PTLIB_RESULTS_DIR") else "the results folder"
        raise NotADirectoryError(
            f"{where} {folder} is a file, not a folder: point PTLIB_RESULTS_DIR at a folder "
            "(or move the file away)"
        )
    return folder


def _check_stem(stem: Any) -> str:
    if not isinstance(stem, str):
        raise TypeError(f"stem must be a notebook name (str), got {stem!r} ({type(stem).__name__})")
    bad = (
        not stem.strip()
        or stem != stem.strip()
        or stem.startswith(".")
        or any(c in stem for c in '/\\:"*?<>|')
        or not stem.isprintable()
        or stem.endswith((".ipynb", ".json"))
    )
    if bad:
        raise ValueError(
            "stem must be a notebook name without folder or suffix, such as '01_background' "
            f"(no / \\ : or leading dot); got {stem!r}"
        )
    return stem


def _path(stem: str) -> Path:
    return results_dir() / f"{stem}.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the lock file ``.<name>.lock`` beside ``path``: one writer at a time, across processes.

    POSIX: ``fcntl.flock`` (released by the OS if the process dies). Elsewhere: the lock file is
    created exclusively and deleted afterwards; a writer waits up to :data:`LOCK_TIMEOUT_S`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    if fcntl is not None:
        with open(lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"results file {path} has been locked by {lock} for over {LOCK_TIMEOUT_S} s; "
                    "if no other process is recording into it (a crash left the lock), delete "
                    f"{lock}"
                ) from None
            time.sleep(0.01)
    try:
        yield
    finally:
        os.close(fd)
        os.unlink(lock)


def _to_json(value: Any, where: str) -> Any:
    """Convert NumPy/PyTorch scalars and arrays to plain JSON values; reject NaN.

    ``where`` names the value in errors (e.g. ``key 'acc'[2]``).
    """
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist(), where)  # nested lists, or a Python scalar for 0-d
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): _to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"cannot record a non-finite number ({value}) under {where}; check the computation "
            "that produced it"
        )
    if value is None or isinstance(value, bool | str | int | float):
        return value
    raise TypeError(
        f"cannot record a value of type {type(value).__name__} under {where}; use numbers "
        "(int, float), strings, lists or dicts"
    )


def start(stem: str) -> None:
    """Start recording for the notebook ``stem`` (e.g. ``"01_background"``) and start its clock.

    Earlier results of the same notebook are discarded, so the file only ever holds the numbers
    of one complete run (running a notebook again starts it again). Starting another notebook
    while one is still recording (no :func:`finish`) warns: the first one's file stays
    incomplete. Introduced in chapter 1 (background).
    """
    stem = _check_stem(stem)
    path = _path(stem)
    previous = _state["stem"]
    if previous is not None and previous != stem and not _state["finished"]:
        warnings.warn(
            f"results.start({stem!r}) while {previous!r} is still recording (no "
            f"results.finish()): {previous}.json keeps only the numbers recorded so far, and "
            f"record() now writes to {stem}.json",
            UserWarning,
            stacklevel=2,
        )
    with _locked(path):
        storage.write_json(path, {})
    _state.update(stem=stem, t0=time.perf_counter(), finished=False)


def current() -> str:
    """The stem given to :func:`start`. Introduced in chapter 1 (background)."""
    if _state["stem"] is None:
        raise RuntimeError("no notebook is recording: call ptlib.results.start('<stem>') first")
    return _state["stem"]


def load(stem: str) -> dict[str, Any]:
    """Read the recorded results of notebook ``stem`` (an empty dict if there are none).

    A damaged file raises a ``ValueError`` that names it. Introduced in chapter 1 (background).
    """
    path = _path(_check_stem(stem))
    if not path.exists():
        return {}
    data = checks.read_json(path, "results file")
    if not isinstance(data, dict):
        raise ValueError(
            f"results file {path} holds a {type(data).__name__}, not a JSON object of recorded "
            "numbers: delete it and run the notebook again"
        )
    return data


def record(key: str, value: Any) -> Any:
    """Record ``value`` under ``key`` for the current notebook and return it unchanged.

    ``key`` is a non-empty string; ``value`` may be a number, string, list or dict
    (NumPy/PyTorch values are converted; NaN and infinity are refused). The file is rewritten
    atomically, so a crash never leaves half a file, and under a lock, so processes recording
    into the same notebook's file at once lose no key. Introduced in chapter 1 (background).
    """
    if not isinstance(key, str):
        raise TypeError(
            f"key must be a string naming the number (e.g. 'dev_acc'), got {key!r} "
            f"({type(key).__name__})"
        )
    if not key.strip():
        raise ValueError(f"key must be a non-empty name (e.g. 'dev_acc'), got {key!r}")
    stem = current()
    converted = _to_json(value, f"key {key!r}")
    path = _path(stem)
    with _locked(path):
        data = load(stem)
        data[key] = converted
        storage.write_json(path, data)
    return value


def finish() -> float:
    """Record ``runtime_s``, the seconds since :func:`start`, and return it.

    Introduced in chapter 1 (background).
    """
    current()  # raises if start() was not called
    seconds = round(time.perf_counter() - _state["t0"], 1)
    record("runtime_s", seconds)
    _state["finished"] = True
    return seconds
