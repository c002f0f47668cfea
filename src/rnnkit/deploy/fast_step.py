"""The batch-1 streaming route: a recurrent layer's step in NumPy, on weights laid out once.

At batch 1 a step is a few small products and a dozen elementwise operations, so its cost is the per-call overhead
of the library, not the arithmetic. Measured with ``bench/bench_stream.py`` (LSTM, I=32, H=128 and 256, 1 thread,
five runs on the busy 2-core machine kind), as multiples of a hand-written NumPy step: ``layer.step`` under
``inference_mode`` 2.8-7.3x, a lean PyTorch step (``addmm``, no autograd) 1.6-3.0x, ``nn.LSTMCell`` 1.9-3.7x,
onnxruntime on the exported graph 1.0-1.9x, this route 0.9-1.25x. So streaming runs here, and the PyTorch route
(``layer.step``) stays the reference: tests hold the two equal on every cell, stacked and projected.

The equations are ``rnnkit.nn.functional``'s, in the same gate order (LSTM i, f, g, o; GRU r, z, n with the reset
gate on the recurrent product): the fast path is a copy of them for another library, tied to them by tests.
Layer normalisation is not copied: ``numpy_blocker`` says so and the stream takes ``layer.step`` instead.

NumPy's BLAS runs on one thread during a step when a product is large enough for OpenBLAS to split it over its
threads (``BLAS_THREADED``: K x N >= 4 x 65536, OpenBLAS's GEMM_MULTITHREAD_THRESHOLD times SMP_THRESHOLD_MIN): for
one row that costs far more than it saves (measured on the 2-core machine kind with other jobs running: 6.4 ms for
one (1, 512) x (512, 1024) product on 2 threads, 0.09 ms on one). Holding and restoring the count costs about 7 us,
so smaller models skip it.

Per cell the weights are transposed and made contiguous once (``W_ih^T`` (I, G*H), ``W_hh^T`` (H_out, G*H)); a
chunk of T steps projects its inputs with one product ``X W_ih^T + b`` (T, G*H), then each step adds
``h W_hh^T`` and applies the gates.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Optional

import numpy as np
import torch


BLAS_THREADED = 4 * 65536  # K x N of a (1, K) x (K, N) product from which OpenBLAS uses several threads


@functools.lru_cache(maxsize=1)
def _blas_libraries() -> tuple[Any, ...]:
    """The BLAS libraries NumPy calls, as threadpoolctl finds them (once: the search takes milliseconds)."""
    try:
        import threadpoolctl
    except ImportError:  # without it BLAS keeps its own thread count
        return ()
    return tuple(lib for lib in threadpoolctl.ThreadpoolController().lib_controllers if lib.user_api == "blas")


class one_blas_thread:  # noqa: N801 (a context manager, used as `with one_blas_thread():`)
    """Hold NumPy's BLAS to one thread inside the block, then restore its count."""

    def __enter__(self) -> None:
        self.previous = [(lib, lib.get_num_threads()) for lib in _blas_libraries()]
        for lib, _ in self.previous:
            lib.set_num_threads(1)

    def __exit__(self, *_: Any) -> None:
        for lib, count in self.previous:
            lib.set_num_threads(count)


class NumpyCell(NamedTuple):
    """One cell (layer, direction 0) as float32 arrays: ``w_ih`` (I, G*H), ``w_hh`` (H_out, G*H) and both stacked,
    ``w_cat`` (I + H_out, G*H), for a single step's one product ``[x, h] W_cat``; ``b_x`` (G*H,) is b_ih + b_hh but
    for the GRU's n part, whose recurrent bias ``b_hn`` (H,) stays apart: the reset gate multiplies it."""

    w_ih: np.ndarray
    w_hh: np.ndarray
    w_cat: np.ndarray
    b_x: np.ndarray
    b_hn: Optional[np.ndarray]
    w_hr: Optional[np.ndarray]  # (H, P): the LSTM projection, transposed


