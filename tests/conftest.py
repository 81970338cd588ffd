"""Shared test fixtures: the repository root, the local data, a private results folder."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The local datasets: ``$PTLIB_DATA_DIR``, else ``../shared/data`` beside the repository."""
    env = os.environ.get("PTLIB_DATA_DIR")
    if env:
        return Path(env)
    guess = ROOT.parent / "shared" / "data"
    return guess if guess.is_dir() else None


@pytest.fixture
def results_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PTLIB_RESULTS_DIR so unit tests never touch the real results/."""
    monkeypatch.setenv("PTLIB_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread, and do not slow down when the CPU is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
