"""Precision of the recurrent layers: ``"fp32"`` (default), ``"bf16-mixed"``, or ``"int8"`` (inference only).

``bf16-mixed`` keeps the parameters (the master weights the optimiser updates), the cell state and every gate
in the layer's own dtype (float32), and runs the matrix products in bfloat16: the input projection
``W_ih x_t`` and the recurrent product ``W_hh h_{t-1}`` read bfloat16 copies of the weights and of their
inputs, and accumulate in float32 inside the kernel. Gradients reach the float32 weights through the casts.
This is the CPU counterpart of GPU mixed precision, and the speed comes from the CPU's bfloat16 dot-product
instructions (AVX-512 BF16, or AMX), which run a product several times faster than float32. Without them
bfloat16 is emulated and slower than float32, so it is refused, with the reason, rather than run slowly.

``int8`` runs a trained LSTM, GRU or Elman layer's inference with both products, ``W_ih x_t`` and
``W_hh h_{t-1}``, in 8-bit integers: the weights quantized once per output unit, the input and the state per
sequence at each step, all symmetrically to 127 levels (``quantize_rows``), the integer sums exact
(``rnnkit.nn.functional.int8_product``); gates and states stay in float32. Each row's step is 1/127 of its
largest value, so inputs should be on comparable scales (as rnnkit's pipelines standardise them): outputs then
move by about 1e-3 from float32. AVX-512 VNNI runs twice the multiply-adds per instruction of the bfloat16
dot product: LSTM inference runs about 2.5x ``torch.nn`` float32 on one thread and 2.3x on two
(bench/bench_speed.py). The 8-bit weights are made once per version of each weight (``kept_with``). Training needs
gradients, which rounded products do not have: a layer at ``int8`` refuses a forward pass that needs them.
Train at fp32 or bf16-mixed, then switch the trained model with ``set_precision(model, "int8")``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional

import torch
from torch import Tensor

PRECISIONS = ("fp32", "bf16-mixed", "int8")
TRAINING_PRECISIONS = ("fp32", "bf16-mixed")  # what a config trains at; int8 is set on a trained model


@lru_cache(maxsize=None)
def _cpu_bf16_reason() -> Optional[str]:
    capabilities = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if not (capabilities.get("avx512_bf16") or capabilities.get("amx_bf16")):
        found = torch.backends.cpu.get_cpu_capability()
        return (f"this CPU has no bfloat16 dot-product instructions (AVX-512 BF16 or AMX; it offers {found}), "
                "so bfloat16 products would be emulated and slower than float32")
    if not torch.backends.mkldnn.is_available():
        return "this PyTorch build has no oneDNN, which runs PyTorch's bfloat16 matrix products on the CPU"
    return None


def bf16_unsupported(device: torch.device | str | None = None) -> Optional[str]:
    """Why ``bf16-mixed`` cannot run fast on ``device`` (None: the CPU), or None when it can."""
    device = torch.device(device or "cpu")
    if device.type == "cpu":
        return _cpu_bf16_reason()
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} has no bfloat16 support"
    return None


def int8_unsupported(device: torch.device | str | None = None) -> Optional[str]:
    """Why ``int8`` cannot run fast on ``device`` (None: the CPU), or None when it can."""
    device = torch.device(device or "cpu")
    if device.type != "cpu":
        return f"rnnkit's int8 recurrence runs on the CPU, not {device.type}"
    capabilities = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if not capabilities.get("avx512_vnni"):
        found = torch.backends.cpu.get_cpu_capability()
        return (f"this CPU has no AVX-512 VNNI (it offers {found}), the 8-bit dot product that makes int8 faster "
                "than float32")
    return None


UNSUPPORTED = {"bf16-mixed": bf16_unsupported, "int8": int8_unsupported}
"""precision -> why it cannot run fast on a device (None when it can)."""


def unsupported(precision: str, device: torch.device | str | None = None) -> Optional[str]:
    """The refusal of ``precision`` on ``device`` as one sentence, or None when it can run there."""
    reason = UNSUPPORTED[precision](device) if precision in UNSUPPORTED else None
    return None if reason is None else f"precision={precision!r} is refused: {reason}; use precision='fp32'"


def check_precision(precision: str, device: torch.device | str | None = None) -> None:
    """Raise ValueError when ``precision`` is unknown or cannot run on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    reason = unsupported(precision, device)
    if reason is not None:
        raise ValueError(reason)


def product_dtype(precision: str) -> Optional[torch.dtype]:
    """The dtype of the matrix products under ``precision``; None: the parameters' own dtype (int8 quantizes
    them itself: ``rnnkit.nn.functional.int8_product``)."""
    return torch.bfloat16 if precision == "bf16-mixed" else None


def quantize_rows(v: Tensor) -> tuple[Tensor, Tensor]:
    """Symmetric 8-bit quantization of each row (last dimension) of ``v``: ``(q, scale)`` with ``v ~ q * scale``.

    ``scale = max |row| / 127`` (1 for a row of zeros), ``q = round(v * (1 / scale))`` as int8 in [-127, 127]
    (a multiplication by the reciprocal: cheaper than a division in the kernel); the C++ kernel
    (csrc/int8_gemm.h) quantizes rows with these same operations."""
    scale = v.abs().amax(-1, keepdim=True) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(v * (1 / scale)).to(torch.int8), scale  # |v| * (1 / scale) <= 127 + a few ulp


KEPT = "_rnnkit_kept"  # the attribute of a weight that holds what ``kept_with`` made from it


def kept_with(weight: Tensor, name: str, compute: Callable[[Tensor], Any]) -> Any:
    """``compute(weight)``, kept on ``weight`` while the weight is unchanged: a model run at int8 quantizes its
    weights once, not at every call or step. The key is the tensor's storage and version counter, which every
    in-place change moves (an optimizer step, ``load_state_dict``, ``torch.no_grad()`` edits); an edit through
    ``weight.data`` does not move it, so ``set_precision`` forgets everything kept."""
    key = (weight.data_ptr(), weight._version)
    kept = weight.__dict__.setdefault(KEPT, {})
    if name not in kept or kept[name][0] != key:
        kept[name] = (key, compute(weight.detach()))
    return kept[name][1]


def quantized_weight(weight: Tensor) -> tuple[Tensor, Tensor]:
    """``quantize_rows(weight)`` with the scale as a vector, computed once per version of ``weight``."""
    def quantize(w: Tensor) -> tuple[Tensor, Tensor]:
        q, scale = quantize_rows(w)
        return q, scale.flatten()
    return kept_with(weight, "_rnnkit_int8", quantize)


def int8_refusal_without_recurrence(what: str) -> str:
    """The refusal of int8 for a layer (``what``) without the recurrent product it quantizes: the min cells."""
    return (f"precision='int8' is rnnkit's 8-bit recurrence for LSTM, GRU and RNN layers, not {what}; "
            "use 'fp32' or 'bf16-mixed'")


def set_precision(module: torch.nn.Module, precision: str) -> torch.nn.Module:
    """Set ``precision`` on every recurrent layer in ``module`` (a trained model: ``"int8"`` to run it faster).

    The int8 weights are made at the first call after it, and again whenever a weight changes in place."""
    check_precision(precision)
    layers = [layer for layer in module.modules() if hasattr(layer, "precision") and hasattr(layer, "product_dtype")]
    for layer in layers:
        if precision == "int8" and not hasattr(layer, "weight_hh_l0"):
            raise ValueError(int8_refusal_without_recurrence(type(layer).__name__))
    for layer in layers:
        layer.precision = precision
        for weight in layer.parameters():
            weight.__dict__.pop(KEPT, None)
    return module
