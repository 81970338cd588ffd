"""Seeds, devices, mixed precision, and where the code is running.

Introduced in chapter 1 (background); every later chapter starts with these calls.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from numbers import Integral
from types import TracebackType

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ptlib import checks

_DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) so a run can be repeated.

    ``seed`` is a whole number from 0 to 2**64 - 1 (the range PyTorch accepts).
    Introduced in chapter 1 (background).
    """
    seed = checks.positive_int(seed, "seed", minimum=0)
    if seed >= 2**64:
        raise ValueError(
            f"seed must be below 2**64 (PyTorch's limit), got {seed}: use a smaller one"
        )
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    # Where PyTorch has a deterministic version of an operation, use it (warn where it has none).
    torch.use_deterministic_algorithms(True, warn_only=True)


#: The default number of CPU threads of every notebook: the thread count is one of a run's
#: parameters, because results can differ in their last digits between thread counts.
DEFAULT_THREADS = 1


def set_threads(threads: int | None = DEFAULT_THREADS) -> int:
    """Use ``threads`` CPU threads in PyTorch, NumPy and scikit-learn; return the number in use.

    With the same seed, parameters and thread count, a run records the same numbers on every
    machine of the same kind, quiet or busy. One thread is the course default: the models are
    small, a second thread speeds them up far less than twice, and two notebooks can then run side
    by side on two cores. ``None`` leaves the thread counts as they are (the libraries' default
    is all cores). On a GPU only the CPU-side work is affected. Introduced in chapter 1 (background).
    """
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, Integral):
        raise TypeError(
            f"threads must be a whole number of CPU threads, or None to keep the libraries' "
            f"defaults; got {threads!r} ({type(threads).__name__})"
        )
    if threads < 1:
        raise ValueError(
            f"threads must be at least 1 (or None to keep the libraries' defaults), got {threads}"
        )
    threads = int(threads)
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # NumPy's BLAS and scikit-learn's OpenMP pools, for the process
    return threads


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to compute on: ``cuda`` if present, else ``mps``, else ``cpu``.

    ``prefer`` (``"auto"``, ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` for auto) asks for one;
    asking for a device that is not available raises a ``RuntimeError`` that says what to do
    (there is no silent fallback to the CPU). The environment variable ``PTLIB_DEVICE`` (the same
    values) overrides ``None``/``"auto"``. Introduced in chapter 1 (background).
    """
    accepted = ", ".join(repr(c) for c in _DEVICE_CHOICES)
    if prefer is not None and not isinstance(prefer, str):
        raise TypeError(
            f"prefer must be a device name ({accepted} or None), got {prefer!r} "
            f"({type(prefer).__name__})"
        )
    env = os.environ.get("PTLIB_DEVICE", "")
    from_env = not (prefer and prefer.lower() != "auto") and bool(env.strip())
    if from_env:
        choice, source = env.strip().lower(), f"the environment variable PTLIB_DEVICE={env!r}"
        fix = "unset PTLIB_DEVICE or set it to 'cpu'"
    else:
        choice, source = (prefer or "auto").lower(), f"prefer={prefer!r}"
        fix = "run with DEVICE='cpu' or 'auto'"
    if choice not in _DEVICE_CHOICES:
        raise ValueError(
            f"unknown device in {source}: choose one of {accepted}"
            + (" (or unset PTLIB_DEVICE)" if from_env else "")
        )
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device 'cuda' was requested ({source}) but no CUDA GPU is visible to PyTorch. "
            f"In Colab choose Runtime > Change runtime type > GPU; locally, {fix}."
        )
    if choice == "mps" and not _mps_available():
        raise RuntimeError(
            f"device 'mps' was requested ({source}) but this machine has no Apple-silicon GPU; "
            f"{fix}."
        )
    return torch.device(choice)


def _device(device: torch.device | str, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device``; a wrong name or type raises an error naming ``name``."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"{name} must be a torch.device or a name such as 'cpu' or 'cuda', got {device!r} "
            f"({type(device).__name__})"
        )
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"{name}={device!r} is not a device PyTorch knows ({err}); use 'cpu', 'cuda', 'mps', "
            "or ptlib.runtime.get_device()"
        ) from None


def bf16_supported(device: torch.device | str) -> bool:
    """Whether bfloat16 autocast is worth using on ``device``.

    On CUDA this asks the GPU; on CPU it needs native bf16 instructions (AVX-512 BF16 or AMX),
    where bf16 autocast is about 1.5-2x faster than fp32 for the course's models.
    Introduced in chapter 1 (background).
    """
    device = _device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        return bool((check is not None and check()) or (amx is not None and amx()))
    return False


def autocast(device: torch.device | str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """A context manager that runs the forward pass in bf16 where :func:`bf16_supported`.

    Elsewhere (or with ``enabled=False``) it changes nothing, so the same code runs everywhere.
    Introduced in chapter 1 (background).
    """
    device = _device(device)
    if enabled and bf16_supported(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def in_colab() -> bool:
    """Whether the code runs inside Google Colab. Introduced in chapter 1 (background)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def is_offline() -> bool:
    """Whether Hugging Face libraries are told to stay offline (``HF_HUB_OFFLINE=1`` or
    ``TRANSFORMERS_OFFLINE=1``), as in CI and in rooms without internet.

    Introduced in chapter 1 (background).
    """
    truthy = {"1", "true", "yes", "on"}
    return any(
        os.environ.get(var, "").strip().lower() in truthy
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


class Stopwatch:
    """Measure the wall-clock seconds of a ``with`` block::

        with Stopwatch() as sw:
            train()
        print(sw.seconds)

    Introduced in chapter 1 (background).
    """

    def __init__(self) -> None:
        self._start: float | None = None
        self._stop: float | None = None

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self._stop = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds elapsed: so far inside the block, or in total after it."""
        if self._start is None:
            return 0.0
        end = self._stop if self._stop is not None else time.perf_counter()
        return end - self._start


def latency_ms(
    predict: Callable[[list[str]], object], texts: Sequence[str], warmup: int = 3
) -> float:
    """The median wall-clock milliseconds ``predict`` takes for one text, over ``texts``.

    The first ``warmup`` texts are predicted once each beforehand (and not timed), so lazy
    initialisation does not count. Introduced in chapter 1 (background); chapter 5 reuses it.
    """
    if not callable(predict):
        raise TypeError(
            f"predict must be a function that takes a list of texts, got {type(predict).__name__}"
        )
    texts = checks.texts(texts, "texts")
    warmup = checks.positive_int(warmup, "warmup", minimum=0)
    for text in texts[:warmup]:
        predict([text])
    times = []
    for text in texts:
        with Stopwatch() as watch:
            predict([text])
        times.append(watch.seconds)
    return 1000 * float(np.median(times))
