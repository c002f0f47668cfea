"""minGRU and minLSTM layers (Feng et al. 2024, "Were RNNs all we needed?"): recurrent layers whose gates
read the input only, so training runs in parallel over time and inference one cheap step at a time.

One step is ``h_t = a_t * h_{t-1} + b_t`` with ``(a_t, b_t)`` a function of ``x_t`` alone (the equations are
``functional.mingru_coefficients`` / ``minlstm_coefficients``): no recurrent matrix product, about 1/16 of an
LSTM's arithmetic at equal sizes. Paths, as for the other layers:

- ``impl="extension"``: rnnkit's C++ kernel (``csrc/min_rnn.cpp``) runs the whole layer in chunks of steps:
  each chunk's input projection, gates and scan while the chunk is in cache, forward and backward (which
  recomputes the projection rather than storing it, and forms the weight gradients chunk by chunk); the fastest
  on the CPU. Under bf16-mixed its products read bfloat16-rounded operands;
- ``impl="fused"``: PyTorch ops, parallel over time: the chunked scan, or ``scan="log-space"`` for Heinsen's
  (``rnnkit.nn.scan``; the bench measures both);
- ``impl="reference"``: the readable step-by-step loop (``rnnkit.nn.reference``), the same equations ``step`` runs.

``impl="auto"`` takes the extension, else the chunked scan. The layer keeps the protocol of every rnnkit layer
(``rnnkit.nn.sequence_layer``): batch first, ``forward(x, state, lengths=...)`` with padded steps that never
change the result, ``step(x_t, state)``, stacking with dropout between layers, bidirectional, the state in
PyTorch's layout (L*D, B, H). Parameters carry PyTorch's names (``weight_ih_l0``, ``bias_ih_l0_reverse``); the
gate blocks of ``weight_ih`` (G*H, I) are z, h (minGRU) and f, i, h (minLSTM). There is no ``weight_hh``.

Deliberate choices: the candidate is ``g(W_h x + b_h)`` (positive; the paper's log-space variant) on every
path, so every path computes the same function and the log-space scan can run; the paper's minLSTM
normalises its gates, ``f / (f + i)`` and ``i / (f + i)``, and so does this one.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.nn import extension
from rnnkit.nn.functional import COEFFICIENTS, LOG_COEFFICIENTS, UPDATES, input_projection
from rnnkit.nn.padding import reverse_within_lengths, valid_mask
from rnnkit.nn.precision import check_precision, int8_refusal_without_recurrence, product_dtype
from rnnkit.nn.reference import reference_forward
from rnnkit.nn.scan import scan_chunked, scan_log_space
from rnnkit.nn.sequence_layer import SequenceLayer
from rnnkit.nn.stack import StackCell, run_stack

MIN_GATES = {"MINGRU": 2, "MINLSTM": 3}
MIN_IMPLS = ("auto", "fused", "extension", "reference")
SCANS = ("chunked", "log-space")
KERNEL_MODES = {"MINGRU": 0, "MINLSTM": 1}


class MinRNN(SequenceLayer, nn.Module):
    """The shared min layer; use ``MinGRU`` or ``MinLSTM``. Arguments as rnnkit's other layers (batch first)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, *,
                 impl: str = "auto", scan: str = "chunked", precision: str = "fp32", check_finite: bool = False,
                 device: Any = None, dtype: Optional[torch.dtype] = None) -> None:
        super().__init__()
        if impl not in MIN_IMPLS:
            raise ValueError(f"impl must be one of {MIN_IMPLS}, got {impl!r}")
        if scan not in SCANS:
            raise ValueError(f"scan must be one of {SCANS}, got {scan!r}")
        if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
            raise ValueError("input_size, hidden_size and num_layers must be positive, got "
                             f"{input_size}, {hidden_size} and {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if dropout > 0 and num_layers == 1:
            raise ValueError(f"dropout={dropout} applies between stacked layers, but num_layers=1")
        check_precision(precision, device)
        if precision == "int8":
            raise ValueError(int8_refusal_without_recurrence(type(self).__name__))
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.impl, self.scan, self.precision, self.check_finite = impl, scan, precision, check_finite
        self.proj_size, self.recurrent_dropout = 0, 0.0
        self.fast_path_reason: Optional[str] = None
        gate_size = MIN_GATES[mode] * hidden_size
        factory = {"device": device, "dtype": dtype}
        for index, _, suffix in self.cells():
            layer_input = input_size if index == 0 else hidden_size * (2 if bidirectional else 1)
            self.register_parameter("weight_ih" + suffix, nn.Parameter(torch.empty(gate_size, layer_input, **factory)))
            if bias:
                self.register_parameter("bias_ih" + suffix, nn.Parameter(torch.empty(gate_size, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform gate blocks, zero biases (as rnnkit's other cells' input weights)."""
        with torch.no_grad():
            for _, _, suffix in self.cells():
                for block in getattr(self, "weight_ih" + suffix).chunk(MIN_GATES[self.mode], dim=0):
                    nn.init.xavier_uniform_(block)
                if self.bias:
                    getattr(self, "bias_ih" + suffix).zero_()

    @property
    def product_dtype(self) -> Optional[torch.dtype]:
        return product_dtype(self.precision)

    # --- the path taken ----------------------------------------------------------------------------------

    def _path(self, x: Tensor) -> str:
        """``"extension"``, ``"fused"`` (PyTorch ops) or ``"reference"``; records why not the extension."""
        if self.impl == "reference":
            self.fast_path_reason = "impl='reference' was requested"
            return "reference"
        reason = None
        if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
            reason = f"rnnkit's C++ extension runs float32 or float64 on the CPU, not {x.dtype} on {x.device.type}"
        reason = reason or extension.unavailable()
        if self.impl == "extension":
            if reason is not None:
                raise RuntimeError(f"impl='extension' is not possible: {reason}")
            self.fast_path_reason = None
            return "extension"
        if self.impl == "fused":
            self.fast_path_reason = reason or "impl='fused' was requested"
            return "fused"
        self.fast_path_reason = reason
        return "fused" if reason else "extension"

    # --- what SequenceLayer asks of a layer --------------------------------------------------------------

    def _run(self, x: Tensor, state: Tensor, lengths: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        path = self._path(x)
        if path == "reference":
            return reference_forward(self, x, state, lengths)
        run_scan = self._scan_extension if path == "extension" else self._scan_torch
        mask = None if lengths is None else valid_mask(lengths, x.shape[1])
        if mask is not None:  # padding may hold anything, even NaN; keep it out of the products
            x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))

        def run_cell(layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Tensor]:
            reverse = cell.direction == 1
            if reverse:
                layer_input = layer_input.flip(1) if lengths is None else reverse_within_lengths(layer_input, lengths)
            output, final = run_scan(layer_input, cell, lengths, mask)
            if reverse:
                output = output.flip(1) if lengths is None else reverse_within_lengths(output, lengths)
            return output, final

        return run_stack(self, x, state, run_cell)

    def _step_cell(self, layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Tensor]:
        return UPDATES[self.mode](input_projection(layer_input, cell.weights), cell.state, cell.weights)

    def _scan_torch(self, x: Tensor, cell: StackCell, lengths: Optional[Tensor], mask: Optional[Tensor]):
        xi, h0 = input_projection(x, cell.weights), cell.state  # (B, T, G*H): the only matrix product
        if self.scan == "log-space":
            log_a, log_b = LOG_COEFFICIENTS[self.mode](xi)
            if mask is not None:  # a = 1, b = 0 at padded steps: the state passes through
                keep = mask.unsqueeze(-1)
                log_a = torch.where(keep, log_a, log_a.new_zeros(()))
                log_b = torch.where(keep, log_b, log_b.new_full((), -math.inf))
            h = scan_log_space(log_a, log_b, h0)
        else:
            a, b = COEFFICIENTS[self.mode](xi)
            if mask is not None:
                keep = mask.unsqueeze(-1)
                a, b = torch.where(keep, a, a.new_ones(())), torch.where(keep, b, b.new_zeros(()))
            h = scan_chunked(a, b, h0)
        final = h[:, -1]  # padded steps passed the state through: this is each sequence's own last state
        if mask is not None:
            h = torch.where(mask.unsqueeze(-1), h, h.new_zeros(()))
        return h, final

    def _scan_extension(self, x: Tensor, cell: StackCell, lengths: Optional[Tensor], mask: Optional[Tensor]):
        given = [] if lengths is None else lengths.tolist()
        h0, weight, bias = cell.state.contiguous(), cell.weights.weight_ih, cell.weights.bias_ih
        # bf16-mixed: the kernel rounds x and W to bfloat16 and runs the projection and dL/dx on its bfloat16
        # products (the weight comes as a bfloat16 copy: back to float32 here, exactly)
        bf16 = self.product_dtype is not None
        bias = weight.new_zeros(weight.shape[0], dtype=h0.dtype) if bias is None else bias
        return MinLayer.apply(KERNEL_MODES[self.mode], x.to(h0.dtype).contiguous(), weight.to(h0.dtype).contiguous(),
                              bias, h0, given, bf16)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", True), ("dropout", 0.0),
                              ("bidirectional", False), ("impl", "auto"), ("scan", "chunked"),
                              ("precision", "fp32")):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)!r}"
        return text


class MinLayer(torch.autograd.Function):
    """The extension's whole layer, projection included (``min_rnn_fused_*``):
    ``(x (B, T, I), weight (G*H, I), bias (G*H), h0 (B, H)) -> (output (B, T, H), h_n (B, H))``."""

    @staticmethod
    def forward(ctx, mode: int, x: Tensor, weight: Tensor, bias: Tensor, h0: Tensor, lengths: list[int],
                bf16: bool):
        output, h_n = extension.ops().min_rnn_fused_forward(mode, x, weight, bias, h0, lengths, bf16)
        ctx.save_for_backward(x, weight, bias, output, h0)
        ctx.mode, ctx.lengths, ctx.bf16 = mode, lengths, bf16
        return output, h_n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output: Tensor, grad_h_n: Tensor):
        x, weight, bias, output, h0 = ctx.saved_tensors
        d_x, d_weight, d_bias, d_h0 = extension.ops().min_rnn_fused_backward(
            ctx.mode, grad_output.contiguous(), grad_h_n.contiguous(), x, weight, bias, output, h0, ctx.lengths,
            ctx.needs_input_grad[1], ctx.bf16)
        return None, d_x if ctx.needs_input_grad[1] else None, d_weight, d_bias, d_h0, None, None


class MinGRU(MinRNN):
    """minGRU: ``h_t = (1 - z_t) h_{t-1} + z_t g(W_h x_t + b_h)``, ``z_t = sigmoid(W_z x_t + b_z)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **options: Any) -> None:
        super().__init__("MINGRU", input_size, hidden_size, num_layers, **options)


class MinLSTM(MinRNN):
    """minLSTM: ``h_t = f'_t h_{t-1} + i'_t g(W_h x_t + b_h)`` with the gates normalised, ``f' = f / (f + i)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **options: Any) -> None:
        super().__init__("MINLSTM", input_size, hidden_size, num_layers, **options)