def numpy_blocker(layer: Any) -> Optional[str]:
    """Why ``layer`` cannot step in NumPy (None when it can)."""
    if layer.bidirectional:
        return "a bidirectional layer reads the whole sequence"
    if layer.layer_norm:
        return "layer_norm=True: the NumPy step has no layer normalisation"
    if layer.precision != "fp32":
        return f"precision={layer.precision!r}: the NumPy step computes in float32"
    return None


def _array(tensor: Optional[torch.Tensor]) -> Optional[np.ndarray]:
    return None if tensor is None else np.ascontiguousarray(tensor.detach().cpu().float().numpy())


def _cell(layer: Any, suffix: str) -> NumpyCell:
    get = lambda name: getattr(layer, name + suffix, None)  # noqa: E731
    rows = get("weight_ih").shape[0]
    b_ih = _array(get("bias_ih")) if get("bias_ih") is not None else np.zeros(rows, np.float32)
    b_hh = _array(get("bias_hh")) if get("bias_hh") is not None else np.zeros(rows, np.float32)
    b_hn = None
    if layer.mode == "GRU":  # r and z take both biases at once; n's recurrent bias sits inside r * (...)
        hidden = layer.hidden_size
        b_hn, b_hh = b_hh[2 * hidden:].copy(), np.concatenate([b_hh[:2 * hidden], np.zeros(hidden, np.float32)])
    w_hr = get("weight_hr")
    w_ih, w_hh = _array(get("weight_ih").T), _array(get("weight_hh").T)
    return NumpyCell(w_ih, w_hh, np.concatenate([w_ih, w_hh]), b_ih + b_hh, b_hn,
                     None if w_hr is None else _array(w_hr.T))


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


