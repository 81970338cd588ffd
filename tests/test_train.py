"""Tests of ptlib.train: the schedule, the optimizer groups, budgets, checkpoints and exact resume."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ptlib import train

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


class _Net(nn.Module):
    """A small regression net with dropout, so resume must restore the RNG to be exact."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(x)).squeeze(-1)


def _batch_fn(step: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(16, 8, generator=g)
    return {"x": x, "y": x[:, 0] - 2 * x[:, 1]}


def _loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return ((model(batch["x"]) - batch["y"]) ** 2).mean()


def _eval_fn(model: nn.Module) -> dict[str, float]:
    with torch.no_grad():
        return {"val_loss": float(_loss_fn(model, _batch_fn(10_000)))}


def _config(tmp: Path | None = None, **kw) -> train.TrainConfig:
    base = dict(
        max_steps=40, lr=1e-2, warmup_steps=5, device="cpu", progress=False, bf16=False, seed=3
    )
    if tmp is not None:
        base.update(checkpoint_dir=tmp, checkpoint_every=10)
    base.update(kw)
    return train.TrainConfig(**base)


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_config_needs_a_budget_and_a_known_schedule() -> None:
    with pytest.raises(ValueError, match="budget"):
        train.TrainConfig()
    with pytest.raises(ValueError, match="schedule"):
        train.TrainConfig(max_steps=1, schedule="exponential")
    assert train.TrainConfig(max_steps=1, betas=[0.9, 0.99]).betas == (0.9, 0.99)


def test_lr_factor_warms_up_then_decays_to_zero() -> None:
    cfg = train.TrainConfig(max_steps=110, warmup_steps=10, schedule="linear")
    factors = [train.lr_factor(cfg, s) for s in range(110)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0)
    assert factors[60] == pytest.approx(0.5)
    assert np.all(np.diff(factors[10:]) < 0) and train.lr_factor(cfg, 110) == 0.0
    cos = train.TrainConfig(max_steps=110, warmup_steps=10, schedule="cosine")
    assert train.lr_factor(cos, 60) == pytest.approx(0.5)
    assert train.lr_factor(cos, 35) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    const = train.TrainConfig(max_steps=110, warmup_steps=10, schedule="constant")
    assert train.lr_factor(const, 100) == 1.0
    # a pure time budget decays with the fraction of the time used
    timed = train.TrainConfig(max_seconds=100.0, warmup_steps=2)
    assert train.lr_factor(timed, 50, seconds=25.0) == pytest.approx(0.75)
    assert train.lr_factor(timed, 50, seconds=150.0) == 0.0


def test_optimizer_decays_matrices_only_and_counts_tied_weights_once() -> None:
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10)
    head.weight = emb.weight  # tied
    model = nn.ModuleDict({"emb": emb, "head": head, "norm": nn.LayerNorm(4)})
    opt = train.make_optimizer(model, train.TrainConfig(max_steps=1, weight_decay=0.1))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) == 1  # the one tied matrix
    assert all(p.ndim == 1 for p in no_decay["params"]) and len(no_decay["params"]) == 3


def test_to_device_moves_nested_tensors_and_keeps_the_rest() -> None:
    batch = {"a": torch.ones(2), "b": [torch.zeros(1), "text"], "c": (3, torch.ones(1))}
    moved = train.to_device(batch, torch.device("cpu"))
    assert moved["b"][1] == "text" and moved["c"][0] == 3
    assert torch.equal(moved["a"], batch["a"]) and isinstance(moved["c"], tuple)


