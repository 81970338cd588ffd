"""A small, generic training loop with atomic checkpoints and exact resume.

:func:`fit` trains any ``nn.Module`` given two functions: ``batch_fn(step)`` returns the batch of
a step (deterministic in the step and the seed), and ``loss_fn(model, batch)`` returns the scalar
loss. It runs AdamW with warm-up and a decaying learning rate, gradient clipping, bf16 autocast
where the hardware supports it, a progress bar, periodic evaluation, and a step and/or
wall-clock budget. Checkpoints are written atomically (a temporary folder, then ``os.replace``):
the weights as safetensors, plus the optimizer, the schedule position, every random-number
generator and the history, so a run that is killed resumes where its last checkpoint left it and
ends with the same weights and losses as a run that was never interrupted. A checkpoint holds no
pickle (tensors in safetensors, the rest in JSON), so loading one runs no code; a damaged newest
checkpoint is skipped, with a warning, for the newest intact one.

Introduced in chapter 3 (masked language modelling); chapter 4 trains SimCLR with it.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn
from tqdm.auto import tqdm

from ptlib import checks, runtime, storage
from ptlib.checksums import MANIFEST, verify_manifest, write_manifest

SCHEDULES = ("linear", "cosine", "constant")
_CKPT_RE = re.compile(r"^step-(\d{8})$")
# No pickles: tensors in safetensors, everything else (schedule position, config, optimizer
# settings, the Python and NumPy random states) in state.json.
_CKPT_FILES = (
    "model.safetensors",
    "optimizer.safetensors",
    "rng.safetensors",
    "state.json",
    "history.csv",
    MANIFEST,  # the sha256 of the files above: a flipped byte is found before it is loaded
)
_OLD_RNG_FILE = "rng.pt"  # a pickle, written before issue 17: never loaded
# What reading a damaged checkpoint raises (truncated, edited, half-copied files).
_DAMAGED = (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError)


@dataclass
class TrainConfig:
    """What :func:`fit` does: its budget, optimizer, schedule, precision and checkpoints.

    Budget: training stops after ``max_steps`` optimizer steps or ``max_seconds`` of wall-clock
    time (training, evaluation and checkpoints included, summed over resumed runs), whichever
    comes first; at least one of them must be set.

    Schedule: ``warmup_steps`` of linear warm-up from 0 to ``lr``, then ``"linear"`` or
    ``"cosine"`` decay to 0 at the end of the budget, or ``"constant"``. The end of the budget
    is ``max_steps`` when it is set. With only ``max_seconds`` no step count is known in
    advance, so the decay runs on the *fraction of the time budget used* (as in budget training,
    Geiping & Goldstein 2023): the learning rate reaches 0 exactly when time runs out, on any
    machine, without estimating a step count. Such a run is not bit-for-bit repeatable (how
    many steps fit in the time depends on the machine's speed). For a repeatable run, time a
    few steps and set ``max_steps`` to the estimated number of steps the budget allows
    (``max_seconds / seconds_per_step``); ``max_seconds`` can stay set as a safety stop.

    AdamW's ``weight_decay`` applies to weight matrices only, not to biases, LayerNorm or
    embeddings' 1-D parameters. ``bf16`` runs the loss under :func:`ptlib.runtime.autocast`.
    ``eval_every``: call ``eval_fn`` every that many steps (0: only at the end).
    ``checkpoint_every``: write a checkpoint every that many steps (0: only at the end) into
    ``checkpoint_dir`` (no checkpoints when it is ``None``). ``keep_checkpoints``: how many of
    the newest checkpoints to keep (0: all of them).

    Introduced in chapter 3 (masked language modelling).
    """

    max_steps: int | None = None
    max_seconds: float | None = None
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = 0
    schedule: str = "linear"
    grad_clip: float | None = 1.0
    bf16: bool = True
    eval_every: int = 0
    checkpoint_every: int = 0
    checkpoint_dir: str | Path | None = None
    keep_checkpoints: int = 0
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.max_steps is None and self.max_seconds is None:
            raise ValueError("set max_steps and/or max_seconds: training needs a budget")
        if self.max_steps is not None:
            checks.positive_int(self.max_steps, "max_steps")
        if self.max_seconds is not None:
            checks.finite_number(self.max_seconds, "max_seconds", low=0, low_open=True)
        checks.finite_number(self.lr, "lr", low=0, low_open=True)
        checks.finite_number(self.weight_decay, "weight_decay", low=0)
        if isinstance(self.betas, str) or len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers (beta1, beta2), got {self.betas!r}")
        for i, beta in enumerate(self.betas):
            if checks.finite_number(beta, f"betas[{i}]", low=0) >= 1:
                raise ValueError(f"betas[{i}] must be below 1, got {beta}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.grad_clip is not None:
            checks.finite_number(self.grad_clip, "grad_clip", low=0, low_open=True)
        for name in ("warmup_steps", "eval_every", "checkpoint_every", "keep_checkpoints", "seed"):
            checks.positive_int(getattr(self, name), name, minimum=0)
        for name in ("bf16", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.checkpoint_dir is None and (self.checkpoint_every or self.keep_checkpoints):
            raise ValueError(
                "checkpoint_every/keep_checkpoints are set but checkpoint_dir is None: nothing "
                "would be saved; give checkpoint_dir a folder"
            )
        if self.max_steps is not None and self.warmup_steps > self.max_steps:
            warnings.warn(
                f"warmup_steps ({self.warmup_steps}) > max_steps ({self.max_steps}): the "
                f"learning rate only reaches {self.max_steps / self.warmup_steps:.0%} of lr and "
                "never decays",
                UserWarning,
                stacklevel=3,
            )
        self.betas = tuple(self.betas)  # a list from JSON becomes a tuple again


def lr_factor(config: TrainConfig, step: int, seconds: float = 0.0) -> float:
    """The multiplier of ``config.lr`` for optimizer step ``step`` (0-based).

    ``seconds`` (training time used so far) is only needed for a pure time budget, where the
    decay follows the fraction of ``max_seconds`` used (see :class:`TrainConfig`).
    Introduced in chapter 3 (masked language modelling).
    """
    _check_config(config)
    checks.positive_int(step, "step", minimum=0)
    checks.finite_number(seconds, "seconds", low=0)
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    if config.max_steps is not None:
        span = max(config.max_steps - config.warmup_steps, 1)
        progress = (step - config.warmup_steps) / span
    else:
        progress = seconds / config.max_seconds
    progress = min(max(progress, 0.0), 1.0)
    if config.schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices (``ndim >= 2``) and none on biases and norms.

    Introduced in chapter 3 (masked language modelling).
    """
    _check_model(model)
    _check_config(config)
    params = [p for p in model.parameters() if p.requires_grad]
    seen: set[int] = set()
    decay, no_decay = [], []
    for p in params:
        if id(p) in seen:  # tied weights appear once
            continue
        seen.add(id(p))
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)


