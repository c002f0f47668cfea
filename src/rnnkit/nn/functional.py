"""The recurrent equations, written once.

Every cell and every layer in rnnkit calls these pure functions; nothing else holds recurrent math.
Shapes: B batch, I input size, H hidden size, P projection size (LSTM ``proj_size``), G gates (1, 3 or 4).

Each cell comes in two parts so a layer can hoist the input matrix product out of the time loop:

- ``input_projection(x, w)``: ``W_ih x_t + b_ih`` for one step ``(B, I)`` or a whole sequence ``(B, T, I)``;
- ``<cell>_update(xi, state, w)``: the rest of one step, given that projection.

``rnn_step``, ``lstm_step`` and ``gru_step`` are the two composed: the textbook step.

Weights are PyTorch's, in PyTorch's fused gate order (LSTM: i, f, g, o; GRU: r, z, n), so parameters taken
from ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` (or their cells) give the same numbers.

Mixed precision: when the weights of the matrix products are in another dtype than the state (bfloat16 copies
under ``precision="bf16-mixed"``, see ``rnnkit.nn.precision``), each product reads its input in the weights'
dtype and returns to the state's dtype; biases, gates and states stay in the state's dtype. Under
``precision="int8"`` (inference) both products are ``int8_product``: inputs and weights quantized to 8 bits.

Layer normalisation (Ba et al. 2016, placed as in haste's LayerNormLSTM/GRU) is optional: when a norm is given,
the input and the recurrent products are each normalised before the biases are added,
``LN(W_ih x_t) + b_ih + LN(W_hh h_{t-1}) + b_hh``, and the LSTM cell state is normalised before its tanh.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn.precision import quantize_rows, quantized_weight

LSTMState = Tuple[Tensor, Tensor]  # (h, c): (B, P or H), (B, H)


class Norm(NamedTuple):
    """Layer-norm parameters: scale ``weight`` and optional shift ``bias`` over the last dimension."""

    weight: Tensor
    bias: Optional[Tensor] = None


class CellWeights(NamedTuple):
    """The parameters of one cell (one layer, one direction), as PyTorch names them."""

    weight_ih: Tensor  # (G*H, I)
    weight_hh: Tensor  # (G*H, P or H)
    bias_ih: Optional[Tensor] = None  # (G*H,)
    bias_hh: Optional[Tensor] = None  # (G*H,)
    weight_hr: Optional[Tensor] = None  # (P, H): LSTM projection of h, or None
    norm_ih: Optional[Norm] = None  # LN over W_ih x_t (G*H)
    norm_hh: Optional[Norm] = None  # LN over W_hh h_{t-1} (G*H)
    norm_cell: Optional[Norm] = None  # LN over the LSTM cell state c_t (H)
    int8: bool = False  # W_ih x_t and W_hh h_{t-1} as int8_product (precision="int8")


def _normalise(v: Tensor, norm: Optional[Norm]) -> Tensor:
    if norm is None:
        return v
    return F.layer_norm(v, v.shape[-1:], norm.weight, norm.bias)


def _product(v: Tensor, weight: Tensor) -> Tensor:
    """``W v`` in the weight's dtype, returned in ``v``'s (see mixed precision in the module docstring)."""
    if weight.dtype == v.dtype:
        return F.linear(v, weight)
    return F.linear(v.to(weight.dtype), weight).to(v.dtype)


def int8_product(v: Tensor, weight: Tensor) -> Tensor:
    r"""``W v`` with both quantized to 8 bits per row (``quantize_rows``): :math:`s_v s_W \sum_k q_v[k] q_W[k]`.

    The sum is of integers (exact in float32 for up to 1024 terms), so this reference and the C++ kernel
    (csrc/int8_gemm.h) give the same numbers up to the order of the two scales' product."""
    q_v, scale_v = quantize_rows(v)
    q_w, scale_w = quantized_weight(weight)
    return (q_v.to(v.dtype) @ q_w.to(v.dtype).t()) * (scale_v * scale_w.to(v.dtype))


