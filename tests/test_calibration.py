"""Tests of ptlib.calibration: reliability bins and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from ptlib import calibration


def test_ece_hand_checked():
    y = [0, 1, 1, 0]
    p = [0.1, 0.9, 0.8, 0.3]
    # two bins: {0.1, 0.3}: mean 0.2, no positive -> gap 0.2; {0.9, 0.8}: mean 0.85, all positive
    # -> gap 0.15; ECE = 0.5 * 0.2 + 0.5 * 0.15
    assert calibration.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.175)
    table = calibration.reliability_bins(y, p, n_bins=2)
    assert table["count"].tolist() == [2, 2]
    assert table["mean_p"].tolist() == pytest.approx([0.2, 0.85])
    assert table["frac_pos"].tolist() == pytest.approx([0.0, 1.0])


def test_perfectly_calibrated_and_edges():
    assert calibration.expected_calibration_error([0, 0, 1, 1], [0, 0, 1, 1]) == 0.0
    table = calibration.reliability_bins([1], [1.0], n_bins=4)  # p == 1 goes in the last bin
    assert table["count"].tolist() == [0, 0, 0, 1]
    assert np.isnan(table["mean_p"].iloc[0])


def test_bins_match_sklearn():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.001, 0.999, size=2000)
    y = (rng.uniform(size=2000) < p**2).astype(int)
    table = calibration.reliability_bins(y, p, n_bins=10)
    full = table[table["count"] > 0]
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="uniform")
    assert full["frac_pos"].to_numpy() == pytest.approx(frac)
    assert full["mean_p"].to_numpy() == pytest.approx(mean)
    ece = float(np.sum(full["count"] / 2000 * np.abs(frac - mean)))
    assert calibration.expected_calibration_error(y, p, 10) == pytest.approx(ece)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        calibration.expected_calibration_error([], [])
    with pytest.raises(ValueError, match="same length"):
        calibration.expected_calibration_error([0, 1], [0.5])
    with pytest.raises(ValueError, match="NaN"):
        calibration.expected_calibration_error([0, 1], [0.5, np.nan])
    with pytest.raises(ValueError, match="0 and 1"):
        calibration.expected_calibration_error([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="n_bins"):
        calibration.reliability_bins([0, 1], [0.5, 0.5], n_bins=0)
