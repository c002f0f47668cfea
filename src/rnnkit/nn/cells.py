"""Cells: one time step each. The layer (``rnnkit.nn.layers``) is the loop.

The cell protocol (as Keras' ``RNN(cell)`` and equinox cells):

- ``forward(x_t, state=None) -> (y_t, state)``: one step; ``x_t`` is (B, I) or (I,); ``state=None`` starts
  from zeros;
- ``init_state(batch_size) -> state``: zeros; a tensor (B, H), or ``(h, c)`` for the LSTM.

Parameters carry PyTorch's names and fused gate order (``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``,
``bias_ih``, ``bias_hh``), so ``torch.nn.LSTMCell``/``GRUCell``/``RNNCell`` state dicts load into these cells
and back unchanged. With ``layer_norm=True`` the cell has extra ``norm_*`` parameters (see
``rnnkit.nn.functional``). Note the call convention differs from ``torch.nn.LSTMCell``, which returns
``(h, c)``: here every cell returns ``(output, state)``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.nn import functional as F
from rnnkit.nn.init import GATES, init_cell_weights, norm_shapes


class RecurrentCell(nn.Module):
    """Base of the three cells; ``mode`` is PyTorch's name for the equations (``"LSTM"``, ``"GRU"``, ``"RNN_TANH"``)."""

    mode: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        layer_norm: bool = False,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}")
        factory = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias, self.layer_norm = input_size, hidden_size, bias, layer_norm
        gate_size = GATES[self.mode] * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gate_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gate_size, hidden_size, **factory))
        self.bias_ih = nn.Parameter(torch.empty(gate_size, **factory)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(gate_size, **factory)) if bias else None
        if layer_norm:
            for name, (size, value) in norm_shapes(self.mode, hidden_size).items():
                setattr(self, name, nn.Parameter(torch.full((size,), value, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_cell_weights(self.mode, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if self.layer_norm:
            with torch.no_grad():
                for name, (_, value) in norm_shapes(self.mode, self.hidden_size).items():
                    getattr(self, name).fill_(value)

    def init_state(self, batch_size: int, device: Any = None, dtype: Optional[torch.dtype] = None) -> Any:
        like = self.weight_hh
        return torch.zeros(batch_size, self.hidden_size, device=device or like.device, dtype=dtype or like.dtype)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input (batch, {self.input_size}) or ({self.input_size},), "
                f"got shape {tuple(x.shape)}"
            )
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
            state = None if state is None else F.map_state(state, lambda s: s.unsqueeze(0))
        if state is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        weights = F.cell_weights(self)
        y, state = F.UPDATES[self.mode](F.input_projection(x, weights), state, weights)
        if unbatched:
            y, state = y.squeeze(0), F.map_state(state, lambda s: s.squeeze(0))
        return y, state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}, layer_norm={self.layer_norm}"



class RNNCell(RecurrentCell):
    """Elman cell, ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (or ReLU); see ``functional.rnn_step``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, **kwargs)


class LSTMCell(RecurrentCell):
    """LSTM cell with input, forget and output gates; state ``(h, c)``. See ``functional.lstm_step``."""

    mode = "LSTM"

    def init_state(self, batch_size: int, device: Any = None, dtype: Optional[torch.dtype] = None) -> Any:
        h = super().init_state(batch_size, device, dtype)
        return h, torch.zeros_like(h)


class GRUCell(RecurrentCell):
    """GRU cell in PyTorch's r, z, n convention. See ``functional.gru_step`` for the deviation from the paper."""

    mode = "GRU"
