"""``SequenceLayer``: what every recurrent layer of rnnkit shares, whatever its cells and paths.

The protocol (tested on every cell): ``forward(x, state=None, lengths=None, padding_side="right")`` over whole
sequences, batch first, ``step(x_t, state)`` for one step of a unidirectional layer, the state in PyTorch's
layout (L*D, B, H) (or ``(h, c)`` for the LSTM), ``cells()`` listing (layer, direction, parameter suffix).
This class checks the inputs, handles unbatched input, ``batch_first=False`` and left padding once, and asks
the concrete layer for two things only:

- ``_run(x, state, lengths)``: the whole stack over right-padded, batch-first ``x`` (B, T, I);
- ``_step_cell(x_t, cell)``: one step of one cell of the stack (``rnnkit.nn.stack.StackCell``).

It expects the attributes of ``torch.nn.RNNBase``: ``mode``, ``input_size``, ``hidden_size``, ``num_layers``,
``bidirectional``, ``batch_first``, ``dropout``, ``check_finite`` (and ``proj_size``, ``recurrent_dropout``
where they exist).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rnnkit.nn.functional import map_state
from rnnkit.nn.padding import Lengths, check_lengths, first_nonfinite, left_to_right, right_to_left, valid_mask
from rnnkit.nn.stack import StackCell, run_stack


class SequenceLayer:
    """Mixin: ``forward``, ``step``, ``cells`` and the input checks of a recurrent layer (see the module doc)."""

    def _run(self, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
        raise NotImplementedError

    def _step_cell(self, layer_input: Tensor, cell: StackCell) -> tuple[Tensor, Any]:
        raise NotImplementedError

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

        output, final = self._run(x, state, lengths)

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
        if self.training and getattr(self, "recurrent_dropout", 0.0) > 0:
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
        output, final_state = run_stack(self, x, state, self._step_cell)
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
        h_size = getattr(self, "proj_size", 0) or self.hidden_size
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