def test_fit_learns_and_returns_history(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Net()
    before = _eval_fn(model)["val_loss"]
    hist = train.fit(model, _loss_fn, _batch_fn, _config(max_steps=150, eval_every=50), _eval_fn)
    assert list(hist.columns[:4]) == ["step", "seconds", "train_loss", "lr"]
    assert hist["step"].tolist() == list(range(1, 151))
    assert hist["val_loss"].notna().sum() == 3  # steps 50, 100, 150
    assert hist["val_loss"].iloc[-1] < 0.5 * before
    assert hist["lr"].iloc[0] == pytest.approx(1e-2 / 5)
    assert hist["lr"].max() == pytest.approx(1e-2)
    assert hist["seconds"].is_monotonic_increasing
    assert model.training  # left in train mode


def test_fit_stops_at_a_time_budget(tmp_path: Path) -> None:
    def slow_loss(model: nn.Module, batch: dict) -> torch.Tensor:
        time.sleep(0.02)
        return _loss_fn(model, batch)

    cfg = _config(tmp_path, max_steps=None, max_seconds=1.0, checkpoint_every=0, warmup_steps=0)
    hist = train.fit(_Net(), slow_loss, _batch_fn, cfg, _eval_fn)
    assert 2 <= len(hist) <= 50
    assert (hist["seconds"].iloc[:-1] < 1.0).all()  # no step starts after the budget is used up
    # the schedule follows the fraction of the time used: it only decreases
    assert hist["lr"].is_monotonic_decreasing and hist["lr"].iloc[-1] < hist["lr"].iloc[0]
    assert not math.isnan(hist["val_loss"].iloc[-1])  # evaluated at the end
    assert train.checkpoint_step(train.list_checkpoints(tmp_path)[-1]) == len(hist)


def test_on_step_can_stop_training_cleanly(tmp_path: Path) -> None:
    hist = train.fit(_Net(), _loss_fn, _batch_fn, _config(tmp_path), on_step=lambda s, _: s == 7)
    assert len(hist) == 7
    assert [train.checkpoint_step(p) for p in train.list_checkpoints(tmp_path)] == [7]


def test_checkpoints_are_complete_and_pruned(tmp_path: Path) -> None:
    train.fit(_Net(), _loss_fn, _batch_fn, _config(tmp_path, keep_checkpoints=2))
    ckpts = train.list_checkpoints(tmp_path)
    assert [train.checkpoint_step(p) for p in ckpts] == [30, 40]
    assert not list(tmp_path.glob(".tmp-*"))  # no temporary folders left behind
    (ckpts[-1] / "optimizer.safetensors").unlink()  # an incomplete folder is not a checkpoint
    assert [train.checkpoint_step(p) for p in train.list_checkpoints(tmp_path)] == [30]
    model = train.load_weights(_Net(), ckpts[0])
    assert isinstance(model, _Net)


def test_resume_after_a_crash_gives_the_same_weights_and_losses(tmp_path: Path) -> None:
    torch.manual_seed(0)
    init = _Net()
    state0 = _weights(init)

    reference = _Net()
    reference.load_state_dict(state0)
    ref_hist = train.fit(reference, _loss_fn, _batch_fn, _config(tmp_path / "ref"), _eval_fn)

    def crash(step: int, loss: float) -> None:
        if step == 25:  # after the checkpoint at 20: steps 21-25 are lost and redone
            raise KeyboardInterrupt("simulated crash")

    model = _Net()
    model.load_state_dict(state0)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, _loss_fn, _batch_fn, _config(tmp_path / "run"), _eval_fn, on_step=crash)
    assert train.checkpoint_step(train.list_checkpoints(tmp_path / "run")[-1]) == 20

    resumed = _Net()  # a fresh process would start from a fresh model
    hist = train.fit(resumed, _loss_fn, _batch_fn, _config(tmp_path / "run"), _eval_fn)
    for key, value in _weights(reference).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    pd.testing.assert_series_equal(hist["train_loss"], ref_hist["train_loss"])
    pd.testing.assert_series_equal(hist["val_loss"], ref_hist["val_loss"])
    # resuming a finished run trains nothing more
    again = train.fit(_Net(), _loss_fn, _batch_fn, _config(tmp_path / "run"), _eval_fn)
    pd.testing.assert_series_equal(again["train_loss"], ref_hist["train_loss"])
    fresh = train.fit(_Net(), _loss_fn, _batch_fn, _config(tmp_path / "run"), resume=False)
    assert len(fresh) == 40  # resume=False starts over


