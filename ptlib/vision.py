"""Images for contrastive learning: batched augmentations in pure torch, and a small ResNet.

SimCLR learns by making two random *views* of every image agree. The views come from a chain of
augmentations (random resized crop, horizontal flip, colour jitter, grayscale) applied with
different random parameters to every image of a batch. PyPI's torchvision does not import beside
the CPU torch wheel the course pins, so this module implements the augmentations it needs
directly on tensors, a whole batch at a time (one ``grid_sample`` for the crops, one 3x3 colour
matrix per image for the colours), with different random parameters for every image.

The encoder is a ResNet for 32x32 images (He et al. 2016) in two sizes: a small one with a
stride-2 stem for the CPU budget, and the ResNet-18 variant SimCLR used for CIFAR-10 (3x3 stem,
no max-pool). A two-layer MLP projection head maps its representation ``h = f(x)`` to the
embedding ``z = g(h)`` that the contrastive loss compares.

Introduced in chapter 4 (contrastive learning).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ptlib import checks, runtime

#: Per-channel mean and standard deviation of the CIFAR-10 training images (pixels in [0, 1]).
CIFAR10_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
CIFAR10_STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)

# ITU-R BT.601 luma weights: what "grayscale" means here and in torchvision.
_LUMA = (0.299, 0.587, 0.114)
# RGB -> YIQ. Y is the luma; I and Q span the chroma plane, so a rotation of (I, Q) shifts hue.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


# --------------------------------------------------------------------------------------------
# Augmentations
# --------------------------------------------------------------------------------------------


def to_float_images(
    x: np.ndarray | torch.Tensor, device: torch.device | str | None = None
) -> torch.Tensor:
    """uint8 images ``[B, H, W, C]`` (as stored) -> float32 ``[B, C, H, W]`` in [0, 1].

    A float tensor that is already ``[B, C, H, W]`` is returned as float32, unchanged.
    Introduced in chapter 4 (contrastive learning).
    """
    x = torch.as_tensor(x)
    if device is not None:
        x = x.to(device)
    if x.dtype == torch.uint8:
        if x.ndim != 4:
            raise ValueError(f"expected uint8 images [B, H, W, C], got shape {tuple(x.shape)}")
        return x.permute(0, 3, 1, 2).float().div_(255.0)
    if not x.is_floating_point() or x.ndim != 4:
        raise ValueError(f"expected uint8 [B, H, W, C] or float [B, C, H, W], got {x.dtype}")
    return x.float()


def _images(x: torch.Tensor, name: str = "x", channels: int | None = None) -> torch.Tensor:
    """``x`` checked to be a float batch of images ``[B, C, H, W]`` (``C == channels`` if given)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4:
        raise ValueError(
            f"{name} must be a float tensor of images [B, C, H, W], got "
            f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}: "
            "convert uint8 images with to_float_images"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} colour channels, got shape {tuple(x.shape)}")
    return x


def _range(bounds: tuple[float, float], name: str, low: float, high: float | None) -> None:
    """``bounds = (lo, hi)`` with ``low < lo <= hi`` (and ``hi <= high`` if given)."""
    if len(bounds) != 2:
        raise ValueError(f"{name} must be a pair (lo, hi), got {bounds!r}")
    lo = checks.finite_number(bounds[0], f"{name}[0]", low=low, high=high, low_open=True)
    hi = checks.finite_number(bounds[1], f"{name}[1]", low=low, high=high, low_open=True)
    if lo > hi:
        raise ValueError(f"{name} must be (lo, hi) with lo <= hi, got {bounds!r}")


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """n draws from U(low, high)."""
    return torch.rand(n, generator=generator, device=device) * (high - low) + low


