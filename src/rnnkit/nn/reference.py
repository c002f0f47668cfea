"""The reference path: a readable loop over time (``scan``) for each cell of the stack (``rnnkit.nn.stack``),
calling ``functional``'s equations.

It computes what the fused kernels compute (tests hold the two to 1e-5) and also what they cannot: layer
normalisation and recurrent (variational) dropout.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor

from rnnkit.nn import functional as F
from rnnkit.nn.padding import valid_mask
from rnnkit.nn.stack import StackCell, run_stack


def _where(keep: Tensor, new: Any, old: Any) -> Any:
    if isinstance(new, tuple):
        return tuple(torch.where(keep, n, o) for n, o in zip(new, old))
    return torch.where(keep, new, old)


def scan(
    update: Callable,
    xi: Tensor,
    state: Any,
    w: F.CellWeights,
    mask: Optional[Tensor] = None,
    reverse: bool = False,
    h_mask: Optional[Tensor] = None,
    record: Optional[list] = None,
) -> tuple[Tensor, Any]:
    """Run one cell over time. ``xi`` (B, T, G*H) is the precomputed input projection.

    ``record``, when a list, receives the state after every step in time order (diagnostics use it to take
    gradients with respect to each ``h_t``).

    ``mask`` (B, T) marks real steps: at a padded step the state passes through unchanged and the output is 0,
    so the final state is each sequence's state at its own last step. Returns ``(outputs (B, T, H_out), state)``.
    """
    steps = xi.shape[1]
    outputs: list[Optional[Tensor]] = [None] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        y, new_state = update(xi[:, t], state, w, h_mask)
        if mask is not None:
            keep = mask[:, t].unsqueeze(-1)  # (B, 1)
            new_state = _where(keep, new_state, state)
            y = torch.where(keep, y, torch.zeros((), dtype=y.dtype, device=y.device))
        state = new_state
        outputs[t] = y
        if record is not None:
            record.append(state)
    return torch.stack(outputs, dim=1), state  # type: ignore[arg-type]


def _recurrent_dropout_mask(p: float, like: Tensor) -> Tensor:
    """One Bernoulli mask per sequence, scaled by 1/(1-p): the same units dropped at every step."""
    return torch.empty_like(like).bernoulli_(1 - p) / (1 - p)


def reference_forward(layer: Any, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
    """Run ``layer`` on batch-first ``x`` (B, T, I) with right-padded ``lengths`` or None.

    ``state`` is in PyTorch's layout: (L*D, B, H_out), or a pair (h, c) for the LSTM. Returns the output
    (B, T, D*H_out) of the last layer and the final state in the same layout.
    """
    update = F.UPDATES[layer.mode]
    mask = None if lengths is None else valid_mask(lengths, x.shape[1])
    if mask is not None:  # padding may hold anything, even NaN; keep it out of the products and their gradients
        x = torch.where(mask.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))

    def run_cell(layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Any]:
        h_mask = None
        if layer.training and layer.recurrent_dropout > 0:
            h = cell.state[0] if isinstance(cell.state, tuple) else cell.state
            h_mask = _recurrent_dropout_mask(layer.recurrent_dropout, h)
        xi = F.input_projection(layer_input, cell.weights)  # (B, T, G*H): one matrix product for all steps
        return scan(update, xi, cell.state, cell.weights, mask, reverse=cell.direction == 1, h_mask=h_mask)

    return run_stack(layer, x, state, run_cell)
