"""Post-training int8 quantisation of the linear layers of a model, with int8 matrix products.

PyTorch's eager-mode ``torch.ao.quantization.quantize_dynamic`` is deprecated (its maintained
successor, ``torchao``, is a separate package the course does not install). This module is the
small, explicit version of the same idea: every ``nn.Linear`` weight is stored as int8 with one
scale per output channel (symmetric, per-channel), every input row is quantised to int8 on the
fly with its own scale (dynamic, per-token), the product runs as an int8 x int8 -> int32 matrix
multiplication (``torch._int_mm``), and the result is rescaled to float.

Introduced in chapter 10 (trends: more efficient models).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ptlib import checks

#: The largest magnitude of a symmetric int8 code (-127..127; -128 is not used).
QMAX = 127


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes of a 2-D ``weight`` (out x in), one scale per row (output channel).

    Returns ``(codes, scales)`` with ``codes`` int8 in [-127, 127] and ``scales`` float32 of
    shape (out,), so that ``codes * scales[:, None]`` approximates ``weight`` with an error of
    at most half a scale per entry. A row of zeros gets scale 1. Introduced in chapter 10.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (out x in), got shape {tuple(weight.shape)}")
    checks.finite_tensor(weight, "weight")
    w = weight.detach().float()
    amax = w.abs().amax(dim=1)
    scales = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    codes = torch.clamp(torch.round(w / scales[:, None]), -QMAX, QMAX).to(torch.int8)
    return codes, scales


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes of a 2-D activation ``x`` (rows x features), one scale per row.

    The dynamic half of dynamic quantisation: computed for every input as it arrives.
    Returns ``(codes, scales)`` with ``scales`` of shape (rows, 1). Introduced in chapter 10.
    """
    if x.dim() != 2 or x.numel() == 0:
        raise ValueError(
            f"x must be a non-empty 2-D (rows x features) tensor, got {tuple(x.shape)}"
        )
    amax = x.abs().amax(dim=1, keepdim=True)
    scales = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    # |x| / scale <= 127 by construction, so rounding needs no clamp (fewer passes over x)
    codes = (x * (1.0 / scales)).round_().to(torch.int8)
    return codes, scales


class Int8Linear(nn.Module):
    """A drop-in replacement for ``nn.Linear`` whose weight is int8 (per-channel scales).

    ``forward`` quantises each input row to int8, multiplies with ``torch._int_mm`` (int32
    accumulation), rescales by ``row scale x channel scale`` and adds the float bias.
    Introduced in chapter 10 (trends: more efficient models).
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        codes, scales = quantize_per_channel(linear.weight)
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        # stored transposed (in x out), the layout torch._int_mm multiplies with
        self.register_buffer("weight_t", codes.t().contiguous())
        self.register_buffer("scales", scales)
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1]).float()
        codes, row_scales = quantize_rows(rows)
        acc = torch._int_mm(codes, self.weight_t)  # (rows, out) int32
        out = acc.float().mul_(row_scales)
        if self.bias is not None:  # bias + out * channel scales, in one pass
            out = torch.addcmul(self.bias, out, self.scales)
        else:
            out = out.mul_(self.scales)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def quantize_linear_layers(model: nn.Module, skip: Iterable[str] = ()) -> int:
    """Replace every ``nn.Linear`` of ``model`` (in place) by an :class:`Int8Linear`.

    ``skip`` names modules to keep in float (e.g. a small classification head). Returns the
    number of layers replaced; raises ``ValueError`` if there is none. Introduced in chapter 10.
    """
    if isinstance(skip, str):
        raise TypeError("skip must be a list of module names, not one string: wrap it in a list")
    skip = set(skip)
    unknown = skip - {name for name, _ in model.named_modules()}
    if unknown:
        raise ValueError(
            f"skip names no module of the model: {sorted(unknown)}; see the names in "
            "[n for n, _ in model.named_modules()]"
        )
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name not in skip
    ]
    if not targets:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to quantise")
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear(module))
    return len(targets)


def model_bytes(model: nn.Module) -> int:
    """Bytes of a model's parameters and buffers as stored (int8 codes count one byte each).

    Shared tensors (tied weights) are counted once. Introduced in chapter 10.
    """
    seen: set[int] = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        total += tensor.numel() * tensor.element_size()
    return total
