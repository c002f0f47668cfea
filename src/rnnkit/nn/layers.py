"""Recurrent layers: the loop over time, stacking, directions and variable lengths around the cells' equations.

``RNN``, ``LSTM`` and ``GRU`` take PyTorch's constructor words and keep PyTorch's parameter names
(``weight_ih_l0``, ``weight_hh_l0_reverse``, ``weight_hr_l0``, ...), so a ``torch.nn.LSTM`` state dict loads
into ``rnnkit.nn.LSTM`` and back unchanged. Differences from ``torch.nn``, all deliberate:

- batch first by default: input (B, T, I), output (B, T, D*H_out). The state keeps PyTorch's layout,
  (num_layers * D, B, H), so states move freely between the two libraries.
- ``forward(x, state=None, lengths=None, padding_side="right")``: variable-length batches without packing.
  Padded steps never change the result, the final state is each sequence's state at its own last step, and
  outputs at padded steps are zero. Left padding is accepted too.
- ``recurrent_dropout``: variational dropout on the state entering the recurrent product (Gal & Ghahramani 2016).
- ``layer_norm``: layer normalisation inside the cells (as in haste); see ``rnnkit.nn.functional``.
- initialisation: orthogonal recurrent weights and LSTM forget-gate bias 1 (see ``rnnkit.nn.init``).

Three paths, one truth (parity tests hold them together):

- ``impl="fused"``: the parameters handed to PyTorch's fused kernels (oneDNN on CPU, cuDNN on GPU);
- ``impl="extension"``: rnnkit's C++ loop (``rnnkit.nn.recurrence``; CPU; built on first use): one fused pass
  over the gates per step, forward and backward. ``torch.nn.GRU`` and ``RNN`` have no oneDNN kernel on the CPU
  and the LSTM's oneDNN backward is slow, so this path trains all three faster than ``torch.nn``;
- ``impl="reference"``: the readable loop in ``rnnkit.nn.reference``; the only one with layer normalisation and
  recurrent dropout.

``impl="auto"`` takes the path measured fastest (``bench/bench_speed.py``): on the CPU the extension (for LSTM
inference as fast as oneDNN's forward kernel at the layer bench's shapes, and up to twice as fast at small ones on
two threads); on GPUs the fused kernels. When it cannot take that path it records why in ``fast_path_reason``.

``precision="bf16-mixed"`` runs the matrix products in bfloat16 with float32 weights and states (see
``rnnkit.nn.precision``); refused with the reason on CPUs without bfloat16 instructions.

The loop over layers and directions is ``rnnkit.nn.stack.run_stack``, shared by every path and by ``step``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.nn import extension
from rnnkit.nn.functional import UPDATES, input_projection
from rnnkit.nn.fused import fused_forward
from rnnkit.nn.init import init_cell_weights, norm_shapes
from rnnkit.nn.min_rnn import MinGRU, MinLSTM, MinRNN
from rnnkit.nn.precision import check_precision, product_dtype
from rnnkit.nn.recurrence import extension_forward
from rnnkit.nn.reference import reference_forward
from rnnkit.nn.sequence_layer import SequenceLayer
from rnnkit.nn.stack import StackCell

IMPLS = ("auto", "fused", "extension", "reference")
FORWARDS = {"fused": fused_forward, "extension": extension_forward, "reference": reference_forward}


class RecurrentLayer(SequenceLayer, nn.RNNBase):
    """The shared layer; use ``RNN``, ``LSTM`` or ``GRU``. Built on ``torch.nn.RNNBase``, which owns the
    parameter layout (and cuDNN's weight flattening) so that every path sees the very same tensors;
    ``SequenceLayer`` gives it ``forward``, ``step`` and ``cells``."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        impl: str = "auto",
        precision: str = "fp32",
        check_finite: bool = False,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if not 0.0 <= recurrent_dropout < 1.0:
            raise ValueError(f"recurrent_dropout must be in [0, 1), got {recurrent_dropout}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size is supported by LSTM only")
        check_precision(precision, device)
        if dropout > 0 and num_layers == 1:
            raise ValueError(
                f"dropout={dropout} applies between stacked layers, but num_layers=1; "
                "use num_layers > 1, or recurrent_dropout for dropout inside a single layer"
            )
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)
        self.recurrent_dropout = float(recurrent_dropout)
        self.layer_norm = layer_norm
        self.impl = impl
        self.precision = precision
        self.check_finite = check_finite
        self.fast_path_reason: Optional[str] = None
        if layer_norm:
            for suffix in self._suffixes():
                for name, (size, value) in norm_shapes(mode, hidden_size).items():
                    self.register_parameter(name + suffix,
                                            nn.Parameter(torch.full((size,), value, device=device, dtype=dtype)))
        if impl == "fused" and self._fused_blocker() is not None:
            raise ValueError(f"impl='fused' is not possible: {self._fused_blocker()}")

    # --- parameters --------------------------------------------------------------------------------------

    def _suffixes(self) -> list[str]:
        return [suffix for _, _, suffix in self.cells()]

    def reset_parameters(self) -> None:
        # Called by RNNBase.__init__ before the layer-norm parameters exist, and again by users.
        for suffix in self._suffixes():
            get = lambda name: getattr(self, name + suffix, None)  # noqa: E731
            init_cell_weights(self.mode, get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                              get("weight_hr"))
            if getattr(self, "layer_norm", False):
                with torch.no_grad():
                    for name, (_, value) in norm_shapes(self.mode, self.hidden_size).items():
                        get(name).fill_(value)

    # --- the path taken ----------------------------------------------------------------------------------

    @property
    def product_dtype(self) -> Optional[torch.dtype]:
        """The dtype of the matrix products (bfloat16 under ``precision="bf16-mixed"``); None: the weights'."""
        return product_dtype(self.precision)

    def _reference_only(self) -> Optional[str]:
        if self.layer_norm:
            return "layer_norm=True: only the reference path has layer normalisation"
        if self.recurrent_dropout > 0 and self.training:
            return "recurrent_dropout > 0 in training mode: only the reference path has variational dropout"
        return None

    def _fused_blocker(self, x: Optional[Tensor] = None) -> Optional[str]:
        """Why PyTorch's fused kernels cannot compute this configuration (None when they can)."""
        reason = self._reference_only()
        if reason is not None:
            return reason.replace("only the reference path has", "PyTorch's fused kernels have no")
        if self.precision == "int8":
            return "int8: PyTorch's fused kernels have no 8-bit recurrent product"
        if self.product_dtype is not None:
            if self.mode != "LSTM":
                return "bf16-mixed: PyTorch's fused GRU and RNN kernels would keep the state in bfloat16"
            if self.proj_size or (x is not None and x.device.type != "cpu"):
                return "bf16-mixed: only oneDNN's LSTM kernel (CPU, no proj_size) keeps the cell state in float32"
        return None

    def _extension_blocker(self, x: Tensor) -> Optional[str]:
        """Why rnnkit's C++ extension cannot compute this call (None when it can)."""
        reason = self._reference_only()
        if reason is not None:
            return reason
        if x.device.type != "cpu":
            return f"rnnkit's C++ extension runs on the CPU, not {x.device.type}"
        if x.dtype not in (torch.float32, torch.float64) or (x.dtype == torch.float64 and self.product_dtype):
            return f"rnnkit's C++ extension computes in float32 or float64 (bf16-mixed: float32), not {x.dtype}"
        if self.proj_size:
            return "proj_size > 0: rnnkit's C++ extension has no LSTM projection"
        if self.precision == "int8" and extension.unavailable() is None:
            if x.dtype != torch.float32:
                return f"int8: rnnkit's C++ extension keeps the state in float32, not {x.dtype}"
            if "int8" not in extension.compiled_kernels():
                return "int8: rnnkit's C++ extension was built without AVX-512 VNNI"
        return extension.unavailable()

    def _preferred(self, x: Tensor) -> str:
        """The path measured fastest for this call (bench/bench_speed.py, "paths" table): on the CPU the
        extension. ``torch.nn`` has no oneDNN kernel for GRU and RNN, oneDNN's LSTM backward is slow, and its LSTM
        forward is no faster than the extension's (fp32 and bf16-mixed, one thread and two; at B16 T50 H64 on two
        threads the extension takes half its time)."""
        if x.device.type != "cpu" or torch.onnx.is_in_onnx_export():
            return "fused"  # cuDNN; an ONNX export writes PyTorch's recurrent ops, not the extension's
        return "extension"

    def _wants_grad(self, x: Tensor) -> bool:
        return torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self.parameters()))

    def _refuse_int8_gradients(self, x: Tensor) -> None:
        """An int8 product has no gradient (rounding's is zero): a pass that needs one would train on zeros."""
        if self.precision == "int8" and self._wants_grad(x):
            raise RuntimeError("precision='int8' runs inference only (8-bit products have no gradient): train at "
                               "'fp32' or 'bf16-mixed', then run under torch.no_grad() or torch.inference_mode()")

    def _path(self, x: Tensor) -> str:
        """The path this call takes (a key of ``FORWARDS``); records in ``fast_path_reason`` why not a faster one."""
        blockers = {"fused": lambda: self._fused_blocker(x), "extension": lambda: self._extension_blocker(x),
                    "reference": lambda: None}
        if self.impl != "auto":
            reason = blockers[self.impl]()
            if reason is not None:
                raise RuntimeError(f"impl={self.impl!r} is not possible: {reason}")
            self.fast_path_reason = f"impl={self.impl!r} was requested" if self.impl != self._preferred(x) else None
            return self.impl
        preferred = self._preferred(x)
        self.fast_path_reason = blockers[preferred]()
        if self.fast_path_reason is None:
            return preferred
        fallback = "extension" if preferred == "fused" else "fused"
        return fallback if blockers[fallback]() is None else "reference"

    # --- what SequenceLayer asks of a layer --------------------------------------------------------------

    def _run(self, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
        self._refuse_int8_gradients(x)
        return FORWARDS[self._path(x)](self, x, state, lengths)

    def _step_cell(self, layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Any]:
        """One step of one cell, through the cells' equations: (B, I) -> (B, H_out)."""
        self._refuse_int8_gradients(layer_input)
        return UPDATES[self.mode](input_projection(layer_input, cell.weights), cell.state, cell.weights)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        for name, default in (("recurrent_dropout", 0.0), ("layer_norm", False), ("impl", "auto"),
                              ("precision", "fp32")):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)!r}"
        return text



