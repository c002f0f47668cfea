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

Two paths, one truth: ``impl="fused"`` hands the parameters to PyTorch's fused kernels (oneDNN/cuDNN);
``impl="reference"`` runs the readable loop in ``rnnkit.nn.reference``. ``impl="auto"`` takes the fused path
whenever the configuration allows and records in ``fast_path_reason`` why it did not. The loop over layers and
directions is ``rnnkit.nn.stack.run_stack``, shared by both paths (for variable lengths) and by ``step``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.nn.functional import UPDATES, input_projection, map_state
from rnnkit.nn.fused import fused_forward
from rnnkit.nn.init import init_cell_weights, norm_shapes
from rnnkit.nn.padding import Lengths, check_lengths, first_nonfinite, left_to_right, right_to_left, valid_mask
from rnnkit.nn.reference import reference_forward
from rnnkit.nn.stack import StackCell, run_stack

IMPLS = ("auto", "fused", "reference")


class RecurrentLayer(nn.RNNBase):
    """The shared layer; use ``RNN``, ``LSTM`` or ``GRU``. Built on ``torch.nn.RNNBase``, which owns the
    parameter layout (and cuDNN's weight flattening) so that both paths see the very same tensors."""

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

    def _fused_blocker(self) -> Optional[str]:
        """Why the fused kernels cannot compute this configuration (None when they can)."""
        if self.layer_norm:
            return "layer_norm=True: PyTorch's fused kernels have no layer normalisation"
        if self.recurrent_dropout > 0 and self.training:
            return "recurrent_dropout > 0 in training mode: the fused kernels have no variational dropout"
        return None

    def _use_fused(self) -> bool:
        if self.impl == "reference":
            self.fast_path_reason = "impl='reference' was requested"
            return False
        self.fast_path_reason = self._fused_blocker()
        if self.fast_path_reason is not None and self.impl == "fused":
            raise RuntimeError(f"impl='fused' is not possible: {self.fast_path_reason}")
        return self.fast_path_reason is None

    # --- forward -----------------------------------------------------------------------------------------

    def forward(
        self,
        input: Tensor,
        state: Any = None,
        lengths: Optional[Lengths] = None,
        padding_side: str = "right",
    ) -> tuple[Tensor, Any]:
        """Run the layer over whole sequences.

        Args:
            input: (B, T, I) (or (T, B, I) with ``batch_first=False``), or one unbatched sequence (T, I).
            state: initial state, zeros if None: (L*D, B, H_out), or (h_0, c_0) for the LSTM with
                c_0 (L*D, B, H). Unbatched: without the B dimension.
            lengths: (B,) true lengths of a padded batch, each in 1..T; None means all are T.
            padding_side: "right" (data first, padding after) or "left" (padding first).

        Returns:
            ``(output, final_state)``: output (B, T, D*H_out) in the input's layout, zero at padded steps;
            final_state in the layout of ``state``.
        """
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{self._name()}: expected input of rank 3 (batch, time, features) or 2 "
                             f"(time, features), got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}: expected {self.input_size} input features (input_size), "
                             f"got {input.shape[-1]} in input of shape {tuple(input.shape)}")
        unbatched = input.dim() == 2
        x = input.unsqueeze(0) if unbatched else (input if self.batch_first else input.transpose(0, 1))
        batch, steps = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{self._name()}: input has no time steps (shape {tuple(input.shape)})")
        if unbatched and state is not None:
            state = map_state(state, lambda s: s.unsqueeze(1))
        state = self._check_state(state, batch, x)

        if lengths is not None:
            lengths = check_lengths(lengths, batch, steps, x.device)
            if bool((lengths == steps).all()):
                lengths = None  # nothing is padded: skip masking and packing
            elif padding_side == "left":
                x = left_to_right(x, lengths)
        if self.check_finite:
            self._check_finite(x, lengths)

        if self._use_fused():
            output, final = fused_forward(self, x, state, lengths)
        else:
            output, final = reference_forward(self, x, state, lengths)

        if lengths is not None and padding_side == "left":
            output = right_to_left(output, lengths)
        if unbatched:
            return output.squeeze(0), map_state(final, lambda s: s.squeeze(1))
        return (output if self.batch_first else output.transpose(0, 1)), final

    def step(self, input: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One time step of a unidirectional layer: ``input`` (B, I) or (I,) -> ``(output (B, H_out), state)``.

        The same numbers as ``forward`` on a one-step sequence (tests hold them equal), through the cells'
        equations and the stack's loop (``rnnkit.nn.stack``): for one step a fused kernel's set-up costs more than
        the arithmetic. Dropout between layers applies in training, as in ``forward``. Everything that runs one
        step at a time (generation, decoders, streaming) calls this, never a loop of its own.
        ``state`` as in ``forward``: (L, B, H_out), or (h, c) for the LSTM; None starts from zeros.
        """
        if self.bidirectional:
            raise ValueError(f"{self._name()}.step: a bidirectional layer reads the whole sequence; use forward")
        if self.training and self.recurrent_dropout > 0:
            raise ValueError(f"{self._name()}.step: recurrent_dropout masks span a whole sequence; in training "
                             "use forward")
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}.step: expected input (batch, {self.input_size}) or "
                             f"({self.input_size},), got shape {tuple(input.shape)}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if unbatched and state is not None:
            state = map_state(state, lambda s: s.unsqueeze(1))
        state = self._check_state(state, x.shape[0], x)
        update = UPDATES[self.mode]

        def run_cell(layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Any]:  # (B, I) -> (B, H_out)
            return update(input_projection(layer_input, cell.weights), cell.state, cell.weights)

        output, final_state = run_stack(self, x, state, run_cell)
        if unbatched:
            return output.squeeze(0), map_state(final_state, lambda s: s.squeeze(1))
        return output, final_state

    def cells(self) -> list[tuple[int, int, str]]:
        """``(layer, direction, parameter suffix)`` of every cell, in the row order of the state (L*D, B, H)."""
        directions = 2 if self.bidirectional else 1
        return [(index, direction, f"_l{index}" + ("_reverse" if direction else ""))
                for index in range(self.num_layers) for direction in range(directions)]

    # --- checks ------------------------------------------------------------------------------------------

    def _name(self) -> str:
        return type(self).__name__

    def _state_shapes(self, batch: int) -> list[tuple[int, int, int]]:
        rows = self.num_layers * (2 if self.bidirectional else 1)
        h_size = self.proj_size or self.hidden_size
        if self.mode == "LSTM":
            return [(rows, batch, h_size), (rows, batch, self.hidden_size)]
        return [(rows, batch, h_size)]

    def _check_state(self, state: Any, batch: int, x: Tensor) -> Any:
        shapes = self._state_shapes(batch)
        if state is None:
            zeros = [torch.zeros(shape, dtype=x.dtype, device=x.device) for shape in shapes]
            return tuple(zeros) if self.mode == "LSTM" else zeros[0]
        given = list(state) if self.mode == "LSTM" else [state]
        if self.mode == "LSTM" and not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError(f"{self._name()}: state must be a pair (h_0, c_0)")
        for name, tensor, shape in zip(("h_0", "c_0"), given, shapes):
            if not isinstance(tensor, Tensor) or tuple(tensor.shape) != shape:
                got = tuple(tensor.shape) if isinstance(tensor, Tensor) else type(tensor).__name__
                raise ValueError(f"{self._name()}: {name} must have shape (num_layers * num_directions, batch, "
                                 f"hidden) = {shape}, got {got}")
        return tuple(given) if self.mode == "LSTM" else given[0]

    def _check_finite(self, x: Tensor, lengths: Optional[Tensor]) -> None:
        mask = None if lengths is None else valid_mask(lengths, x.shape[1])
        where = first_nonfinite(x, mask)
        if where is not None:
            b, t, f = where
            raise ValueError(f"{self._name()}: input holds NaN or Inf at sequence {b}, step {t}, feature {f} "
                             f"(value {x[b, t, f].item()})")

    def extra_repr(self) -> str:
        text = super().extra_repr()
        for name, default in (("recurrent_dropout", 0.0), ("layer_norm", False), ("impl", "auto")):
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


LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
"""Layer classes by the short names configs and the CLI use."""


def make_layer(cell: str, input_size: int, hidden_size: int, **kwargs: Any) -> RecurrentLayer:
    """``make_layer("lstm", 8, 64, num_layers=2)``: a layer by its short name (``rnn``, ``lstm``, ``gru``)."""
    if cell not in LAYERS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(LAYERS)}")
    return LAYERS[cell](input_size, hidden_size, **kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