def _affine(v: Tensor, weight: Tensor, bias: Optional[Tensor], norm: Optional[Norm], int8: bool = False) -> Tensor:
    """``W v + b``, or ``LN(W v) + b`` when a norm is given (the bias stays outside the norm); ``W v`` in 8 bits
    with ``int8``."""
    if norm is None and weight.dtype == v.dtype and not int8:
        return F.linear(v, weight, bias)
    projected = _normalise((int8_product if int8 else _product)(v, weight), norm)
    return projected if bias is None else projected + bias


def input_projection(x: Tensor, w: CellWeights) -> Tensor:
    """``W_ih x + b_ih``: (B, I) -> (B, G*H), or a whole sequence (B, T, I) -> (B, T, G*H) at once."""
    return _affine(x, w.weight_ih, w.bias_ih, w.norm_ih, w.int8)


def hidden_projection(h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None) -> Tensor:
    """``W_hh h_{t-1} + b_hh``: (B, H) -> (B, G*H).

    ``h_mask`` is the recurrent (variational) dropout mask (Gal & Ghahramani 2016): one mask per sequence,
    already scaled by 1/(1-p), applied to the state where it enters the recurrent product only.
    """
    if h_mask is not None:
        h = h * h_mask
    return _affine(h, w.weight_hh, w.bias_hh, w.norm_hh, w.int8)


# --- Elman -----------------------------------------------------------------------------------------------


def rnn_update(
    xi: Tensor, h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None, nonlinearity: str = "tanh"
) -> Tuple[Tensor, Tensor]:
    """One Elman step given ``xi = W_ih x_t + b_ih`` (B, H). Returns ``(y_t, h_t)`` with ``y_t = h_t``."""
    pre_activation = xi + hidden_projection(h, w, h_mask)  # (B, H)
    h = torch.tanh(pre_activation) if nonlinearity == "tanh" else torch.relu(pre_activation)
    return h, h


def rnn_step(
    x: Tensor, h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None, nonlinearity: str = "tanh"
) -> Tuple[Tensor, Tensor]:
    r"""Elman (1990): :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})` (or ReLU).

    The output layer of the classic formulation, :math:`y_t = W_{hy} h_t`, belongs to the task head.
    ``x`` (B, I), ``h`` (B, H) -> ``(y_t, h_t)``, both (B, H).
    """
    return rnn_update(input_projection(x, w), h, w, h_mask, nonlinearity)


# --- LSTM ------------------------------------------------------------------------------------------------


def lstm_update(
    xi: Tensor, state: LSTMState, w: CellWeights, h_mask: Optional[Tensor] = None
) -> Tuple[Tensor, LSTMState]:
    """One LSTM step given ``xi = W_ih x_t + b_ih`` (B, 4H). Returns ``(y_t, (h_t, c_t))`` with ``y_t = h_t``."""
    h, c = state
    gates = xi + hidden_projection(h, w, h_mask)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # (B, H) each
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c = f * c + i * g  # (B, H)
    h = o * torch.tanh(_normalise(c, w.norm_cell))  # (B, H)
    if w.weight_hr is not None:
        h = _product(h, w.weight_hr)  # (B, P)
    return h, (h, c)


def lstm_step(
    x: Tensor, state: LSTMState, w: CellWeights, h_mask: Optional[Tensor] = None
) -> Tuple[Tensor, LSTMState]:
    r"""LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    .. math::
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})   &\text{input gate: what enters}\\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})   &\text{forget gate: what is kept}\\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})    &\text{candidate values}\\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})   &\text{output gate: what is shown}\\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)  \quad (\text{then } h_t = W_{hr} h_t \text{ with a projection})

    ``x`` (B, I), ``state = (h, c)`` ((B, P or H), (B, H)) -> ``(y_t, (h_t, c_t))``.
    """
    return lstm_update(input_projection(x, w), state, w, h_mask)