def _check_config(config: Any) -> None:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a ptlib.train.TrainConfig, got {type(config).__name__}")


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            f"model ({type(model).__name__}) has no trainable parameters: there is nothing to "
            "train; unfreeze some (requires_grad_(True))"
        )


def _check_callable(fn: Any, name: str, optional: bool = False) -> None:
    if not callable(fn) and not (optional and fn is None):
        raise TypeError(f"{name} must be a function, got {type(fn).__name__}")


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) dict, list or tuple to ``device``; leave the rest.

    Introduced in chapter 3 (masked language modelling).
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return type(batch)({k: to_device(v, device) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _optimizer_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    batch: Any,
    config: TrainConfig,
    device: torch.device,
) -> torch.Tensor:
    """One training step as :func:`fit` and :func:`seconds_per_step` take it: the loss under
    autocast, backward, gradient clipping, the optimizer's update. Returns the loss."""
    batch = to_device(batch, device)
    with runtime.autocast(device, enabled=config.bf16):
        loss = loss_fn(model, batch)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"loss_fn must return a scalar tensor (one number), got {shape}")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return loss


def seconds_per_step(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    batch_fn: Callable[[int], Any],
    config: TrainConfig,
    steps: int = 10,
    warmup: int = 3,
) -> float:
    """Measure the wall-clock seconds of one training step, on a copy of ``model``.

    Runs ``warmup + steps`` steps (forward, backward, clipping, AdamW) exactly as :func:`fit`
    would, on a deep copy, and returns the median time of the last ``steps``: a step slowed down
    by another program does not shrink a whole run planned from it. ``model`` and every
    random-number generator are left as they were. This is how a time budget becomes a step
    count (``max_steps = budget / seconds_per_step``), which keeps the run repeatable.
    Introduced in chapter 3 (masked language modelling).
    """
    _check_model(model)
    _check_callable(loss_fn, "loss_fn")
    _check_callable(batch_fn, "batch_fn")
    _check_config(config)
    checks.positive_int(steps, "steps")
    checks.positive_int(warmup, "warmup", minimum=0)
    device = runtime.get_device(config.device)
    rng = _rng_state()
    try:
        clone = copy.deepcopy(model).to(device).train()
        optimizer = make_optimizer(clone, config)
        times = []
        for step in range(warmup + steps):
            t0 = time.perf_counter()
            loss = _optimizer_step(clone, optimizer, loss_fn, batch_fn(step), config, device)
            float(loss.detach())  # wait for the device
            times.append(time.perf_counter() - t0)
    finally:
        _set_rng_state(rng)
    del clone, optimizer
    return float(np.median(times[warmup:]))


