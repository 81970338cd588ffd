import contextlib

import numpy as np
import pytest
import torch

from ptlib import runtime


def _draw() -> tuple[float, float, float]:
    import random

    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_repeats_every_generator():
    runtime.seed_everything(123)
    first = _draw()
    runtime.seed_everything(123)
    assert _draw() == first
    runtime.seed_everything(124)
    assert _draw() != first


def test_seed_everything_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed must be at least 0, got -1"):
        runtime.seed_everything(-1)
    with pytest.raises(ValueError, match="seed must be below 2\\*\\*64"):
        runtime.seed_everything(2**64)
    for bad in ("x", 1.5, True, None):
        with pytest.raises(TypeError, match="seed must be a whole number"):
            runtime.seed_everything(bad)
    runtime.seed_everything(np.int64(3))  # a NumPy integer is a whole number too
    runtime.seed_everything(2**64 - 1)  # PyTorch's largest seed


def test_get_device_auto_and_explicit(monkeypatch):
    monkeypatch.delenv("PTLIB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device().type == "cpu"
    assert runtime.get_device("cpu").type == "cpu"
    monkeypatch.setenv("PTLIB_DEVICE", "cpu")
    assert runtime.get_device("auto").type == "cpu"


def test_get_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("PTLIB_DEVICE", raising=False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.get_device().type == "mps"


def test_get_device_missing_cuda_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="Change runtime type"):
        runtime.get_device("cuda")
    with pytest.raises(ValueError, match="choose one of"):
        runtime.get_device("tpu")
    with pytest.raises(TypeError, match="prefer must be a device name"):
        runtime.get_device(0)  # type: ignore[arg-type]


def test_get_device_names_a_bad_ptlib_device(monkeypatch):
    monkeypatch.setenv("PTLIB_DEVICE", "gpu")
    for prefer in (None, "auto"):
        with pytest.raises(ValueError, match="PTLIB_DEVICE='gpu'.*'auto', 'cuda', 'mps', 'cpu'"):
            runtime.get_device(prefer)
    assert runtime.get_device("cpu").type == "cpu"  # an explicit choice wins
    monkeypatch.setenv("PTLIB_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="PTLIB_DEVICE='cuda'.*no CUDA GPU.*unset PTLIB_DEVICE"):
        runtime.get_device()


def test_autocast_uses_bf16_only_where_supported(monkeypatch):
    x = torch.randn(4, 8)
    w = torch.randn(8, 3)
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    with runtime.autocast("cpu"):
        assert (x @ w).dtype == torch.bfloat16
    with runtime.autocast("cpu", enabled=False):
        assert (x @ w).dtype == torch.float32
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: False)
    ctx = runtime.autocast("cpu")
    assert isinstance(ctx, contextlib.nullcontext)
    with ctx:
        assert (x @ w).dtype == torch.float32


def test_bf16_supported_is_false_on_meta_device():
    assert runtime.bf16_supported("meta") is False
    assert isinstance(runtime.bf16_supported("cpu"), bool)
    with pytest.raises(ValueError, match="device='gpu' is not a device PyTorch knows"):
        runtime.bf16_supported("gpu")
    with pytest.raises(TypeError, match="device must be a torch.device"):
        runtime.autocast(None)  # type: ignore[arg-type]


def test_in_colab_and_offline_detection(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert runtime.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_2026")
    assert runtime.in_colab() is True
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert runtime.is_offline() is False
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert runtime.is_offline() is True
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "true")
    assert runtime.is_offline() is True


def test_stopwatch_measures_the_block(monkeypatch):
    clock = iter([10.0, 12.5])
    monkeypatch.setattr(runtime.time, "perf_counter", lambda: next(clock))
    with runtime.Stopwatch() as sw:
        pass
    assert sw.seconds == pytest.approx(2.5)
    assert sw.seconds == pytest.approx(2.5)  # frozen after the block
    assert runtime.Stopwatch().seconds == 0.0


def test_set_threads_sets_torch_and_blas_threads():
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        assert runtime.set_threads(None) == 1  # None keeps what is set
    finally:
        runtime.set_threads(before)


@pytest.mark.parametrize("bad", [0, -1])
def test_set_threads_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="threads must be at least 1"):
        runtime.set_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", True])
def test_set_threads_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="threads must be a whole number"):
        runtime.set_threads(bad)


def test_seed_everything_turns_on_deterministic_algorithms():
    runtime.seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()


def test_latency_ms_is_the_median_of_one_text_at_a_time() -> None:
    calls: list[list[str]] = []
    ms = runtime.latency_ms(calls.append, ["a", "b", "c", "d"], warmup=2)
    assert calls == [["a"], ["b"], ["a"], ["b"], ["c"], ["d"]]  # two warm-up calls, then timed
    assert 0 <= ms < 1000
    with pytest.raises(ValueError, match="empty"):
        runtime.latency_ms(calls.append, [])
    with pytest.raises(TypeError, match="not one string"):
        runtime.latency_ms(calls.append, "a text")
    with pytest.raises(ValueError, match="warmup must be at least 0"):
        runtime.latency_ms(calls.append, ["a"], warmup=-1)
    with pytest.raises(TypeError, match="predict must be a function"):
        runtime.latency_ms("model", ["a"])  # type: ignore[arg-type]
