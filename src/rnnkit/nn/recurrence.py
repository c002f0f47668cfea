"""The extension path: rnnkit's C++ loop over time (``csrc/recurrent.cpp``) for every cell of the stack.

Per cell: the C++ forward computes the input projection of all steps as one matrix product, then one recurrent
product and one fused pass over the gates per step; the backward runs the steps in reverse the same way
(``Recurrence``, an autograd Function), and the weight gradients are one matrix product each over all steps.
Products run in the layer's product dtype (bfloat16 under ``precision="bf16-mixed"``; under ``"int8"``, an
inference precision, in 8 bits); the state and gates in the layer's dtype.

Variable lengths run natively: the batch is sorted by length and step t updates only the sequences still
running (as a PackedSequence's batch sizes), so a ragged batch costs what its real steps cost.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rnnkit.nn.extension import ops
from rnnkit.nn.padding import reverse_within_lengths, valid_mask
from rnnkit.nn.precision import kept_with, quantize_rows
from rnnkit.nn.stack import StackCell, run_stack

MODES = {"LSTM": 0, "GRU": 1, "RNN_TANH": 2, "RNN_RELU": 3}


class Recurrence(torch.autograd.Function):
    """``(x, w_ih, h0, c0, w_hh, b_ih, b_hh) -> (output, h_n, c_n)`` for one cell over time; see the module doc.

    x (B, T, I), w_ih (G*H, I) and w_hh (G*H, H) in the product dtype; h0, c0 (B, H) and the biases (G*H) in the
    state's dtype. ``c0`` is an empty tensor except for the LSTM.
    """

    @staticmethod
    def forward(ctx, mode: int, x, w_ih, h0, c0, w_hh, b_ih, b_hh, batch_sizes: list[int]):
        output, h_n, c_n, saved, h_prev = ops().recurrent_forward(mode, x, w_ih, h0, c0, w_hh, b_ih, b_hh,
                                                                  batch_sizes, True)
        ctx.save_for_backward(x, w_ih, output, saved, h_prev, h0, c0, w_hh)
        ctx.mode, ctx.batch_sizes = mode, batch_sizes
        return output, h_n, c_n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        x, w_ih, output, saved, h_prev, h0, c0, w_hh = ctx.saved_tensors
        if grad_c_n is None or grad_c_n.numel() == 0:
            grad_c_n = torch.zeros_like(c0)
        d_xi, d_gh, d_h0, d_c0, d_b_ih, d_b_hh = ops().recurrent_backward(
            ctx.mode, grad_output.contiguous(), grad_h_n.contiguous(), grad_c_n.contiguous(), output, saved, h0,
            c0, w_hh, ctx.batch_sizes)
        gate_size = d_xi.shape[-1]
        # Products over all steps at once. h_prev (B, T, H) holds h_{t-1} as the products read it (zero when
        # padded), d_xi and d_gh the gradients of W_ih x_t and W_hh h_{t-1} (zero when padded).
        d_x = d_xi.matmul(w_ih) if ctx.needs_input_grad[1] else None
        d_w_ih = d_xi.reshape(-1, gate_size).t().mm(x.reshape(-1, x.shape[-1]))
        d_w_hh = d_gh.reshape(-1, gate_size).t().mm(h_prev.reshape(-1, h0.shape[1]))
        d_c0 = d_c0 if ctx.mode == MODES["LSTM"] else None
        return None, d_x, d_w_ih, d_h0, d_c0, d_w_hh, d_b_ih, d_b_hh, None


def int8_operands(weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``weight`` (N, K) as the int8 kernel reads it (csrc/int8_gemm.h), made once per version of the weight:
    the quantized weight (``precision.quantize_rows``) in blocks of 16 units x 4 consecutive k (zero-padded),
    ``128 * sum_k Wq[n, k]`` per unit (the kernel's correction for the state's unsigned bytes), the units' scales."""
    def pack(w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, scale = quantize_rows(w)
        (units, width), blocks, quads = q.shape, -(-q.shape[0] // 16), -(-q.shape[1] // 4)
        padded = q.new_zeros(blocks * 16, quads * 4)
        padded[:units, :width] = q
        packed = padded.view(blocks, 16, quads, 4).permute(0, 2, 1, 3).contiguous().view(blocks, quads, 64)
        return packed, 128 * q.sum(1, dtype=torch.int32), scale.flatten()
    return kept_with(weight, "_rnnkit_int8_packed", pack)


def run_cell_over_time(mode: str, x: Tensor, state: Any, weights, batch_sizes: list[int],
                       product_dtype: Optional[torch.dtype]) -> tuple[Tensor, Any]:
    """One cell over ``x`` (B, T, I) from ``state`` ((B, H), or (h, c)); x sorted by length when ragged."""
    h0, c0 = state if mode == "LSTM" else (state, state.new_zeros(0))
    dtype = product_dtype or h0.dtype
    zeros = h0.new_zeros(weights.weight_ih.shape[0])
    b_ih = zeros if weights.bias_ih is None else weights.bias_ih.to(h0.dtype)
    b_hh = zeros if weights.bias_hh is None else weights.bias_hh.to(h0.dtype)
    if weights.int8:  # precision="int8", inference: both products in 8 bits (csrc/int8_gemm.h)
        output, h_n, c_n = ops().recurrent_forward_int8(
            MODES[mode], x.contiguous(), *int8_operands(weights.weight_ih), h0.contiguous(), c0.contiguous(),
            *int8_operands(weights.weight_hh), b_ih, b_hh, batch_sizes)
        return output, ((h_n, c_n) if mode == "LSTM" else h_n)
    args = (MODES[mode], x.to(dtype).contiguous(), weights.weight_ih.to(dtype).contiguous(), h0.contiguous(),
            c0.contiguous(), weights.weight_hh.to(dtype).contiguous(), b_ih, b_hh, batch_sizes)
    if torch.is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args):
        output, h_n, c_n = Recurrence.apply(*args)
    else:
        output, h_n, c_n, _, _ = ops().recurrent_forward(*args, False)
    return output, ((h_n, c_n) if mode == "LSTM" else h_n)


def _select(state: Any, index: Tensor) -> Any:
    return tuple(s.index_select(1, index) for s in state) if isinstance(state, tuple) else state.index_select(1, index)


def extension_forward(layer: Any, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
    """Run ``layer`` on batch-first ``x`` (B, T, I) with right-padded ``lengths`` or None (see the module doc)."""
    steps = x.shape[1]
    order = None
    batch_sizes: list[int] = []
    if lengths is not None:
        order = torch.argsort(lengths, descending=True, stable=True)
        lengths = lengths[order]
        # Padding may hold anything, even NaN: keep it out of the input projection and its gradient.
        x = torch.where(valid_mask(lengths, steps).unsqueeze(-1), x.index_select(0, order), x.new_zeros(()))
        state = _select(state, order)
        counts = torch.bincount(lengths - 1, minlength=steps)  # sequences ending at each step
        batch_sizes = (counts.flip(0).cumsum(0).flip(0)).tolist()  # sequences running at each step

    def run_cell(layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Any]:
        reverse = cell.direction == 1
        if reverse:
            layer_input = layer_input.flip(1) if lengths is None else reverse_within_lengths(layer_input, lengths)
        output, final = run_cell_over_time(layer.mode, layer_input, cell.state, cell.weights, batch_sizes,
                                           layer.product_dtype)
        if reverse:
            output = output.flip(1) if lengths is None else reverse_within_lengths(output, lengths)
        return output, final

    output, final = run_stack(layer, x, state, run_cell)
    if order is None:
        return output, final
    unsort = torch.argsort(order)
    return output.index_select(0, unsort), _select(final, unsort)
