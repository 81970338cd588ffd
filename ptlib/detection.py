"""Axis-aligned bounding boxes as a single-stage detector scores them.

A box is ``(xmin, ymin, xmax, ymax)`` in pixels (the PASCAL VOC convention of the raccoon set,
without VOC's ``+1``: a box's width is ``xmax - xmin``). This module holds what chapter 7's
detector needs around its network: the intersection over union of two sets of boxes, greedy
non-maximum suppression written in torch (torchvision, which ships ``nms``, does not import
beside the course's CPU torch), and the average precision at one IoU threshold with the
precision and recall it rests on (the PASCAL VOC "all-point" definition, Everingham et al. 2010).

Introduced in chapter 7 (vision applications).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ptlib import checks


def _boxes(x: torch.Tensor | np.ndarray | Sequence, name: str) -> torch.Tensor:
    """``x`` as a float64 tensor ``[N, 4]``, checked: finite, ``xmax >= xmin``, ``ymax >= ymin``."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float64) if not torch.is_tensor(x) else x)
    t = t.double()
    if t.ndim == 1 and t.numel() == 0:
        t = t.reshape(0, 4)
    if t.ndim != 2 or t.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape [N, 4] (xmin, ymin, xmax, ymax), got {tuple(t.shape)}"
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    if (t[:, 2] < t[:, 0]).any() or (t[:, 3] < t[:, 1]).any():
        raise ValueError(f"{name} has a box with xmax < xmin or ymax < ymin")
    return t


def box_area(boxes: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Areas ``(xmax - xmin) (ymax - ymin)`` of ``[N, 4]`` boxes, as float64 ``[N]``.

    Introduced in chapter 7 (vision applications).
    """
    b = _boxes(boxes, "boxes")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Intersection over union of every box of ``a`` ``[N, 4]`` with every box of ``b`` ``[M, 4]``.

    Returns float64 ``[N, M]``. Two boxes that do not overlap have IoU 0; two empty (zero-area)
    boxes have IoU 0 too (not 0/0). Introduced in chapter 7 (vision applications).
    """
    a, b = _boxes(a, "a"), _boxes(b, "b")
    left_top = torch.maximum(a[:, None, :2], b[None, :, :2])  # [N, M, 2]
    right_bottom = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (right_bottom - left_top).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def nms(
    boxes: torch.Tensor | np.ndarray, scores: torch.Tensor | np.ndarray, iou_threshold: float = 0.5
) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of the boxes kept, highest score first.

    Repeat: keep the highest-scoring box left, and drop every remaining box whose IoU with it
    is above ``iou_threshold``. Ties in score keep the lower index first. The same rule as
    ``torchvision.ops.nms``. Introduced in chapter 7 (vision applications).
    """
    b = _boxes(boxes, "boxes")
    s = torch.as_tensor(scores).double().reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"scores has {len(s)} entries for {len(b)} boxes")
    if not torch.isfinite(s).all():
        raise ValueError("scores contains NaN or infinite values")
    checks.finite_number(iou_threshold, "iou_threshold", 0.0, 1.0)
    order = torch.as_tensor(np.argsort(-s.numpy(), kind="stable"), dtype=torch.long)
    iou = box_iou(b, b)
    suppressed = torch.zeros(len(b), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


@dataclass
class APResult:
    """What :func:`average_precision` measured: AP, the precision-recall curve, and counts.

    ``precision`` and ``recall`` hold one entry per prediction, in order of decreasing score;
    ``true_positives`` is how many predictions matched a true box. Introduced in chapter 7.
    """

    ap: float
    precision: np.ndarray
    recall: np.ndarray
    true_positives: int
    n_predictions: int
    n_ground_truth: int


def average_precision(
    predictions: Sequence[tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]],
    ground_truth: Sequence[np.ndarray | torch.Tensor],
    iou_threshold: float = 0.5,
) -> APResult:
    """Average precision of one class at one IoU threshold (AP@0.5 by default).

    ``predictions[i] = (boxes [K, 4], scores [K])`` of image ``i``; ``ground_truth[i]`` its true
    boxes ``[G, 4]``. All predictions of all images are sorted by score; each in turn is a true
    positive if its best-overlapping true box of the same image that is not yet matched has
    ``IoU >= iou_threshold`` (that box is then matched), else a false positive. Precision and
    recall after each prediction give the curve; AP is the area under its upper envelope (PASCAL
    VOC 2010 "all points"). With one class, mAP@0.5 is this AP.
    Introduced in chapter 7 (vision applications).
    """
    checks.finite_number(iou_threshold, "iou_threshold", 0.0, 1.0)
    if len(predictions) != len(ground_truth):
        raise ValueError(
            f"predictions has {len(predictions)} images, ground_truth {len(ground_truth)}"
        )
    gts = [_boxes(g, "ground_truth") for g in ground_truth]
    n_gt = sum(len(g) for g in gts)
    if n_gt == 0:
        raise ValueError("ground_truth holds no box: AP is undefined")
    entries = []  # (score, image, box)
    for i, prediction in enumerate(predictions):
        if len(prediction) != 2:
            raise ValueError(f"predictions[{i}] must be a pair (boxes [K, 4], scores [K])")
        boxes, scores = prediction
        b = _boxes(boxes, f"predictions[{i}] boxes")
        s = torch.as_tensor(scores).double().reshape(-1)
        if len(s) != len(b) or not torch.isfinite(s).all():
            raise ValueError(f"image {i}: scores must be finite, one per predicted box")
        entries += [(float(s[k]), i, b[k]) for k in range(len(b))]
    entries.sort(key=lambda e: -e[0])  # stable: ties keep image order
    matched = [torch.zeros(len(g), dtype=torch.bool) for g in gts]
    tp = np.zeros(len(entries))
    for k, (_, i, box) in enumerate(entries):
        if len(gts[i]) == 0:
            continue
        iou = box_iou(box[None], gts[i])[0].clone()
        iou[matched[i]] = -1.0
        j = int(iou.argmax())
        if iou[j] >= iou_threshold:
            tp[k], matched[i][j] = 1.0, True
    cum_tp = np.cumsum(tp)
    precision = cum_tp / np.arange(1, len(entries) + 1)
    recall = cum_tp / n_gt
    # area under the upper envelope: precision made non-increasing from the right
    mrec = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    ap = float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))
    return APResult(ap, precision, recall, int(cum_tp[-1]) if len(tp) else 0, len(entries), n_gt)