def _coin(
    n: int, p: float, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """n Bernoulli(p) draws as a bool tensor."""
    return torch.rand(n, generator=generator, device=device) < p


def random_resized_crop(
    x: torch.Tensor,
    size: int | None = None,
    scale: tuple[float, float] = (0.2, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_p: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Crop a random rectangle of every image and resize it to ``size x size`` (bilinear).

    For each image the crop covers a fraction ``s ~ U(scale)`` of the area with aspect ratio
    ``r`` drawn log-uniformly from ``ratio``, at a uniformly random position inside the image
    (a side longer than the image is clipped to it). With ``flip_p > 0`` each crop is also
    mirrored left-right with that probability, for free: the flip is folded into the same
    affine map. All crops are taken by one ``grid_sample`` call. ``x``: float
    ``[B, C, H, W]``; returns ``[B, C, size, size]`` (``size`` defaults to ``H``).
    Introduced in chapter 4 (contrastive learning).
    """
    b, c, h, _ = _images(x).shape
    size = h if size is None else checks.positive_int(size, "size")
    _range(scale, "scale", 0.0, 1.0)
    _range(ratio, "ratio", 0.0, None)
    checks.finite_number(flip_p, "flip_p", 0.0, 1.0)
    dev = x.device
    area = _uniform(b, scale[0], scale[1], generator, dev)
    log_r = _uniform(b, math.log(ratio[0]), math.log(ratio[1]), generator, dev)
    r = torch.exp(log_r)
    cw = torch.sqrt(area * r).clamp(max=1.0)  # crop width as a fraction of the image width
    ch = torch.sqrt(area / r).clamp(max=1.0)
    # centre in [-1, 1] coordinates, such that the crop stays inside the image
    cx = (torch.rand(b, generator=generator, device=dev) * 2 - 1) * (1 - cw)
    cy = (torch.rand(b, generator=generator, device=dev) * 2 - 1) * (1 - ch)
    sign = torch.where(_coin(b, flip_p, generator, dev), -1.0, 1.0) if flip_p > 0 else 1.0
    theta = torch.zeros(b, 2, 3, device=dev, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2] = cw * sign, cx  # output x -> input x (negative: mirrored)
    theta[:, 1, 1], theta[:, 1, 2] = ch, cy
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)  # [B, size, size, 2]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_flip(
    x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``. ``x``: ``[B, C, H, W]``.

    Introduced in chapter 4 (contrastive learning).
    """
    checks.finite_number(p, "p", 0.0, 1.0)
    flip = _coin(_images(x).shape[0], p, generator, x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """The luma ``0.299 R + 0.587 G + 0.114 B`` of ``[B, 3, H, W]`` images, as ``[B, 1, H, W]``.

    Introduced in chapter 4 (contrastive learning).
    """
    w = _images(x, channels=3).new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def random_grayscale(
    x: torch.Tensor, p: float = 0.2, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Replace each image by its grayscale version (in all 3 channels) with probability ``p``.

    Introduced in chapter 4 (contrastive learning).
    """
    checks.finite_number(p, "p", 0.0, 1.0)
    gray = _coin(_images(x, channels=3).shape[0], p, generator, x.device).view(-1, 1, 1, 1)
    return torch.where(gray, grayscale(x).expand_as(x), x)


def hue_matrix(shift: torch.Tensor) -> torch.Tensor:
    """``[B, 3, 3]`` RGB -> RGB matrices that rotate the hue by ``shift`` turns (in [-0.5, 0.5]).

    The rotation is done in the YIQ colour space: the luma Y is kept and the chroma vector
    (I, Q) is rotated by the angle ``2 pi shift``. This approximates the HSV hue shift of
    torchvision's ``ColorJitter`` (the same idea, not the same numbers) with a linear map, so
    it combines with the other colour changes into one matrix per image. A shift of 0 gives the
    identity. Introduced in chapter 4 (contrastive learning).
    """
    angle = 2 * math.pi * shift.double()
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(len(shift), 3, 3, dtype=torch.float64, device=shift.device)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    return (_YIQ_TO_RGB.to(shift.device) @ rot @ _RGB_TO_YIQ.to(shift.device)).float()


def color_jitter(
    x: torch.Tensor,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    p: float = 0.8,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Randomly change brightness, contrast, saturation and hue of each image (with prob. ``p``).

    The factors are drawn per image as in torchvision's ``ColorJitter``: brightness ``b``,
    contrast ``c`` and saturation ``s`` from ``U(1 - v, 1 + v)``, the hue shift from
    ``U(-hue, hue)``. They are applied in that order (torchvision shuffles the order):

    - brightness scales the pixels: ``x -> b x``;
    - contrast blends with the image's mean luma ``m``: ``x -> c x + (1 - c) m``;
    - saturation blends every pixel with its own luma: ``x -> s x + (1 - s) luma(x)``;
    - hue rotates the chroma (:func:`hue_matrix`).

    Every step is an affine map of the pixel's colour, so the whole chain is one ``3 x 3``
    matrix and one offset per image, applied in a single pass and clipped to [0, 1] once at the
    end (torchvision clips after every step; the results differ only where a step saturates).
    An image that is not jittered is returned unchanged. ``x``: float ``[B, 3, H, W]`` in
    [0, 1]. Introduced in chapter 4 (contrastive learning).
    """
    b, dev = _images(x, channels=3).shape[0], x.device
    for name, value in (
        ("brightness", brightness),
        ("contrast", contrast),
        ("saturation", saturation),
    ):
        checks.finite_number(value, name, low=0.0)
    checks.finite_number(hue, "hue", 0.0, 0.5)
    checks.finite_number(p, "p", 0.0, 1.0)
    on = _coin(b, p, generator, dev)

    def factor(v: float) -> torch.Tensor:
        f = _uniform(b, max(0.0, 1 - v), 1 + v, generator, dev)
        return torch.where(on, f, torch.ones_like(f))

    fb, fc, fs = factor(brightness), factor(contrast), factor(saturation)
    shift = _uniform(b, -hue, hue, generator, dev)
    shift = torch.where(on, shift, torch.zeros_like(shift))
    eye = torch.eye(3, device=dev)
    luma = torch.tensor(_LUMA, device=dev)
    gray = torch.ones(3, 1, device=dev) @ luma.view(1, 3)  # [3, 3]: every channel <- luma
    sat = fs.view(-1, 1, 1) * eye + (1 - fs).view(-1, 1, 1) * gray  # [B, 3, 3]
    matrix = hue_matrix(shift) @ sat * (fb * fc).view(-1, 1, 1)  # [B, 3, 3]
    # saturation and hue keep a gray colour gray, so the contrast offset passes through them
    mean_luma = (grayscale(x).mean(dim=(1, 2, 3)) * fb).view(-1, 1, 1, 1)  # luma after brightness
    offset = (1 - fc).view(-1, 1, 1, 1) * mean_luma  # [B, 1, 1, 1]
    out = torch.einsum("bij,bjhw->bihw", matrix.to(x.dtype), x) + offset
    out = out.clamp_(0.0, 1.0)
    return torch.where(on.view(-1, 1, 1, 1), out, x)


@dataclass
class AugmentConfig:
    """The SimCLR augmentation chain for CIFAR-10 (colour strength 0.5, as in SimCLR's CIFAR runs).

    ``size`` is the side of the output views (``None``: the input size).
    Introduced in chapter 4 (contrastive learning).
    """

    crop_scale: tuple[float, float] = (0.2, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    jitter_p: float = 0.8
    gray_p: float = 0.2
    size: int | None = None

    def __post_init__(self) -> None:
        _range(self.crop_scale, "crop_scale", 0.0, 1.0)
        _range(self.crop_ratio, "crop_ratio", 0.0, None)
        for name in ("flip_p", "jitter_p", "gray_p"):
            checks.finite_number(getattr(self, name), name, 0.0, 1.0)
        for name in ("brightness", "contrast", "saturation"):
            checks.finite_number(getattr(self, name), name, low=0.0)
        checks.finite_number(self.hue, "hue", 0.0, 0.5)
        if self.size is not None:
            checks.positive_int(self.size, "size")


def augment(
    x: np.ndarray | torch.Tensor,
    config: AugmentConfig | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """One random view of every image: crop and flip, colour jitter, grayscale, in that order.

    ``x``: uint8 ``[B, H, W, C]`` or float ``[B, C, H, W]`` in [0, 1]; returns float32
    ``[B, C, size, size]`` in [0, 1]. Calling it twice on the same batch gives the two views of
    SimCLR. Introduced in chapter 4 (contrastive learning).
    """
    cfg = config or AugmentConfig()
    v = to_float_images(x, device)
    v = random_resized_crop(
        v, cfg.size, cfg.crop_scale, cfg.crop_ratio, flip_p=cfg.flip_p, generator=generator
    )
    if v.shape[1] == 3:
        if cfg.jitter_p > 0:
            v = color_jitter(
                v, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, cfg.jitter_p, generator
            )
        if cfg.gray_p > 0:
            v = random_grayscale(v, cfg.gray_p, generator)
    return v


def image_grid(images: torch.Tensor | np.ndarray, nrow: int, pad: int = 2) -> np.ndarray:
    """Tile images into one ``[H', W', C]`` float array in [0, 1] for ``plt.imshow``.

    ``images``: float ``[B, C, H, W]`` in [0, 1] or uint8 ``[B, H, W, C]``; ``nrow`` images
    per row, white padding between them. Introduced in chapter 4 (contrastive learning).
    """
    ncol = checks.positive_int(nrow, "nrow")
    pad = checks.positive_int(pad, "pad", minimum=0)
    t = to_float_images(images).detach().cpu()
    b, c, h, w = t.shape
    if b == 0:
        raise ValueError("images is empty: there is nothing to tile")
    nrows = math.ceil(b / ncol)
    grid = torch.ones(c, nrows * (h + pad) + pad, ncol * (w + pad) + pad)
    for i in range(b):
        r, col = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = t[i]
    out = grid.permute(1, 2, 0).clamp(0, 1).numpy()
    return out[..., 0] if c == 1 else out


# --------------------------------------------------------------------------------------------
# Model: a ResNet for 32x32 images and a projection head
# --------------------------------------------------------------------------------------------


@dataclass
class ResNetConfig:
    """Shape of a :class:`ResNet`: widths and number of basic blocks per stage, and the stem.

    ``stem_stride=2`` halves the 32x32 input at once (four times less compute in every later
    layer); ``stem_stride=1`` is the CIFAR variant of ResNet-18 used by SimCLR.
    Introduced in chapter 4 (contrastive learning).
    """

    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    stem_channels: int = 32
    stem_stride: int = 2
    in_channels: int = 3
    mean: tuple[float, ...] = CIFAR10_MEAN
    std: tuple[float, ...] = CIFAR10_STD

    def __post_init__(self) -> None:
        self.widths, self.blocks = tuple(self.widths), tuple(self.blocks)
        self.mean, self.std = tuple(self.mean), tuple(self.std)
        if len(self.widths) != len(self.blocks) or not self.widths:
            raise ValueError("widths and blocks need one entry per stage")
        for i, (width, n) in enumerate(zip(self.widths, self.blocks, strict=True)):
            checks.positive_int(width, f"widths[{i}]")
            checks.positive_int(n, f"blocks[{i}]")
        checks.positive_int(self.stem_channels, "stem_channels")
        checks.positive_int(self.in_channels, "in_channels")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ValueError(
                f"mean and std need one entry per input channel ({self.in_channels}), got "
                f"{len(self.mean)} and {len(self.std)}"
            )
        for i, sd in enumerate(self.std):
            checks.finite_number(sd, f"std[{i}]", low=0.0, low_open=True)
        if self.stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {self.stem_stride}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what is saved beside the weights)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResNetConfig:
        """The inverse of :meth:`to_dict`."""
        return cls(**d)


#: The two encoders of chapter 4: the CPU-budget one and SimCLR's ResNet-18 for CIFAR-10.
RESNET_SMALL = ResNetConfig()
RESNET18 = ResNetConfig(
    widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), stem_channels=64, stem_stride=1
)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection (He et al. 2016).

    Introduced in chapter 4 (contrastive learning).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, c_in, H, W] -> [B, c_out, H', W']
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    """The encoder ``f``: images ``[B, 3, 32, 32]`` in [0, 1] -> representations ``h`` ``[B, d]``.

    It normalises its input with the dataset mean and std itself, so callers pass raw [0, 1]
    pixels. ``d = config.widths[-1]`` (``self.dim``). Introduced in chapter 4 (contrastive
    learning).
    """

    def __init__(self, config: ResNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ResNetConfig()
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, -1, 1, 1), persistent=False)
        self.stem = nn.Sequential(
            nn.Conv2d(cfg.in_channels, cfg.stem_channels, 3, cfg.stem_stride, 1, bias=False),
            nn.BatchNorm2d(cfg.stem_channels),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        c_in = cfg.stem_channels
        for stage, (width, n) in enumerate(zip(cfg.widths, cfg.blocks, strict=True)):
            for i in range(n):
                stride = 2 if (stage > 0 and i == 0) else 1
                layers.append(BasicBlock(c_in, width, stride))
                c_in = width
        self.layers = nn.Sequential(*layers)
        self.dim = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std  # [B, 3, H, W]
        x = self.layers(self.stem(x))  # [B, d, H / s, W / s]
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # [B, d]


class ProjectionHead(nn.Sequential):
    """The projection head ``g``: Linear - BatchNorm - ReLU - Linear, as in SimCLR.

    Introduced in chapter 4 (contrastive learning).
    """

    def __init__(self, dim_in: int, dim_hidden: int = 512, dim_out: int = 128) -> None:
        super().__init__(
            nn.Linear(dim_in, dim_hidden, bias=False),
            nn.BatchNorm1d(dim_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(dim_hidden, dim_out),
        )


class SimCLR(nn.Module):
    """Encoder ``f`` plus projection head ``g``: ``forward(x) = z = g(f(x))``.

    After pre-training, the head is thrown away and ``encoder`` is what later tasks use.
    Introduced in chapter 4 (contrastive learning).
    """

    def __init__(self, encoder: ResNet, dim_hidden: int = 512, dim_out: int = 128) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = ProjectionHead(encoder.dim, dim_hidden, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 3, H, W] -> [B, dim_out]
        return self.head(self.encoder(x))


class Classifier(nn.Module):
    """An encoder with a linear layer on top: the supervised-from-scratch baseline.

    Introduced in chapter 4 (contrastive learning).
    """

    def __init__(self, encoder: ResNet, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.fc = nn.Linear(encoder.dim, checks.positive_int(num_classes, "num_classes"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 3, H, W] -> [B, classes]
        return self.fc(self.encoder(x))


@torch.no_grad()
def features(
    encoder: nn.Module,
    x: np.ndarray | torch.Tensor,
    batch_size: int = 500,
    device: torch.device | str | None = None,
    bf16: bool = True,
) -> np.ndarray:
    """Frozen representations ``h = f(x)`` of un-augmented images, as a float32 array ``[N, d]``.

    ``x`` are uint8 ``[N, H, W, C]`` images (or float ``[N, C, H, W]``). The encoder is put in
    eval mode (batch norm uses its running statistics) and restored to its previous mode after.
    Introduced in chapter 4 (contrastive learning).
    """
    batch_size = checks.positive_int(batch_size, "batch_size")
    device = torch.device(device) if device is not None else next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    out = []
    try:
        for start in range(0, len(x), batch_size):
            batch = to_float_images(x[start : start + batch_size], device)
            batch = batch.contiguous(memory_format=torch.channels_last)
            with runtime.autocast(device, enabled=bf16):
                h = encoder(batch)
            out.append(h.float().cpu())
    finally:
        encoder.train(was_training)
    if not out:
        return np.zeros((0, getattr(encoder, "dim", 0)), dtype=np.float32)
    return torch.cat(out).numpy()


# --------------------------------------------------------------------------------------------
# Augmentation randomness by step
# --------------------------------------------------------------------------------------------


def step_generator(seed: int, step: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A random-number generator that depends only on ``seed`` and ``step`` (on ``device``).

    Drawing a step's augmentations from it makes every step repeatable, which is what
    :func:`ptlib.train.fit` needs to resume a run exactly. Introduced in chapter 4 (contrastive
    learning).
    """
    return torch.Generator(device=device).manual_seed(int(seed) * 1_000_003 + int(step))