# -- checkpoints --------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _rng_files(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``state`` (:func:`_rng_state`) without pickles: torch's states as uint8 tensors (for
    safetensors), Python's and NumPy's as lists (for JSON)."""
    tensors = {"torch": state["torch"]}
    tensors.update({f"cuda.{i}": s for i, s in enumerate(state.get("cuda", []))})
    version, internal, gauss = state["python"]
    kind, keys, pos, has_gauss, cached = state["numpy"]
    as_json = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    return tensors, as_json


def _rng_from_files(tensors: dict[str, torch.Tensor], as_json: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_rng_files`."""
    version, internal, gauss = as_json["python"]
    kind, keys, pos, has_gauss, cached = as_json["numpy"]
    state = {
        "python": (version, tuple(internal), gauss),
        "numpy": (kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached),
        "torch": tensors["torch"],
    }
    cuda = [tensors[f"cuda.{i}"] for i in range(len(tensors) - 1)]
    if cuda:
        state["cuda"] = cuda
    return state


def list_checkpoints(checkpoint_dir: str | Path) -> list[Path]:
    """The complete checkpoints in ``checkpoint_dir`` (folders ``step-00000123``), oldest first.

    A folder that lacks one of the checkpoint files (for example, copied by hand and cut short,
    or written in the old format with pickles, before issue 17) is skipped; an interrupted write
    never leaves such a folder, because a checkpoint only appears under its final name, by an
    atomic ``os.replace``, once it is complete. A missing ``checkpoint_dir`` has none.
    Introduced in chapter 3 (masked language modelling).
    """
    return [p for p in _checkpoint_folders(checkpoint_dir) if _is_complete(p)]


