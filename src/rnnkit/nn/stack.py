"""The loop over a layer's stack of cells (layers x directions), written once.

``stack_cells(layer, state)`` lists every cell with its weights and initial state; ``run_stack`` feeds each
layer's output to the next, reads both directions of a layer from the same input and concatenates them, applies
dropout between layers, and stacks the final states into PyTorch's (L*D, B, H) layout. How one cell runs is the
caller's: the reference loop over time, the fused kernel per length segment, or a single step.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple

import torch
import torch.nn.functional as torch_functional
from torch import Tensor

from rnnkit.nn.functional import CellWeights, cell_weights, select_row, stack_rows


class StackCell(NamedTuple):
    """One cell of a stack: layer ``index``, ``direction`` (0 forward, 1 reverse), its weights and initial state."""

    index: int
    direction: int
    weights: CellWeights
    state: Any  # (B, H_out), or (h, c) for the LSTM: (B, H_out), (B, H)


RunCell = Callable[[Tensor, StackCell], tuple[Tensor, Any]]
"""``run_cell(x, cell) -> (output, final_state)``: one cell over its input, x (B, [T,] I) -> (B, [T,] H_out)."""


def stack_cells(layer: Any, state: Any) -> Iterator[StackCell]:
    """Every cell of ``layer`` in the row order of ``state`` (L*D, B, H) (or ``(h, c)``): l0, l0_reverse, l1, ...

    The weights of the matrix products come in ``layer.product_dtype`` when the layer has one (mixed precision);
    under ``precision="int8"`` both products are marked for 8 bits (``functional.int8_product``).
    """
    product_dtype = getattr(layer, "product_dtype", None)
    int8 = getattr(layer, "precision", None) == "int8"
    for row, (index, direction, suffix) in enumerate(layer.cells()):
        weights = cell_weights(layer, suffix, product_dtype, int8)
        yield StackCell(index, direction, weights, select_row(state, row))


def run_stack(layer: Any, x: Tensor, state: Any, run_cell: RunCell) -> tuple[Tensor, Any]:
    """Run ``layer``'s stack on ``x`` (B, [T,] I) from ``state`` (L*D, B, H) (or ``(h, c)``).

    Returns the last layer's output (B, [T,] D*H_out) and the final state in the layout of ``state``.
    """
    directions = 2 if layer.bidirectional else 1
    layer_input, outputs, finals = x, [], []
    for cell in stack_cells(layer, state):
        output, final = run_cell(layer_input, cell)
        outputs.append(output)
        finals.append(final)
        if cell.direction == directions - 1:  # the layer is complete: its output feeds the next one
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            outputs = []
            if cell.index < layer.num_layers - 1 and layer.dropout > 0:
                layer_input = torch_functional.dropout(layer_input, layer.dropout, layer.training)
    return layer_input, stack_rows(finals)
