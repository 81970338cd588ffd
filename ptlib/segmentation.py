"""Binary segmentation of images larger than the network's input, with the scores of its masks.

U-Net (Ronneberger et al. 2015) is trained on tiles and predicts a large image tile by tile: the
image is mirrored at its borders, cut into overlapping tiles, every tile is predicted, and the
overlapping predictions are averaged (the "overlap-tile strategy"). The masks are scored with
the Dice coefficient ``2|A n B| / (|A| + |B|)`` and the intersection over union (Jaccard index)
``|A n B| / |A u B|`` of the predicted and the true foreground.

Introduced in chapter 7 (vision applications).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ptlib import checks


def _masks(
    pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    p, t = np.asarray(pred), np.asarray(target)
    if p.shape != t.shape:
        raise ValueError(f"pred has shape {p.shape}, target {t.shape}: they must match")
    if p.size == 0:
        raise ValueError("pred and target are empty")
    for name, m in (("pred", p), ("target", t)):
        if m.dtype.kind == "f" and np.isnan(m).any():
            raise ValueError(f"{name} contains NaN")
        if not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name} must be a binary mask of 0 and 1 (or bool)")
    return p.astype(bool), t.astype(bool)


def dice(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Dice coefficient ``2 |P n T| / (|P| + |T|)`` of two binary masks of the same shape.

    The masks may hold a batch (all pixels are pooled). Two empty masks agree perfectly: 1.0.
    Introduced in chapter 7 (vision applications).
    """
    p, t = _masks(pred, target)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


def mask_iou(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Intersection over union ``|P n T| / |P u T|`` of two binary masks (1.0 if both empty).

    Related to Dice by ``IoU = D / (2 - D)``. Introduced in chapter 7 (vision applications).
    """
    p, t = _masks(pred, target)
    union = (p | t).sum()
    return 1.0 if union == 0 else float((p & t).sum() / union)


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` every ``stride`` pixels that cover ``length``.

    The last tile is moved back so that it ends exactly at ``length``. Needs
    ``length >= tile >= stride > 0``. Introduced in chapter 7 (vision applications).
    """
    for name, value in (("length", length), ("tile", tile), ("stride", stride)):
        checks.positive_int(value, name)
    if not (length >= tile >= stride > 0):
        raise ValueError(f"need length >= tile >= stride > 0, got {length}, {tile}, {stride}")
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


@torch.no_grad()
def predict_tiled(
    predict: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int,
    stride: int,
    margin: int = 0,
    batch_size: int = 16,
) -> torch.Tensor:
    """Overlap-tile prediction of a large image ``[C, H, W]`` -> per-pixel values ``[K, H, W]``.

    The image is mirrored by ``margin`` pixels on every side, cut into tiles of side
    ``tile + 2 margin`` whose centres (of side ``tile``) start every ``stride`` pixels, and
    ``predict`` maps a batch of tiles ``[B, C, t, t]`` to ``[B, K, t, t]`` (probabilities, say).
    Only each tile's central ``tile x tile`` part is used, and where centres overlap their
    values are averaged. Introduced in chapter 7 (vision applications).
    """
    if image.ndim != 3:
        raise ValueError(f"image must be [C, H, W], got shape {tuple(image.shape)}")
    margin = checks.positive_int(margin, "margin", minimum=0)
    batch_size = checks.positive_int(batch_size, "batch_size")
    _, h, w = image.shape
    if margin >= min(h, w):
        raise ValueError(
            f"margin ({margin}) must be smaller than the image ({h} x {w}) to mirror it there"
        )
    padded = F.pad(image[None], (margin,) * 4, mode="reflect")[0] if margin else image
    corners = [(y, x) for y in tile_starts(h, tile, stride) for x in tile_starts(w, tile, stride)]
    total = count = None
    side = tile + 2 * margin
    for start in range(0, len(corners), batch_size):
        part = corners[start : start + batch_size]
        tiles = torch.stack([padded[:, y : y + side, x : x + side] for y, x in part])
        out = predict(tiles)
        if out.ndim != 4 or out.shape[0] != len(part) or out.shape[2:] != tiles.shape[2:]:
            raise ValueError(
                f"predict must map tiles {tuple(tiles.shape)} to [B, K, {side}, {side}], "
                f"got {tuple(out.shape)}"
            )
        out = out[:, :, margin : margin + tile, margin : margin + tile].float()
        if total is None:
            total = torch.zeros(out.shape[1], h, w)
            count = torch.zeros(1, h, w)
        for (y, x), o in zip(part, out.cpu(), strict=True):
            total[:, y : y + tile, x : x + tile] += o
            count[:, y : y + tile, x : x + tile] += 1
    return total / count