def _checkpoint_folders(checkpoint_dir: str | Path) -> list[Path]:
    """Every folder named like a checkpoint in ``checkpoint_dir``, complete or not, oldest first."""
    folder = Path(checkpoint_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint_dir {folder} is a file, not a folder: give a folder path")
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _CKPT_RE.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def _is_complete(path: Path) -> bool:
    return all((path / f).is_file() for f in _CKPT_FILES)


def checkpoint_step(path: str | Path) -> int:
    """The optimizer step a checkpoint folder was written after.

    Introduced in chapter 3 (masked language modelling).
    """
    match = _CKPT_RE.match(Path(path).name)
    if not match:
        raise ValueError(f"{path} is not a checkpoint folder (step-NNNNNNNN)")
    return int(match.group(1))


def load_weights(model: nn.Module, checkpoint: str | Path) -> nn.Module:
    """Load the weights of a checkpoint written by :func:`fit` into ``model`` (in place).

    A missing weights file raises ``FileNotFoundError``, a damaged one (truncated, edited) a
    ``ValueError``, both naming the file; a checkpoint with a ``manifest.json`` is checked
    against it first (:class:`ptlib.checksums.ManifestError` for a changed byte).
    Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    path = Path(checkpoint) / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: {checkpoint} is not a checkpoint written by ptlib.train.fit "
            "(see ptlib.train.list_checkpoints)"
        )
    if (Path(checkpoint) / MANIFEST).is_file():
        verify_manifest(checkpoint)
    try:
        load_model(model, str(path), device=_model_device(model))
    except SafetensorError as err:
        raise ValueError(
            f"{path} is damaged ({err}): use another checkpoint (ptlib.train.list_checkpoints)"
        ) from None
    return model


def _model_device(model: nn.Module) -> str:
    try:
        return str(next(model.parameters()).device)
    except StopIteration:
        return "cpu"


def _save_checkpoint(
    folder: Path,
    step: int,
    seconds: float,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    history: list[dict[str, float]],
    keep: int,
) -> Path:
    final = folder / f"step-{step:08d}"
    optim = optimizer.state_dict()
    rng_tensors, rng_json = _rng_files(_rng_state())
    with storage.atomic_dir(final) as tmp:  # the same step again (a rerun) replaces it
        save_model(model, str(tmp / "model.safetensors"))
        optim_tensors = {
            f"{i}.{name}": value.detach().cpu().contiguous()
            for i, state in optim["state"].items()
            for name, value in state.items()
        }
        save_file(optim_tensors, str(tmp / "optimizer.safetensors"))
        save_file(rng_tensors, str(tmp / "rng.safetensors"))
        pd.DataFrame(history).to_csv(tmp / "history.csv", index=False)
        config_json = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
        state = {
            "step": step,
            "seconds": seconds,
            "config": config_json,
            "optimizer_groups": optim["param_groups"],
            "rng": rng_json,
        }
        (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        write_manifest(tmp, created_by="ptlib.train.fit", licence="that of the training data")
    if keep:
        for old in list_checkpoints(folder)[:-keep]:
            try:
                storage.check_replaceable(None, old)  # only what ptlib wrote is deleted
            except FileExistsError as err:
                warnings.warn(f"kept the old checkpoint: {err}", UserWarning, stacklevel=3)
                continue
            shutil.rmtree(old, ignore_errors=True)
    return final


def _load_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, float, list[dict[str, float]]]:
    """Restore a checkpoint into ``model`` and ``optimizer`` and set every random state; return
    the step, the seconds and the history. Every file is read (and fails, if damaged) before
    anything is changed; nothing is unpickled."""
    if (path / _OLD_RNG_FILE).exists():
        raise ValueError(
            f"{path} is an old-format checkpoint: its random states are in {_OLD_RNG_FILE}, a "
            "pickle, which ptlib no longer loads (a crafted pickle runs code)"
        )
    missing = [f for f in _CKPT_FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} lacks {', '.join(missing)}")
    verify_manifest(path)
    state = checks.read_json(path / "state.json", "checkpoint state")
    optim_tensors = _read(path / "optimizer.safetensors", load_file)
    rng = _rng_from_files(_read(path / "rng.safetensors", load_file), state["rng"])
    history_file = path / "history.csv"
    history = (
        _read(history_file, pd.read_csv).to_dict("records") if history_file.stat().st_size else []
    )
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in group.items()}
        for group in state["optimizer_groups"]
    ]
    optim_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in optim_tensors.items():
        index, name = key.split(".", 1)
        optim_state.setdefault(int(index), {})[name] = value
    load_weights(model, path)
    optimizer.load_state_dict({"state": optim_state, "param_groups": groups})
    _set_rng_state(rng)
    return int(state["step"]), float(state["seconds"]), history


def _read(path: Path, reader: Callable[[str], Any]) -> Any:
    try:
        return reader(str(path))
    except _DAMAGED as err:
        raise ValueError(f"{path} is damaged ({type(err).__name__}: {err})") from None


def _resume(
    ckpt_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, float, list[dict[str, float]]] | None:
    """Load the newest checkpoint in ``ckpt_dir`` that reads back intact (None: there is none
    at all). Newer ones that are damaged are skipped with a warning that names them; when
    every one is damaged, ``ValueError``."""
    problems = []
    for path in reversed(_checkpoint_folders(ckpt_dir)):
        try:
            loaded = _load_checkpoint(path, model, optimizer)
        except _DAMAGED as err:
            problems.append(str(err))
            continue
        if problems:
            warnings.warn(
                f"resuming from {path.name}, the newest intact checkpoint; skipped the newer "
                f"one(s), which cannot be used: {'; '.join(problems)}",
                UserWarning,
                stacklevel=3,
            )
        return loaded
    if problems:
        raise ValueError(
            f"no checkpoint in {ckpt_dir} can be resumed from: {'; '.join(problems)}. Delete "
            "them to start over, or call fit(..., resume=False)"
        )
    return None


def _check_writable(folder: Path) -> None:
    """Fail before training, not at the first checkpoint: ``folder`` must be a writable folder."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"config.checkpoint_dir {folder} is a file, not a folder: give a folder path "
            "(each checkpoint is a folder step-NNNNNNNN inside it)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(
            f"config.checkpoint_dir {folder} cannot be written ({err}): choose a folder you can "
            "write to"
        ) from None