class RNN(RecurrentLayer):
    """Elman RNN layer: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (``nonlinearity="relu"`` for ReLU).

    Arguments as ``torch.nn.RNN`` (batch first by default) plus ``recurrent_dropout``, ``layer_norm``, ``impl``,
    ``check_finite``; see the module docstring.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 **options: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, **options)


class LSTM(RecurrentLayer):
    """LSTM layer (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000); state ``(h, c)``.

    Arguments as ``torch.nn.LSTM`` (batch first by default, ``proj_size`` supported) plus ``recurrent_dropout``,
    ``layer_norm``, ``impl``, ``check_finite``; see the module docstring and ``functional.lstm_step``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 **options: Any) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, **options)


class GRU(RecurrentLayer):
    """GRU layer in PyTorch's r, z, n convention (see ``functional.gru_step`` for the deviation from the paper).

    Arguments as ``torch.nn.GRU`` (batch first by default) plus ``recurrent_dropout``, ``layer_norm``, ``impl``,
    ``check_finite``; see the module docstring.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 **options: Any) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         **options)


LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM}
"""Layer classes by the short names configs and the CLI use."""


def make_layer(cell: str, input_size: int, hidden_size: int, **kwargs: Any) -> RecurrentLayer | MinRNN:
    """``make_layer("lstm", 8, 64, num_layers=2)``: a layer by its short name (a key of ``LAYERS``)."""
    if cell not in LAYERS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(LAYERS)}")
    return LAYERS[cell](input_size, hidden_size, **kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
