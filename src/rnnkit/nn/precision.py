"""Precision of the recurrent layers: ``"fp32"`` (default) or ``"bf16-mixed"``.

``bf16-mixed`` keeps the parameters (the master weights the optimiser updates), the cell state and every gate
in the layer's own dtype (float32), and runs the matrix products in bfloat16: the input projection
``W_ih x_t`` and the recurrent product ``W_hh h_{t-1}`` read bfloat16 copies of the weights and of their
inputs, and accumulate in float32 inside the kernel. Gradients reach the float32 weights through the casts.
This is the CPU counterpart of GPU mixed precision, and the speed comes from the CPU's bfloat16 dot-product
instructions (AVX-512 BF16, or AMX), which run a product several times faster than float32. Without them
bfloat16 is emulated and slower than float32, so it is refused, with the reason, rather than run slowly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import torch

PRECISIONS = ("fp32", "bf16-mixed")


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


def check_precision(precision: str, device: torch.device | str | None = None) -> None:
    """Raise ValueError when ``precision`` is unknown or cannot run on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16-mixed":
        reason = bf16_unsupported(device)
        if reason is not None:
            raise ValueError(f"precision='bf16-mixed' is refused: {reason}; use precision='fp32'")


def product_dtype(precision: str) -> Optional[torch.dtype]:
    """The dtype of the matrix products under ``precision``; None: the parameters' own dtype."""
    return torch.bfloat16 if precision == "bf16-mixed" else None