# -- epoch batching ------------------------------------------------------------------------------


class EpochOrder:
    """Which items step ``s`` takes: every epoch visits the ``n`` items in a new random order
    (a permutation that depends only on ``seed * stride + epoch``) in batches of ``batch_size``;
    the incomplete last batch of an epoch is dropped. The one epoch shuffler of ptlib
    (:class:`EpochBatches`, :class:`ptlib.text.MLMBatches`).
    Introduced in chapter 3 (masked language modelling).
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, stride: int = 7919) -> None:
        checks.positive_int(n, "n")
        checks.positive_int(batch_size, "batch_size")
        checks.positive_int(seed, "seed", minimum=0)
        checks.positive_int(stride, "stride")
        if n < batch_size:
            raise ValueError(
                f"batch_size ({batch_size}) is larger than the number of items ({n}): lower it"
            )
        self.n, self.batch_size, self.seed, self.stride = n, batch_size, seed, stride
        self.per_epoch = n // batch_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        """The item indices of step ``step``."""
        checks.positive_int(step, "step", minimum=0)
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * self.stride + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=gen)
        return self._perm[i * self.batch_size : (i + 1) * self.batch_size]


class EpochBatches:
    """``batch_fn`` for :func:`fit`: step -> a batch of images (and labels).

    Every epoch visits the ``N`` images in a new random order (a permutation that depends only on
    the seed and the epoch); each step takes the next ``batch_size`` of them, and the incomplete
    last batch of an epoch is dropped. A batch is ``(images, step)``: uint8 images
    ``[B, H, W, C]`` and the step as a tensor, from which the loss draws the step's augmentations
    (:func:`step_generator`); with ``labels`` it is ``(images, labels, step)``.
    With ``batch_size > N`` every batch is the whole set. Introduced in chapter 4 (contrastive
    learning).
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        batch_size: int,
        seed: int = 0,
        labels: np.ndarray | torch.Tensor | None = None,
    ) -> None:
        self.images = torch.as_tensor(images)
        if self.images.ndim == 0 or len(self.images) == 0:
            raise ValueError(f"images is empty (shape {tuple(self.images.shape)}): give images")
        checks.positive_int(batch_size, "batch_size")
        self.labels = None if labels is None else _class_ids(labels, "labels")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(
                f"images and labels must have the same length, got {len(self.images)} images "
                f"and {len(self.labels)} labels"
            )
        self.batch_size = min(batch_size, len(self.images))
        self.seed = seed
        self.order = EpochOrder(len(self.images), self.batch_size, seed, stride=7919)
        self.per_epoch = self.order.per_epoch

    def indices(self, step: int) -> torch.Tensor:
        """The image indices of step ``step``."""
        return self.order.indices(step)

    def __call__(self, step: int) -> tuple[torch.Tensor, ...]:
        idx = self.indices(step)
        step_t = torch.tensor(step)
        if self.labels is None:
            return self.images[idx], step_t
        return self.images[idx], self.labels[idx], step_t