# --- GRU -------------------------------------------------------------------------------------------------


def gru_update(
    xi: Tensor, h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor]:
    """One GRU step given ``xi = W_ih x_t + b_ih`` (B, 3H). Returns ``(y_t, h_t)`` with ``y_t = h_t``."""
    x_r, x_z, x_n = xi.chunk(3, dim=-1)  # (B, H) each
    h_r, h_z, h_n = hidden_projection(h, w, h_mask).chunk(3, dim=-1)  # (B, H) each
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h = (1 - z) * n + z * h  # (B, H)
    return h, h


def gru_step(
    x: Tensor, h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor]:
    r"""GRU (Cho et al. 2014) in PyTorch's (and cuDNN's) convention.

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})  &\text{reset gate}\\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})  &\text{update gate}\\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Deliberate deviation from the paper, as in PyTorch: the reset gate multiplies the recurrent product
    ``r * (W_hn h + b_hn)``; Cho et al. apply it before the product, ``W_hn (r * h)``. The two are different
    functions; this form lets all three recurrent products share one matrix multiply and matches cuDNN.
    ``x`` (B, I), ``h`` (B, H) -> ``(y_t, h_t)``, both (B, H).
    """
    return gru_update(input_projection(x, w), h, w, h_mask)


# --- minGRU and minLSTM ----------------------------------------------------------------------------------


def min_candidate(k: Tensor) -> Tensor:
    """``g(k) = k + 1/2`` for ``k >= 0``, ``sigmoid(k)`` below: positive and continuous (Feng et al. 2024, log-space
    version), so a state that starts at zero stays positive and the log-space scan can run."""
    return torch.where(k >= 0, k + 0.5, torch.sigmoid(k))


def log_min_candidate(k: Tensor) -> Tensor:
    """``log g(k)``, computed without forming ``g``: ``log(k + 1/2)`` or ``-softplus(-k)``."""
    return torch.where(k >= 0, torch.log(k.clamp_min(0) + 0.5), -F.softplus(-k))


def mingru_coefficients(xi: Tensor) -> Tuple[Tensor, Tensor]:
    r"""minGRU's step as the linear recurrence :math:`h_t = a_t h_{t-1} + b_t`; ``xi`` (..., 2H) = ``W x_t + b``.

    .. math::
        z_t = \sigma(k^z_t), \quad \tilde h_t = g(k^h_t), \quad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    Returns ``(a, b) = (1 - z, z * h~)``, (..., H) each.
    """
    k_z, k_h = xi.chunk(2, dim=-1)
    z = torch.sigmoid(k_z)
    return 1 - z, z * min_candidate(k_h)


