"""The decode step's linear layers from fp16-packed weights, where that computes the same products, and its GELU.

The shipped checkpoint stores fp16 weights, so every fp32 weight the loaded model holds is an fp16
value. FBGEMM's fp16-weight GEMM widens them back exactly and multiplies and accumulates in fp32,
so its outputs equal F.linear's up to the order of summation (last-bit noise, as between batch
sizes), while a batch-1 step, which is bound by reading the weights, reads half the bytes. Weights
that are not all fp16 values (a model in training, the untrained presets) or a build without
FBGEMM keep F.linear.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

#: fn(x, weight, bias) computes F.linear(x, W, b) of the original W and b
LinearCall = tuple[Callable[..., torch.Tensor], torch.Tensor, torch.Tensor | None]


def step_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> LinearCall:
    """The fastest exact way to apply this layer to a few rows; F.linear when packing would round."""
    plain = (F.linear, weight, bias)
    pack = getattr(torch, "fbgemm_pack_gemm_matrix_fp16", None)
    packed_linear = getattr(torch, "fbgemm_linear_fp16_weight", None)
    if pack is None or packed_linear is None or weight.device.type != "cpu" or not torch.equal(weight.half().float(), weight):
        return plain
    bias = weight.new_zeros(weight.shape[0]) if bias is None else bias
    probe = torch.linspace(-1.0, 1.0, weight.shape[1], dtype=weight.dtype).unsqueeze(0)
    try:
        with warnings.catch_warnings():  # deprecated by PyTorch (it points to torchao), still shipped
            warnings.simplefilter("ignore")
            packed = pack(weight)
            out = packed_linear(probe, packed, bias)
    except RuntimeError:  # no FBGEMM on this CPU or build
        return plain
    if not torch.allclose(out, F.linear(probe, weight, bias), rtol=1e-4, atol=1e-5):
        return plain
    return packed_linear, packed, bias


def exact_gelu(x: torch.Tensor) -> torch.Tensor:
    """F.gelu (the exact erf form the network was trained with) from ATen's own kernel: on a float32
    CPU tensor F.gelu goes to oneDNN, whose per-call set-up costs ~4x the arithmetic of one token's
    768 values (11 us against 2.5). The two kernels agree to the last bit or one unit of it."""
    onednn = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(False)
    try:
        return F.gelu(x)
    finally:
        torch._C._set_mkldnn_enabled(onednn)