def _class_ids(labels: Any, name: str) -> torch.Tensor:
    """``labels`` as a 1-D long tensor of whole numbers >= 0; NaN, fractions and negative
    values raise ``ValueError`` (``.long()`` would turn them into wrong classes silently)."""
    y = torch.as_tensor(labels)
    if y.ndim != 1:
        raise ValueError(f"{name} must be one class id per image (1-D), got shape {tuple(y.shape)}")
    if y.is_floating_point():
        bad = ~torch.isfinite(y) | (y != y.round())
        if bad.any():
            raise ValueError(
                f"{name} holds {int(bad.sum())} value(s) that are not whole numbers (NaN or "
                f"fractions, first {y[bad][0].item()}): give integer class ids"
            )
    if len(y) and int(y.min()) < 0:
        raise ValueError(f"{name} must be class ids >= 0, got {int(y.min())}")
    return y.long()


# -- the loop -----------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    batch_fn: Callable[[int], Any],
    config: TrainConfig,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    resume: bool = True,
    on_step: Callable[[int, float], bool | None] | None = None,
) -> pd.DataFrame:
    """Train ``model`` in place and return its history, one row per optimizer step.

    - ``batch_fn(step)`` returns the batch of step ``step`` (0-based); it must depend only on the
      step and a seed, which is what makes an exact resume simple. Tensors in the batch (also in
      dicts, lists and tuples) are moved to the device.
    - ``loss_fn(model, batch)`` returns the scalar loss; it runs under bf16 autocast when
      ``config.bf16`` and the device supports it.
    - ``eval_fn(model)`` returns a dict of numbers (e.g. ``{"val_loss": 4.2}``); it runs every
      ``config.eval_every`` steps and at the end, in ``eval`` mode, without gradients, under the
      same autocast, and its keys become columns of the history.
    - ``on_step(step, loss)`` is called after every step with the number of steps done and the
      step's loss; returning ``True`` stops training cleanly (a checkpoint is written).
    - ``resume``: continue from the newest intact checkpoint in ``config.checkpoint_dir``;
      newer ones that are damaged (or in the old format with pickles) are skipped with a
      warning that names them, and ``ValueError`` says so when none can be used. A run whose
      checkpoint already reached the budget returns its history without training.
      ``config.checkpoint_dir`` is checked (a writable folder) before training starts.

    The model is moved to ``config.device`` (``"auto"``: :func:`ptlib.runtime.get_device`) and
    left there, in ``train`` mode. Seeds: :func:`ptlib.runtime.seed_everything` (``config.seed``)
    at the start of a fresh run; a resumed run restores every random-number generator instead.

    History columns: ``step`` (steps done), ``seconds`` (wall-clock time since the start,
    summed over resumes), ``train_loss``, ``lr`` (the learning rate of that step), and one
    column per key of ``eval_fn`` (NaN where it did not run).
    Introduced in chapter 3 (masked language modelling).
    """
    _check_model(model)
    _check_callable(loss_fn, "loss_fn")
    _check_callable(batch_fn, "batch_fn")
    _check_config(config)
    _check_callable(eval_fn, "eval_fn", optional=True)
    _check_callable(on_step, "on_step", optional=True)
    device = runtime.get_device(config.device)
    ckpt_dir = Path(config.checkpoint_dir) if config.checkpoint_dir is not None else None
    if ckpt_dir is not None:
        _check_writable(ckpt_dir)
    model.to(device)
    optimizer = make_optimizer(model, config)

    step, seconds_before, history = 0, 0.0, []
    loaded = _resume(ckpt_dir, model, optimizer) if (resume and ckpt_dir is not None) else None
    if loaded is not None:
        step, seconds_before, history = loaded
    else:
        runtime.seed_everything(config.seed)

    def done(step: int, seconds: float) -> bool:
        return (config.max_steps is not None and step >= config.max_steps) or (
            config.max_seconds is not None and seconds >= config.max_seconds
        )

    if done(step, seconds_before):
        model.train()
        return _history_frame(history)

    bar = None
    if config.progress:
        if config.max_steps is not None:
            bar = tqdm(total=config.max_steps, initial=step, desc="training", unit="step")
        else:
            bar = tqdm(
                total=round(config.max_seconds),
                initial=round(seconds_before),
                unit="s",
                desc="training",
                bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{postfix}]",
            )

    def evaluate() -> dict[str, float]:
        model.eval()
        with torch.no_grad(), runtime.autocast(device, enabled=config.bf16):
            metrics = eval_fn(model)
        model.train()
        return _eval_row(metrics, step)

    t0 = time.perf_counter()
    model.train()
    last_bar_seconds = seconds_before
    evaluated_last = saved_last = True  # nothing new to evaluate or save yet
    stop = False
    try:
        while True:
            seconds = seconds_before + time.perf_counter() - t0
            if stop or done(step, seconds):
                break
            lr = config.lr * lr_factor(config, step, seconds)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = _optimizer_step(model, optimizer, loss_fn, batch_fn(step), config, device)
            step += 1
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise FloatingPointError(
                    f"the training loss is {loss_value} at step {step} (learning rate {lr:.3g}): "
                    "training diverged; lower the learning rate (config.lr), or check the data "
                    "and loss_fn"
                )
            row: dict[str, float] = {"step": step, "train_loss": loss_value, "lr": lr}
            final = done(step, seconds_before + time.perf_counter() - t0)
            if on_step is not None and on_step(step, loss_value):
                stop = final = True
            evaluated_last = saved_last = False
            if eval_fn is not None and (
                final or (config.eval_every and step % config.eval_every == 0)
            ):
                row.update(evaluate())
                evaluated_last = True
            row["seconds"] = seconds_before + time.perf_counter() - t0
            history.append(row)
            if ckpt_dir is not None and (
                final or (config.checkpoint_every and step % config.checkpoint_every == 0)
            ):
                _save_checkpoint(
                    ckpt_dir,
                    step,
                    row["seconds"],
                    model,
                    optimizer,
                    config,
                    history,
                    config.keep_checkpoints,
                )
                saved_last = True
            if bar is not None:
                bar.set_postfix(loss=f"{loss_value:.3f}", step=step, refresh=False)
                if config.max_steps is not None:
                    bar.update(1)
                else:
                    bar.update(round(row["seconds"]) - round(last_bar_seconds))
                    last_bar_seconds = row["seconds"]
        # A time budget can run out between the end-of-step check and the next step: the last
        # step is then the final one, and gets its evaluation and checkpoint here.
        if eval_fn is not None and not evaluated_last:
            history[-1].update(evaluate())
            saved_last = False  # the checkpoint's history should hold the evaluation too
        if ckpt_dir is not None and not saved_last:
            _save_checkpoint(
                ckpt_dir,
                step,
                history[-1]["seconds"],
                model,
                optimizer,
                config,
                history,
                config.keep_checkpoints,
            )
    finally:
        if bar is not None:
            bar.close()
    return _history_frame(history)


def _eval_row(metrics: Any, step: int) -> dict[str, float]:
    """``eval_fn``'s result as history columns: a dict of finite numbers with new names."""
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"eval_fn must return a dict of numbers (e.g. {{'val_loss': 4.2}}), got "
            f"{type(metrics).__name__}"
        )
    clash = sorted(set(metrics) & {"step", "seconds", "train_loss", "lr"})
    if clash:
        raise ValueError(f"eval_fn returned {clash}, the history's own columns: rename them")
    row = {}
    for key, value in metrics.items():
        try:
            row[key] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"eval_fn's {key!r} must be a number, got {value!r}") from None
        if not math.isfinite(row[key]):
            raise ValueError(
                f"eval_fn's {key!r} is {row[key]} at step {step}: the history would read it as "
                "'not evaluated'; check eval_fn (an empty evaluation set?) and the model"
            )
    return row


def _history_frame(history: list[dict[str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(history)
    if df.empty:
        return pd.DataFrame(columns=["step", "seconds", "train_loss", "lr"])
    first = ["step", "seconds", "train_loss", "lr"]
    df = df[first + [c for c in df.columns if c not in first]]
    df["step"] = df["step"].astype(int)
    return df