def minlstm_coefficients(xi: Tensor) -> Tuple[Tensor, Tensor]:
    r"""minLSTM's step as :math:`h_t = a_t h_{t-1} + b_t`; ``xi`` (..., 3H) = ``W x_t + b`` (gates f, i, h).

    .. math::
        f_t = \sigma(k^f_t), \quad i_t = \sigma(k^i_t), \quad \tilde h_t = g(k^h_t), \quad
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t

    The gates are normalised to sum to one, as the paper's minLSTM does, so the state stays on the candidates'
    scale. Returns ``(a, b)``, (..., H) each.
    """
    k_f, k_i, k_h = xi.chunk(3, dim=-1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    return f / (f + i), i / (f + i) * min_candidate(k_h)


def mingru_log_coefficients(xi: Tensor) -> Tuple[Tensor, Tensor]:
    """``(log a, log b)`` of ``mingru_coefficients``, computed stably in log space (for the log-space scan)."""
    k_z, k_h = xi.chunk(2, dim=-1)
    return -F.softplus(k_z), -F.softplus(-k_z) + log_min_candidate(k_h)


def minlstm_log_coefficients(xi: Tensor) -> Tuple[Tensor, Tensor]:
    """``(log a, log b)`` of ``minlstm_coefficients``, computed stably in log space (for the log-space scan)."""
    k_f, k_i, k_h = xi.chunk(3, dim=-1)
    log_f, log_i = -F.softplus(-k_f), -F.softplus(-k_i)
    log_sum = torch.logaddexp(log_f, log_i)
    return log_f - log_sum, log_i - log_sum + log_min_candidate(k_h)


def _min_update(coefficients):
    def update(xi: Tensor, h: Tensor, w: CellWeights, h_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        a, b = coefficients(xi)
        h = a * h + b
        return h, h

    return update


# --- dispatch by PyTorch's mode names ---------------------------------------------------------------------


def _rnn_tanh(xi, h, w, h_mask=None):
    return rnn_update(xi, h, w, h_mask, "tanh")


def _rnn_relu(xi, h, w, h_mask=None):
    return rnn_update(xi, h, w, h_mask, "relu")


def map_state(state, fn):
    """Apply ``fn`` to a state: a tensor, or each tensor of an LSTM's ``(h, c)``."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def select_row(state, k: int):
    """Row ``k`` of a layer state in PyTorch's layout (L*D, B, H): one cell's state (B, H), or its ``(h, c)``."""
    return tuple(s[k] for s in state) if isinstance(state, tuple) else state[k]


def stack_rows(states: list):
    """The inverse of ``select_row``: per-cell states, in row order, stacked into (L*D, B, H) (or ``(h, c)``)."""
    if isinstance(states[0], tuple):
        return tuple(torch.stack(parts) for parts in zip(*states))
    return torch.stack(states)


UPDATES = {"LSTM": lstm_update, "GRU": gru_update, "RNN_TANH": _rnn_tanh, "RNN_RELU": _rnn_relu,
           "MINGRU": _min_update(mingru_coefficients), "MINLSTM": _min_update(minlstm_coefficients)}
"""mode -> ``update(xi, state, w, h_mask) -> (y_t, state)``: one step given the input projection."""

COEFFICIENTS = {"MINGRU": mingru_coefficients, "MINLSTM": minlstm_coefficients}
LOG_COEFFICIENTS = {"MINGRU": mingru_log_coefficients, "MINLSTM": minlstm_log_coefficients}
"""mode -> the min cells' step as the linear recurrence ``h_t = a_t h_{t-1} + b_t``: ``(a, b)``, or their logs."""


def cell_weights(module: torch.nn.Module, suffix: str = "", product_dtype: Optional[torch.dtype] = None,
                 int8: bool = False) -> CellWeights:
    """Collect one cell's parameters from ``module`` by PyTorch's names plus ``suffix`` (``""``, ``"_l1_reverse"``).

    ``product_dtype`` (bfloat16 under mixed precision): the matrix-product weights come as copies in that dtype
    (gradients flow back through the cast to the parameters); biases and norms stay as they are.
    ``int8`` (precision="int8"): the products are marked for ``int8_product``, which quantizes the weights.
    """

    def get(name: str) -> Optional[Tensor]:
        return getattr(module, name + suffix, None)

    def product_weight(name: str) -> Optional[Tensor]:
        weight = get(name)
        return weight if weight is None or product_dtype is None else weight.to(product_dtype)

    def norm(name: str, with_bias: bool = False) -> Optional[Norm]:
        weight = get(f"norm_{name}_weight")
        if weight is None:
            return None
        return Norm(weight, get(f"norm_{name}_bias") if with_bias else None)

    return CellWeights(
        weight_ih=product_weight("weight_ih"),
        weight_hh=product_weight("weight_hh"),
        bias_ih=get("bias_ih"),
        bias_hh=get("bias_hh"),
        weight_hr=product_weight("weight_hr"),
        norm_ih=norm("ih"),
        norm_hh=norm("hh"),
        norm_cell=norm("cell", with_bias=True),
        int8=int8,
    )
