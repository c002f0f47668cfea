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

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
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
