"""Tests of ptlib.quantize (chapter 10): per-channel int8 weights, int8 matrix products."""

import pytest
import torch
from torch import nn

from ptlib import quantize


def test_per_channel_codes_are_within_half_a_scale():
    torch.manual_seed(0)
    w = torch.randn(5, 7) * torch.tensor([[0.01], [1.0], [10.0], [0.0], [3.0]])
    codes, scales = quantize.quantize_per_channel(w)
    assert codes.dtype == torch.int8 and scales.shape == (5,)
    assert codes.abs().max() <= 127
    err = (codes.float() * scales[:, None] - w).abs()
    assert torch.all(err <= scales[:, None] / 2 + 1e-7)
    assert scales[3] == 1.0 and torch.all(codes[3] == 0)  # a row of zeros
    # by hand: the largest magnitude of a row maps to 127
    codes, scales = quantize.quantize_per_channel(torch.tensor([[-2.0, 1.0, 0.5]]))
    assert codes.tolist() == [[-127, 64, 32]] and scales.item() == pytest.approx(2 / 127)


def test_per_channel_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        quantize.quantize_per_channel(torch.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        quantize.quantize_per_channel(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="empty"):
        quantize.quantize_per_channel(torch.ones(0, 3))


def test_int8_linear_matches_the_dequantised_reference():
    torch.manual_seed(0)
    linear = nn.Linear(16, 8)
    q = quantize.Int8Linear(linear)
    x = torch.randn(2, 3, 16)
    # independent reference: quantise by hand, multiply in float64
    w_codes, w_scales = quantize.quantize_per_channel(linear.weight)
    rows = x.reshape(-1, 16)
    x_scales = rows.abs().amax(dim=1, keepdim=True) / 127
    x_codes = torch.round(rows / x_scales)
    ref = (x_codes.double() @ w_codes.double().T) * x_scales.double() * w_scales.double()
    ref = (ref + linear.bias.double()).float().reshape(2, 3, 8)
    torch.testing.assert_close(q(x), ref, rtol=1e-5, atol=1e-5)
    # and close to the float layer
    assert (q(x) - linear(x)).abs().max() < 0.05


def test_quantize_linear_layers_and_size():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    before = quantize.model_bytes(model)
    assert before == 4 * (8 * 8 + 8 + 8 * 2 + 2)
    assert quantize.quantize_linear_layers(model, skip={"2"}) == 1
    assert isinstance(model[0], quantize.Int8Linear) and isinstance(model[2], nn.Linear)
    # int8 weight (64 bytes) + 8 float scales + 8 float biases, the head unchanged
    assert quantize.model_bytes(model) == 64 + 4 * 8 + 4 * 8 + 4 * (8 * 2 + 2)
    with pytest.raises(ValueError, match="no nn.Linear"):
        quantize.quantize_linear_layers(nn.ReLU())
