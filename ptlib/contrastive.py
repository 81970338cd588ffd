"""SimCLR, chapter 4's contrastive pre-training of an image encoder, and the encoder it saves.

Two augmented views of every image (:mod:`ptlib.vision`) go through the encoder and the
projection head; the NT-Xent loss (:mod:`ptlib.objectives`) makes the two views of an image agree;
:func:`ptlib.train.fit` runs the optimisation. :func:`load_simclr_encoder` gives later chapters the
pre-trained encoder: from the cache, or pre-trained there first.

Introduced in chapter 4 (contrastive learning).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ptlib import checks, data, objectives, runtime, train, weights
from ptlib.vision import AugmentConfig, ResNet, ResNetConfig, SimCLR, augment, step_generator
from ptlib.weights import WeightsError, models_cache_dir


def two_views(
    images: torch.Tensor, generator: torch.Generator, config: AugmentConfig | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two augmented views SimCLR compares: two independent draws of :func:`augment`.

    Runs outside autocast (the augmentations are cheap and want float32) on the images'
    device. Introduced in chapter 4 (contrastive learning).
    """
    with torch.autocast(device_type=images.device.type, enabled=False):
        return augment(images, config, generator), augment(images, config, generator)


@dataclass
class SimCLRConfig:
    """A SimCLR pre-training run: the model, the objective, the optimisation and the budget.

    The budget is ``max_steps`` (the same on every machine) and/or ``max_seconds`` of wall-clock
    time; with a time budget alone the learning rate follows a cosine over the fraction of the
    time used (see :class:`ptlib.train.TrainConfig`), and the result depends on the machine.
    The defaults are the CPU recipe of chapter 4.
    Introduced in chapter 4 (contrastive learning).
    """

    encoder: ResNetConfig = field(default_factory=ResNetConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    batch_size: int = 256
    temperature: float = 0.2
    proj_hidden: int = 512
    proj_dim: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    max_steps: int | None = 200
    max_seconds: float | None = None
    bf16: bool = True
    channels_last: bool = True
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        checks.positive_int(self.batch_size, "batch_size", minimum=2)  # negatives need 2 images
        for name in ("proj_hidden", "proj_dim"):
            checks.positive_int(getattr(self, name), name)
        checks.positive_int(self.warmup_steps, "warmup_steps", minimum=0)
        checks.positive_int(self.seed, "seed", minimum=0)
        checks.finite_number(self.temperature, "temperature", 0.0, low_open=True)
        checks.finite_number(self.lr, "lr", 0.0, low_open=True)
        checks.finite_number(self.weight_decay, "weight_decay", 0.0)
        if self.max_steps is not None:
            checks.positive_int(self.max_steps, "max_steps")
        if self.max_seconds is not None:
            checks.finite_number(self.max_seconds, "max_seconds", 0.0, low_open=True)
        elif self.max_steps is None:
            raise ValueError("SimCLRConfig needs a budget: set max_steps or max_seconds")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the whole configuration (what is saved with the encoder)."""
        d = asdict(self)
        d["encoder"] = self.encoder.to_dict()
        d["augment"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["augment"].items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimCLRConfig:
        """The inverse of :meth:`to_dict`."""
        d = dict(d)
        d["encoder"] = ResNetConfig.from_dict(d["encoder"])
        aug = {k: tuple(v) if isinstance(v, list) else v for k, v in d["augment"].items()}
        d["augment"] = AugmentConfig(**aug)
        return cls(**d)


def simclr_loss_fn(
    temperature: float,
    augment_config: AugmentConfig | None = None,
    seed: int = 0,
    channels_last: bool = True,
) -> Callable[[nn.Module, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
    """``loss_fn`` for :func:`ptlib.train.fit`: the NT-Xent loss of a batch ``(images, step)``.

    It draws the two views of every image (with :func:`step_generator`), embeds both in one
    forward pass (so batch norm normalises over all ``2N`` views), and returns
    :func:`ptlib.objectives.nt_xent` of the two halves. Introduced in chapter 4 (contrastive
    learning).
    """

    temperature = checks.finite_number(temperature, "temperature", 0.0, low_open=True)

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        images, step = batch
        gen = step_generator(seed, int(step), images.device)
        v1, v2 = two_views(images, gen, augment_config)  # [N, 3, H, W] each
        views = torch.cat([v1, v2])  # [2N, 3, H, W]
        if channels_last:
            views = views.contiguous(memory_format=torch.channels_last)
        z1, z2 = model(views).chunk(2)  # [N, d] each
        return objectives.nt_xent(z1, z2, temperature)

    return loss_fn


def pretrain_simclr(
    images: np.ndarray | torch.Tensor,
    config: SimCLRConfig | None = None,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int = 0,
) -> tuple[SimCLR, Any]:
    """Pre-train a :class:`SimCLR` model (encoder + head) on unlabelled uint8 ``images``.

    Returns the model (in eval mode, on ``config.device``) and the training history of
    :func:`ptlib.train.fit` (a DataFrame with ``step``, ``seconds``, ``train_loss``, ``lr``, and
    the keys of ``eval_fn``). The optimiser is AdamW with a short warm-up and a cosine decay.
    Introduced in chapter 4 (contrastive learning).
    """

    cfg = _config(config)
    _check_images(images)
    runtime.seed_everything(cfg.seed)
    model = SimCLR(ResNet(cfg.encoder), cfg.proj_hidden, cfg.proj_dim)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    tcfg = train.TrainConfig(
        max_steps=cfg.max_steps,
        max_seconds=cfg.max_seconds,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        betas=(0.9, 0.999),
        warmup_steps=cfg.warmup_steps,
        schedule="cosine",
        grad_clip=None,
        bf16=cfg.bf16,
        eval_every=eval_every,
        seed=cfg.seed,
        device=cfg.device,
        progress=cfg.progress,
    )
    batches = train.EpochBatches(images, cfg.batch_size, cfg.seed)
    loss_fn = simclr_loss_fn(cfg.temperature, cfg.augment, cfg.seed, cfg.channels_last)
    history = train.fit(model, loss_fn, batches, tcfg, eval_fn=eval_fn, resume=False)
    model.eval()
    return model, history


def _config(config: object) -> SimCLRConfig:
    if config is not None and not isinstance(config, SimCLRConfig):
        raise TypeError(f"config must be a SimCLRConfig, got {type(config).__name__}")
    return config if config is not None else SimCLRConfig()


def _check_images(images: object) -> None:
    if not isinstance(images, np.ndarray | torch.Tensor):
        raise TypeError(f"images must be a NumPy array or a tensor, got {type(images).__name__}")
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(
            "images must hold at least 2 images, uint8 [N, H, W, C] (or float [N, C, H, W] in "
            f"[0, 1]); got shape {tuple(images.shape)}"
        )


#: Folder name of chapter 4's SimCLR encoder in the model cache.
SIMCLR_NAME = "simclr-cifar10"


def simclr_dir() -> Path:
    """Where chapter 4 saves its SimCLR encoder: ``models_cache_dir() / "simclr-cifar10"``
    (by default ``~/.cache/ptlib/models/simclr-cifar10``).

    Introduced in chapter 4 (contrastive learning).
    """
    return models_cache_dir() / SIMCLR_NAME


def save_simclr_encoder(
    encoder: torch.nn.Module, folder: str | Path | None = None, metadata: dict | None = None
) -> Path:
    """Save a :class:`ptlib.vision.ResNet` encoder: ``model.safetensors`` (the weights and batch
    norm statistics) and ``config.json`` (its :class:`~ptlib.vision.ResNetConfig` and
    ``metadata``, e.g. how it was trained and what it scored), with ``manifest.json`` (the sha256
    of every file). The folder is replaced atomically, so a reader never sees half of it.
    Returns the folder.

    Introduced in chapter 4 (contrastive learning).
    """
    if not isinstance(encoder, ResNet):
        raise TypeError(
            f"encoder must be a ptlib.vision.ResNet (e.g. model.encoder of a SimCLR model), got "
            f"{type(encoder).__name__}"
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    folder = Path(folder) if folder is not None else simclr_dir()
    info = {
        "architecture": "ptlib.vision.ResNet",
        "config": encoder.config.to_dict(),
        "metadata": metadata or {},
    }
    return weights.save_checkpoint(folder, encoder.state_dict(), info, info_name="config.json")


def simclr_metadata(folder: str | Path | None = None) -> dict:
    """The ``metadata`` saved with a SimCLR encoder (an empty dict if there is none).

    Introduced in chapter 4 (contrastive learning).
    """
    path = (Path(folder) if folder is not None else simclr_dir()) / "config.json"
    if not path.is_file():
        return {}
    info = checks.read_json(path, "SimCLR encoder config")
    metadata = info.get("metadata", {}) if isinstance(info, dict) else None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} is not the config of a SimCLR encoder (no metadata object)")
    return metadata


def load_simclr_encoder(
    folder: str | Path | None = None,
    train_if_missing: bool = True,
    config: SimCLRConfig | None = None,
    images: np.ndarray | None = None,
    device: str | torch.device | None = None,
) -> torch.nn.Module:
    """Chapter 4's pre-trained image encoder (a :class:`ptlib.vision.ResNet`), in eval mode.

    Loads it from ``folder`` (default :func:`simclr_dir`), where chapter 4 saved it. If it is not
    there and ``train_if_missing``, pre-trains one with :func:`pretrain_simclr`
    (``config``: a :class:`SimCLRConfig`, default the CPU recipe of chapter 4, a
    couple of minutes on a laptop) on ``images`` (default: the CIFAR-10 training split), saves
    it there and returns it; otherwise raises :class:`WeightsError`. So a later chapter runs on
    its own, with or without chapter 4 having run first. Weights are read with safetensors only,
    after a check against the folder's ``manifest.json`` (:func:`ptlib.weights.verify_checkpoint`),
    and must match the saved configuration name for name and shape.
    Introduced in chapter 4 (contrastive learning).
    """
    folder = Path(folder) if folder is not None else simclr_dir()
    device = runtime.get_device(device) if not isinstance(device, torch.device) else device
    if folder.is_file():
        raise WeightsError(f"{folder} is a file; give the folder of a saved SimCLR encoder")
    if (folder / "model.safetensors").is_file() and (folder / "config.json").is_file():
        weights.verify_checkpoint(folder, f"no SimCLR encoder in {folder}")
        info = checks.read_json(folder / "config.json", "SimCLR encoder config")
        if not isinstance(info, dict) or info.get("architecture") != "ptlib.vision.ResNet":
            raise WeightsError(
                f"{folder / 'config.json'} does not describe a ptlib.vision.ResNet: {folder} is not "
                "a SimCLR encoder saved by save_simclr_encoder"
            )
        try:
            encoder = ResNet(ResNetConfig.from_dict(info["config"]))
        except (KeyError, TypeError, ValueError) as err:
            raise WeightsError(
                f"{folder / 'config.json'} holds no valid ResNet config ({err!r}): the folder is "
                "damaged; save the encoder again"
            ) from None
        return weights.load_state(encoder, folder).to(device).eval()
    if not train_if_missing:
        raise WeightsError(
            f"no SimCLR encoder in {folder}: run notebooks/04_contrastive_learning.ipynb, or call "
            "load_simclr_encoder(train_if_missing=True) to pre-train one here"
        )
    cfg = _config(config)
    if images is None:
        images = data.load("cifar10", "train").x
    model, history = pretrain_simclr(images, cfg)
    metadata = {
        "trained_by": "ptlib.contrastive.load_simclr_encoder",
        "simclr_config": cfg.to_dict(),
        "steps": int(history["step"].iloc[-1]) if len(history) else 0,
        "seconds": float(history["seconds"].iloc[-1]) if len(history) else 0.0,
        "final_loss": float(history["train_loss"].iloc[-1]) if len(history) else None,
    }
    save_simclr_encoder(model.encoder, folder, metadata)
    return model.encoder.to(device).eval()