_SCRIPT = textwrap.dedent(
    """
    import sys, time, torch
    sys.path.insert(0, {tests!r})
    from test_train import _Net, _batch_fn, _loss_fn, _config
    from ptlib import train
    torch.manual_seed(0)
    model = _Net()
    slow = sys.argv[1] == "slow"

    def on_step(step, loss):
        if slow and step == 23:
            print("READY", flush=True)
            time.sleep(60)  # the parent kills us here

    hist = train.fit(model, _loss_fn, _batch_fn, _config({ckpt!r}), on_step=on_step)
    torch.save(model.state_dict(), {out!r})
    hist.to_csv({out!r} + ".csv", index=False)
    """
)


def _script(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.py"
    code = _SCRIPT.format(
        tests=str(ROOT / "tests"), ckpt=str(tmp / f"ckpt_{name}"), out=str(tmp / f"{name}.pt")
    )
    path.write_text(code)
    return path


def test_a_killed_process_resumes_to_the_same_result(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = _script(tmp_path, "ref")
    subprocess.run([sys.executable, ref, "fast"], check=True, env=env, timeout=120)

    run = _script(tmp_path, "run")
    proc = subprocess.Popen(
        [sys.executable, run, "slow"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "run.pt").exists()
    subprocess.run([sys.executable, run, "fast"], check=True, env=env, timeout=120)

    a, b = torch.load(tmp_path / "ref.pt"), torch.load(tmp_path / "run.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha, hb = pd.read_csv(tmp_path / "ref.pt.csv"), pd.read_csv(tmp_path / "run.pt.csv")
    assert ha["train_loss"].tolist() == hb["train_loss"].tolist()


def test_seconds_per_step_leaves_model_and_rng_untouched() -> None:
    torch.manual_seed(5)
    model = _Net()
    before = _weights(model)
    state = torch.get_rng_state()
    seconds = train.seconds_per_step(model, _loss_fn, _batch_fn, _config(), steps=3, warmup=1)
    assert 0 < seconds < 5
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_seconds_per_step_ignores_a_step_slowed_down_by_another_program() -> None:
    import time

    def slow_once(step: int) -> dict:
        if step == 4:  # one measured step waits, as if another program took the CPU
            time.sleep(1.0)
        return _batch_fn(step)

    seconds = train.seconds_per_step(_Net(), _loss_fn, slow_once, _config(), steps=5, warmup=1)
    assert seconds < 0.2  # the mean would be above 0.2


def test_checkpoints_hold_no_pickles(tmp_path: Path) -> None:
    train.fit(_Net(), _loss_fn, _batch_fn, _config(tmp_path, max_steps=10))
    (ckpt,) = train.list_checkpoints(tmp_path)
    files = sorted(f.name for f in ckpt.iterdir() if not f.name.startswith("."))
    assert files == [
        "history.csv",
        "manifest.json",
        "model.safetensors",
        "optimizer.safetensors",
        "rng.safetensors",
        "state.json",
    ]
    for f in ckpt.iterdir():  # neither a pickle (protocol byte 0x80) nor torch.save's zip
        assert f.read_bytes()[:2] not in (b"PK",) and f.read_bytes()[:1] != b"\x80", f.name


def test_resume_skips_a_damaged_checkpoint_and_stays_exact(tmp_path: Path) -> None:
    reference = _Net()
    state0 = _weights(reference)
    ref_hist = train.fit(reference, _loss_fn, _batch_fn, _config(tmp_path / "ref"))
    model = _Net()
    model.load_state_dict(state0)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, _loss_fn, _batch_fn, _config(tmp_path / "run"), on_step=_crash_at(35))
    (tmp_path / "run" / "step-00000030" / "state.json").write_text("{", encoding="utf-8")
    resumed = _Net()
    with pytest.warns(UserWarning, match=r"resuming from step-00000020.*step-00000030"):
        hist = train.fit(resumed, _loss_fn, _batch_fn, _config(tmp_path / "run"))
    for key, value in _weights(reference).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    pd.testing.assert_series_equal(hist["train_loss"], ref_hist["train_loss"])


def _crash_at(when: int):
    def crash(step: int, loss: float) -> None:
        if step == when:
            raise KeyboardInterrupt("simulated crash")

    return crash
