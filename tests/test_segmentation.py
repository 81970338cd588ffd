"""Unit tests of ptlib.segmentation on masks checked by hand."""

import numpy as np
import pytest
import torch

from ptlib import segmentation


def test_dice_and_iou_hand_checked():
    pred = np.array([[1, 1, 0], [0, 1, 0]])
    target = np.array([[1, 0, 0], [0, 1, 1]])
    # |P| = 3, |T| = 3, |P n T| = 2, |P u T| = 4
    assert segmentation.dice(pred, target) == pytest.approx(4 / 6)
    assert segmentation.mask_iou(pred, target) == pytest.approx(2 / 4)
    d = segmentation.dice(pred, target)
    assert segmentation.mask_iou(pred, target) == pytest.approx(d / (2 - d))
    assert segmentation.dice(pred.astype(bool), pred.astype(bool)) == 1.0
    assert segmentation.dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert segmentation.mask_iou(np.zeros((2, 2)), np.ones((2, 2))) == 0.0


def test_mask_errors():
    with pytest.raises(ValueError, match="shape"):
        segmentation.dice(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="binary"):
        segmentation.dice(np.full((2, 2), 0.5), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        segmentation.mask_iou(np.full((2, 2), np.nan), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        segmentation.dice(np.zeros(0), np.zeros(0))


def test_tile_starts():
    assert segmentation.tile_starts(10, 4, 4) == [0, 4, 6]
    assert segmentation.tile_starts(8, 4, 2) == [0, 2, 4]
    assert segmentation.tile_starts(4, 4, 4) == [0]
    with pytest.raises(ValueError):
        segmentation.tile_starts(3, 4, 4)


def test_predict_tiled_identity_and_counts():
    image = torch.arange(2 * 10 * 13, dtype=torch.float32).reshape(2, 10, 13)
    # an identity "network": every pixel gets its own value back, however the tiles overlap
    out = segmentation.predict_tiled(lambda t: t, image, tile=4, stride=3, margin=2, batch_size=5)
    torch.testing.assert_close(out, image)
    # a network that outputs 1 everywhere: the average of overlapping ones is 1
    ones = segmentation.predict_tiled(lambda t: torch.ones_like(t[:, :1]), image, 4, 2)
    torch.testing.assert_close(ones, torch.ones(1, 10, 13))
    with pytest.raises(ValueError, match="image"):
        segmentation.predict_tiled(lambda t: t, image[0], 4, 2)
