"""Initialisation shared by cells and layers (Keras' recurrent defaults, which train well out of the box).

- ``weight_ih``: Glorot/Xavier uniform, per gate block.
- ``weight_hh``: orthogonal, per gate block: keeps the recurrent Jacobian's singular values near 1 at the start,
  which delays vanishing and exploding gradients (Saxe et al. 2014).
- biases: zero, except the LSTM forget gate, whose ``bias_ih`` part is 1 (Jozefowicz et al. 2015, Keras'
  ``unit_forget_bias``): the cell starts by remembering. The effective forget bias ``b_if + b_hf`` is 1.
- layer-norm scales 1, shifts 0.

PyTorch's own default (uniform in +-1/sqrt(H) everywhere) is *not* used; load a ``torch.nn`` state dict to get
its numbers.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1, "MINGRU": 2, "MINLSTM": 3}
FORGET_GATE = 1  # LSTM gate order i, f, g, o


@torch.no_grad()
def init_cell_weights(
    mode: str,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Optional[Tensor],
    bias_hh: Optional[Tensor],
    weight_hr: Optional[Tensor] = None,
) -> None:
    """Initialise one cell's fused weights in place (see the module docstring for the scheme)."""
    gates = GATES[mode]
    for block in weight_ih.chunk(gates, dim=0):
        nn.init.xavier_uniform_(block)
    for block in weight_hh.chunk(gates, dim=0):
        nn.init.orthogonal_(block)
    for bias in (bias_ih, bias_hh):
        if bias is not None:
            bias.zero_()
    if mode == "LSTM" and bias_ih is not None:
        bias_ih.chunk(gates)[FORGET_GATE].fill_(1.0)
    if weight_hr is not None:
        nn.init.xavier_uniform_(weight_hr)


def norm_shapes(mode: str, hidden_size: int) -> dict[str, tuple[int, float]]:
    """Layer-norm parameters of one cell: name -> (size, initial value)."""
    gate_size = GATES[mode] * hidden_size
    shapes = {"norm_ih_weight": (gate_size, 1.0), "norm_hh_weight": (gate_size, 1.0)}
    if mode == "LSTM":
        shapes.update(norm_cell_weight=(hidden_size, 1.0), norm_cell_bias=(hidden_size, 0.0))
    return shapes


# mode -> (index of the gate block whose bias sets the memory, its sign, index of the input gate or None): the
# bias is sign * log(u). LSTM i, f, g, o and GRU r, z, n keep through their second gate; minLSTM f, i, h keeps
# through f; minGRU z, h keeps through 1 - z, so its z bias is -log(u).
CHRONO_GATES = {"LSTM": (1, 1.0, 0), "GRU": (1, 1.0, None), "MINLSTM": (0, 1.0, 1), "MINGRU": (0, -1.0, None)}


@torch.no_grad()
def chrono_init_(layer: nn.Module, max_lag: int, generator: Optional[torch.Generator] = None) -> nn.Module:
    """Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?").

    A gate that keeps fraction f of the state per step remembers for about 1/(1-f) steps. Drawing the keep
    gate's bias as ``log(u)``, ``u ~ Uniform(1, max_lag - 1)``, spreads the units' memory time scales over
    1..max_lag instead of the ~4 steps a forget bias of 1 gives, so gradients reach back ``max_lag`` steps from
    the first update. LSTM: forget bias ``log(u)`` and input bias ``-log(u)``; GRU: update-gate (z) bias
    ``log(u)``, z being the GRU's keep gate; minLSTM: f bias ``log(u)``, i bias ``-log(u)``; minGRU: z bias
    ``-log(u)`` (it keeps 1 - z). Works on cells and layers; the Elman RNN has no gate to set.
    """
    mode = getattr(layer, "mode", None)
    if mode not in CHRONO_GATES:
        raise ValueError(f"chrono initialisation needs gates (LSTM, GRU, minGRU, minLSTM), got {type(layer).__name__}")
    if max_lag < 3:
        raise ValueError(f"max_lag must be >= 3, got {max_lag}")
    gates, (keep, sign, input_gate) = GATES[mode], CHRONO_GATES[mode]
    suffixes = [name.removeprefix("bias_ih") for name, _ in layer.named_parameters() if name.startswith("bias_ih")]
    if not suffixes:
        raise ValueError("chrono initialisation needs biases (bias=True)")
    for suffix in suffixes:
        bias_ih, bias_hh = getattr(layer, "bias_ih" + suffix), getattr(layer, "bias_hh" + suffix, None)
        hidden = bias_ih.shape[0] // gates
        time_scale = torch.empty(hidden, dtype=torch.float64).uniform_(1, max_lag - 1, generator=generator)
        bias = torch.log(time_scale).to(bias_ih.dtype)
        bias_ih.chunk(gates)[keep].copy_(sign * bias)
        if bias_hh is not None:
            bias_hh.chunk(gates)[keep].zero_()
        if input_gate is not None:
            bias_ih.chunk(gates)[input_gate].copy_(-bias)
            if bias_hh is not None:
                bias_hh.chunk(gates)[input_gate].zero_()
    return layer
