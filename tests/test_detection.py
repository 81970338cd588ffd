"""Unit tests of ptlib.detection on boxes checked by hand."""

import numpy as np
import pytest
import torch

from ptlib import detection


def test_box_iou_hand_checked():
    a = [[0, 0, 2, 2]]  # area 4
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [2, 2, 4, 4], [0, 0, 1, 2], [5, 5, 6, 6]]
    iou = detection.box_iou(a, b)[0].numpy()
    # overlap 1x1 = 1, union 4 + 4 - 1 = 7; identical; touching corner; half inside; disjoint
    np.testing.assert_allclose(iou, [1 / 7, 1.0, 0.0, 0.5, 0.0])
    assert detection.box_iou(b, a).shape == (5, 1)


def test_box_iou_empty_boxes_and_errors():
    assert float(detection.box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0]) == 0.0
    assert detection.box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    with pytest.raises(ValueError, match="a"):
        detection.box_iou([[0, 0, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="NaN"):
        detection.box_iou([[0, 0, np.nan, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="xmax < xmin"):
        detection.box_iou([[2, 0, 1, 1]], [[0, 0, 1, 1]])


def test_box_area():
    np.testing.assert_allclose(detection.box_area([[0, 0, 2, 3], [1, 1, 1, 5]]).numpy(), [6, 0])


def test_nms_hand_checked():
    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 9], [21, 20, 31, 30]],
        dtype=torch.float32,
    )
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95, 0.6])
    # box 3 (0.95) first; boxes 0 (IoU 0.9) and 1 (IoU 81/109 = 0.74) overlap it: suppressed;
    # box 2 kept; box 4 overlaps box 2 with IoU 90/110 = 0.82: suppressed
    assert detection.nms(boxes, scores, 0.5).tolist() == [3, 2]
    # with a threshold of 0.8 box 1 (IoU 0.74 with box 3, 0.82 with box 0) survives box 3
    assert detection.nms(boxes, scores, 0.8).tolist() == [3, 1, 2]
    assert detection.nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    with pytest.raises(ValueError, match="scores"):
        detection.nms(boxes, scores[:2])
    with pytest.raises(ValueError, match="iou_threshold"):
        detection.nms(boxes, scores, 1.5)


def test_nms_ties_keep_lower_index():
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10]]
    assert detection.nms(boxes, [0.5, 0.5]).tolist() == [0]


def test_average_precision_hand_checked():
    gt = [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [20, 20, 30, 30]])]
    preds = [
        (np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([0.9, 0.8])),  # TP, FP
        (np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), np.array([0.7, 0.6])),  # TP, duplicate: FP
    ]
    r = detection.average_precision(preds, gt)
    # ranked: TP (0.9), FP (0.8), TP (0.7), FP (0.6); 3 true boxes
    np.testing.assert_allclose(r.precision, [1, 1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(r.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    # envelope: precision 1 up to recall 1/3, 2/3 up to recall 2/3, nothing beyond
    assert r.ap == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)
    assert (r.true_positives, r.n_predictions, r.n_ground_truth) == (2, 4, 3)


def test_average_precision_perfect_threshold_and_errors():
    gt = [np.array([[0, 0, 10, 10]])]
    assert detection.average_precision([(gt[0], np.array([1.0]))], gt).ap == 1.0
    shifted = [(np.array([[0, 0, 10, 20]]), np.array([1.0]))]  # IoU 0.5 exactly
    assert detection.average_precision(shifted, gt, 0.5).ap == 1.0
    assert detection.average_precision(shifted, gt, 0.51).ap == 0.0
    assert detection.average_precision([(np.zeros((0, 4)), np.zeros(0))], gt).ap == 0.0
    with pytest.raises(ValueError, match="no box"):
        detection.average_precision([(gt[0], np.array([1.0]))], [np.zeros((0, 4))])
    with pytest.raises(ValueError, match="images"):
        detection.average_precision([], gt)