class NumpyLayer:
    """A unidirectional ``RecurrentLayer`` (eval mode) stepping in NumPy. The state is a list with one tuple per
    layer, ``(h, c)`` (B, H_out), (B, H) for the LSTM, ``(h,)`` otherwise; ``to_layer_state`` and
    ``from_layer_state`` convert from and to the layer's (L, B, H) layout."""

    def __init__(self, layer: Any) -> None:
        reason = numpy_blocker(layer)
        if reason is not None:
            raise ValueError(f"no NumPy step for this layer: {reason}")
        self.mode, self.hidden_size = layer.mode, layer.hidden_size
        self.cells = [_cell(layer, suffix) for _, _, suffix in layer.cells()]
        self._update = {"LSTM": self._lstm, "GRU": self._gru, "RNN_TANH": self._rnn, "RNN_RELU": self._rnn}[self.mode]

    def largest_product(self) -> int:
        """K x N of the largest weight matrix a step multiplies by."""
        return max(w.size for cell in self.cells for w in (cell.w_cat, cell.w_hr) if w is not None)

    def fold_input_scaling(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Read raw inputs: take the scaling ``x' = (x - mean) / std`` into the first layer's input weights,
        ``W_ih x' + b = (W_ih / std) x + (b - W_ih (mean / std))``: two operations fewer per step."""
        cell = self.cells[0]
        w_ih = np.ascontiguousarray(cell.w_ih / std[:, None], np.float32)
        b_x = (cell.b_x - (mean / std) @ cell.w_ih).astype(np.float32)
        self.cells[0] = cell._replace(w_ih=w_ih, w_cat=np.concatenate([w_ih, cell.w_hh]), b_x=b_x)

    def zero_state(self, batch: int = 1) -> list[tuple[np.ndarray, ...]]:
        """Per cell, its state: ``(h, c)`` for the LSTM, ``(h,)`` otherwise, (B, H) each."""
        sizes = [self.cells[0].w_hh.shape[0]] + ([self.hidden_size] if self.mode == "LSTM" else [])
        return [tuple(np.zeros((batch, size), np.float32) for size in sizes) for _ in self.cells]

    def step(self, x: np.ndarray, state: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, list]:
        """One step: ``x`` (B, I) -> ``(y (B, H_out), new per-cell state)``; one product per cell."""
        new_state = []
        gru = self.mode == "GRU"  # its reset gate sits inside n's recurrent product: two products
        for cell, cell_state in zip(self.cells, state):
            if gru:
                x, cell_state = self._update(x @ cell.w_ih + cell.b_x, cell_state, cell)
            else:
                xi = np.concatenate([x, cell_state[0]], axis=1) @ cell.w_cat + cell.b_x  # (B, G*H), h's in
                x, cell_state = self._update(xi, cell_state, cell, recurrent=False)
            new_state.append(cell_state)
        return x, new_state

    def run(self, x: np.ndarray, state: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, list]:
        """``x`` (B, T, I) -> ``(outputs (B, T, H_out), new per-cell state)``: each cell projects the inputs of
        every step in one product, then steps through time."""
        if x.shape[1] == 1:
            y, state = self.step(x[:, 0], state)
            return y[:, None], state
        new_state = []
        for cell, cell_state in zip(self.cells, state):
            xi = x @ cell.w_ih + cell.b_x  # (B, T, G*H)
            outputs = np.empty((x.shape[0], x.shape[1], cell.w_hh.shape[0]), np.float32)
            for t in range(x.shape[1]):
                outputs[:, t], cell_state = self._update(xi[:, t], cell_state, cell)
            x = outputs
            new_state.append(cell_state)
        return x, new_state

    def to_layer_state(self, state: list[tuple[np.ndarray, ...]]) -> Any:
        """Per-cell states -> the layer's layout: (L, B, H) arrays (a pair ``(h, c)`` for the LSTM)."""
        stacked = tuple(np.stack(parts) for parts in zip(*state))
        return stacked if self.mode == "LSTM" else stacked[0]

    def from_layer_state(self, state: Any) -> list[tuple[np.ndarray, ...]]:
        parts = state if isinstance(state, tuple) else (state,)
        return [tuple(np.array(part[index], np.float32) for part in parts) for index in range(len(self.cells))]

    # Each update takes ``xi``, the input's product (with the recurrent one already in when ``recurrent`` is False).

    def _lstm(self, xi: np.ndarray, state: tuple[np.ndarray, ...], cell: NumpyCell, recurrent: bool = True):
        h, c = state
        hidden = self.hidden_size
        gates = xi + h @ cell.w_hh if recurrent else xi  # (B, 4H): i, f, g, o
        ifo = _sigmoid(gates)
        g = np.tanh(gates[:, 2 * hidden:3 * hidden])
        c = ifo[:, hidden:2 * hidden] * c + ifo[:, :hidden] * g
        h = ifo[:, 3 * hidden:] * np.tanh(c)
        if cell.w_hr is not None:
            h = h @ cell.w_hr  # (B, P)
        return h, (h, c)

    def _gru(self, xi: np.ndarray, state: tuple[np.ndarray, ...], cell: NumpyCell, recurrent: bool = True):
        (h,) = state
        hidden = self.hidden_size
        hh = h @ cell.w_hh  # (B, 3H): r, z, n (n without its bias)
        rz = _sigmoid(xi[:, :2 * hidden] + hh[:, :2 * hidden])
        n = np.tanh(xi[:, 2 * hidden:] + rz[:, :hidden] * (hh[:, 2 * hidden:] + cell.b_hn))
        z = rz[:, hidden:]
        h = (1.0 - z) * n + z * h
        return h, (h,)

    def _rnn(self, xi: np.ndarray, state: tuple[np.ndarray, ...], cell: NumpyCell, recurrent: bool = True):
        pre_activation = xi + state[0] @ cell.w_hh if recurrent else xi
        h = np.tanh(pre_activation) if self.mode == "RNN_TANH" else np.maximum(pre_activation, 0.0)
        return h, (h,)
