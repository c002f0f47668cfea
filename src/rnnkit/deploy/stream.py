"""Stateful inference, one sequence at a time: ``model.streamer()`` -> ``push(x) -> y``, ``reset()``, ``state``.

    stream = rnnkit.load("runs/tagger/model").streamer()
    for row in sensor:                          # raw feature rows (F,), as the model's preprocessor reads them
        probabilities = stream.push(row)        # (C,): this step's tag probabilities
    stream.push(block)                          # a chunk (T, F) -> (T, C): the same numbers as T single pushes
    saved = stream.state; stream.reset(); stream.state = saved

What a push returns, per step: class probabilities after that step (classifier: the model's "last" pooling is the
state after the latest step), the prediction in the targets' units (regressor), tag probabilities (tagger),
per-frame log-probabilities (recognizer), next-token logits (language model; push token ids or text), or the
forecast ``(horizon, targets, outputs)`` from the window ending at the latest row (forecaster: its input is a
window of ``lookback`` rows, so that window is its state; ``None`` until it is full).

A stream computes what the model computes on the whole sequence at once (tests hold chunked pushes equal to
``forward``); models whose outputs need steps after the current one cannot stream and say why: bidirectional
layers, a convolution front-end ('same' padding reads ahead), mean / max / attention pooling, per-sequence
normalisation, encoder-decoder models (use ``translate`` / ``caption`` or the exported decoder step).

A stream takes the model's weights when it is made (later training does not reach it) and computes in eval mode
(no dropout) whatever mode the model is in. The recurrent steps run in NumPy (``rnnkit.deploy.fast_step``: at batch 1 the per-call overhead of PyTorch
dominates, see ``bench/bench_stream.py``); a layer the NumPy step does not cover (layer normalisation) runs through
the layer itself, and ``route`` / ``fast_path_reason`` say which was taken and why.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import numpy as np
import torch

from rnnkit.deploy.fast_step import BLAS_THREADED, NumpyLayer, numpy_blocker, one_blas_thread
from rnnkit.errors import UserError
from rnnkit.tasks.decoding.sampling import SPECIAL_TOKENS


def _array(tensor: Optional[torch.Tensor]) -> Optional[np.ndarray]:
    return None if tensor is None else np.ascontiguousarray(tensor.detach().cpu().float().numpy())


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(-1, keepdims=True))
    e /= e.sum(-1, keepdims=True)
    return e


def _log_softmax(v: np.ndarray) -> np.ndarray:
    shifted = v - v.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


@contextlib.contextmanager
def evaluating(module: torch.nn.Module) -> Iterator[None]:
    """``module`` in eval mode and without autograd inside the block; its mode restored after."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


class TorchRoute:
    """The layer itself, one chunk per call (``forward`` with the state carried): what NumPy does not cover."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def zero_state(self) -> Any:
        return self.layer._check_state(None, 1, torch.zeros(1, 1, self.layer.input_size))

    def run(self, x: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        with evaluating(self.layer):
            output, state = self.layer(torch.from_numpy(x), state)
        return output.numpy(), state

    def to_layer_state(self, state: Any) -> Any:
        return tuple(_array(s) for s in state) if isinstance(state, tuple) else _array(state)

    def from_layer_state(self, state: Any) -> Any:
        return tuple(torch.from_numpy(np.array(s, np.float32)) for s in state) if isinstance(state, tuple) \
            else torch.from_numpy(np.array(state, np.float32))


class Stream:
    """A recurrent layer's state carried across pushes; subclasses read the inputs and apply the head, whose weight
    (H_out, C) is ``head``."""

    def __init__(self, layer: Any, head: np.ndarray) -> None:
        self.layer = layer
        self.fast_path_reason = numpy_blocker(layer)
        self.route = TorchRoute(layer) if self.fast_path_reason else NumpyLayer(layer)
        self._shapes = [shape for shape in layer._state_shapes(1)]
        # BLAS on one thread during a push when a product is large enough to be split over threads (fast_step)
        largest = max(head.size, self.route.largest_product() if isinstance(self.route, NumpyLayer) else 0)
        self._blas = one_blas_thread if largest >= BLAS_THREADED else contextlib.nullcontext
        self.reset()

    @property
    def route_name(self) -> str:
        return "pytorch" if self.fast_path_reason else "numpy"

    def reset(self) -> None:
        """Back to the zero state, as at the start of a sequence."""
        self._state = self.route.zero_state()
        self.steps = 0

    @property
    def state(self) -> Any:
        """The state in the layer's layout, NumPy arrays (L, 1, H): ``(h, c)`` for the LSTM, ``h`` otherwise."""
        return self.route.to_layer_state(self._state)

    @state.setter
    def state(self, value: Any) -> None:
        parts = value if isinstance(value, (tuple, list)) else (value,)
        if len(parts) != len(self._shapes) or any(np.shape(p) != s for p, s in zip(parts, self._shapes)):
            raise UserError(f"a state for this stream is {' and '.join(str(s) for s in self._shapes)} "
                            f"(the layer's (layers, batch 1, hidden)), got {[np.shape(p) for p in parts]}")
        arrays = tuple(np.asarray(p, np.float32) for p in parts)
        self._state = self.route.from_layer_state(arrays if len(arrays) == 2 else arrays[0])

    def _run(self, x: np.ndarray) -> np.ndarray:
        """(T, I) layer inputs -> (T, H_out) outputs, the state carried."""
        output, self._state = self.route.run(x[None], self._state)
        self.steps += x.shape[0]
        return output[0]


class SequenceStream(Stream):
    """Classifier, regressor, tagger and recognizer: raw rows (or text) in, per-step outputs out."""

    def __init__(self, model: Any) -> None:
        self.model = model
        encoder = model.encoder
        self.preprocessor = model.preprocessor
        if self.preprocessor is None:
            raise UserError(f"{type(model).__name__} has no preprocessor: build it with for_data")
        self.embedding = _array(encoder.embedding.weight) if encoder.embedding is not None else None
        head = model.head
        self.weight, self.bias = _array(head.weight).T.copy(), _array(head.bias)
        super().__init__(encoder.rnn, self.weight)
        self.scaled = self.preprocessor.tokenizer is not None  # True: the inputs need no scaling here
        if not self.scaled:
            self.mean = np.asarray(self.preprocessor.mean, np.float32)
            self.std = np.asarray(self.preprocessor.std, np.float32)
            if isinstance(self.route, NumpyLayer):
                self.route.fold_input_scaling(self.mean, self.std)
                self.scaled = True

    def _inputs(self, x: Any) -> tuple[np.ndarray, bool]:
        """Layer inputs (T, I) for one step or a chunk; True when one step was given."""
        tokenizer = self.preprocessor.tokenizer
        if tokenizer is not None:
            ids = tokenizer.encode(x) if isinstance(x, str) else np.atleast_1d(np.asarray(x, np.int64))
            if len(ids) == 0:
                raise UserError("nothing to push: the text has no tokens")
            return self.embedding[np.asarray(ids)], np.ndim(x) == 0 and not isinstance(x, str)
        rows = np.asarray(x, np.float32)
        single = rows.ndim == 1
        rows = rows[None] if single else rows
        if rows.ndim != 2 or rows.shape[1] != len(self.mean) or rows.shape[0] == 0:
            raise UserError(f"push one step ({len(self.mean)},) or a chunk (steps, {len(self.mean)}) of raw "
                            f"features, got shape {np.shape(x)}")
        return (rows if self.scaled else (rows - self.mean) / self.std), single

    def push(self, x: Any) -> np.ndarray:
        """One step (F,) or a token id -> this step's output; a chunk (T, F), ids or text -> (T, ...) outputs."""
        inputs, single = self._inputs(x)
        with self._blas():
            outputs = self.output(self._run(inputs) @ self.weight + self.bias)
        return outputs[0] if single else outputs

    def output(self, logits: np.ndarray) -> np.ndarray:
        task = self.model.task
        if task == "sequence-regression":
            y = logits * np.asarray(self.model.target_std, np.float32) + np.asarray(self.model.target_mean, np.float32)
            return y[:, 0] if self.model.config.output_size == 1 else y
        return _log_softmax(logits) if task == "sequence-recognition" else _softmax(logits)


def sequence_blocker(model: Any) -> Optional[str]:
    """Why a sequence model's outputs cannot be computed step by step (None when they can)."""
    config = model.config.encoder
    if config.rnn.bidirectional:
        return "its layers are bidirectional: every output reads the whole sequence"
    if config.conv_channels:
        return "its convolution front-end ('same' padding) reads steps ahead of the current one"
    if model.task in ("sequence-classification", "sequence-regression") and config.pooling != "last":
        return f"pooling={config.pooling!r} pools over the whole sequence (only 'last' is a running state)"
    if getattr(model.config, "sequence_norm", False) or getattr(model.config, "pen_ink", False):
        return "its inputs are normalised over the whole sequence (sequence_norm / pen_ink)"
    return None


class LanguageModelStream(Stream):
    """Token ids (or text) in, next-token logits out; the state carries everything pushed so far."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.embedding = _array(model.embedding.weight)
        self.weight, self.bias = _array(model.head.weight).T.copy(), _array(model.head.bias)
        super().__init__(model.rnn, self.weight)

    def push(self, tokens: Any) -> np.ndarray:
        """A token id -> logits (V,) for the next token; ids or text (T tokens) -> (T, V), one row per step."""
        ids = self.model.require_tokenizer().encode(tokens) if isinstance(tokens, str) else tokens
        ids = np.atleast_1d(np.asarray(ids, np.int64))
        if ids.ndim != 1 or len(ids) == 0 or ids.min() < 0 or ids.max() >= len(self.embedding):
            raise UserError(f"push token ids in 0..{len(self.embedding) - 1} (or text), got {tokens!r}")
        with self._blas():
            logits = self._run(self.embedding[ids]) @ self.weight + self.bias
        return logits[0] if np.ndim(tokens) == 0 and not isinstance(tokens, str) else logits

    def generate(self, logits: np.ndarray, length: int, *, temperature: float = 1.0,
                 seed: Optional[int] = None) -> Iterator[int]:
        """Token ids drawn one at a time from ``logits`` (the last push's) on, each pushed as it is drawn: as
        ``rnnkit.tasks.decoding.sampling`` draws them (never ``<pad>`` or ``<unk>``; temperature 0: greedy), without
        its top-k / top-p and stop strings."""
        rng = np.random.default_rng(seed)
        for _ in range(length):
            logits = np.array(logits, np.float64)
            logits[:SPECIAL_TOKENS] = -np.inf
            if temperature == 0:
                token = int(logits.argmax())
            else:  # the exponential race: argmax p_i / E_i is distributed as p
                token = int((_softmax(logits / temperature) / rng.exponential(size=logits.shape)).argmax())
            yield token
            logits = self.push(token)


class ForecastStream:
    """Rows of the forecaster's past input (scaled units, ``(E,)`` each) in; once ``lookback`` rows have arrived,
    each push returns the forecast (H, N, K) from the window ending at the latest row. The state is the window."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.window = np.zeros((0, self.model.config.input_size), np.float32)
        self.steps = 0

    @property
    def state(self) -> np.ndarray:
        return self.window.copy()

    @state.setter
    def state(self, value: Any) -> None:
        value = np.asarray(value, np.float32)
        c = self.model.config
        if value.ndim != 2 or value.shape[1] != c.input_size or len(value) > c.lookback:
            raise UserError(f"a forecaster stream's state is a window of at most {c.lookback} rows of "
                            f"{c.input_size} columns, got shape {value.shape}")
        self.window = value

    def push(self, rows: Any, future: Any = None) -> Optional[np.ndarray]:
        c = self.model.config
        rows = np.asarray(rows, np.float32)
        rows = rows[None] if rows.ndim == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != c.input_size:
            raise UserError(f"push a row ({c.input_size},) or rows (steps, {c.input_size}), got {rows.shape}")
        self.window = np.concatenate([self.window, rows])[-c.lookback:]
        self.steps += len(rows)
        if len(self.window) < c.lookback:
            return None
        future = np.zeros((c.horizon, 0), np.float32) if future is None and not c.future_size else future
        future = np.asarray(future, np.float32)
        if future.shape != (c.horizon, c.future_size):
            raise UserError(f"future must be ({c.horizon}, {c.future_size}): the known-future columns of the "
                            f"horizon, got {future.shape}")
        with evaluating(self.model):
            raw = self.model(torch.from_numpy(self.window[None]), torch.from_numpy(future[None]))
        return raw[0].numpy()


def streamer(model: Any) -> Any:
    """A stream over ``model`` (a task model or a ``Forecaster``), refused with the reason where the model's
    outputs need later steps."""
    from rnnkit.deploy.export import task_model

    model = task_model(model)
    task = model.task
    if task in ("sequence-classification", "sequence-regression", "sequence-tagging", "sequence-recognition"):
        reason = sequence_blocker(model)
        if reason is not None:
            raise UserError(f"{type(model).__name__} cannot stream: {reason}")
        return SequenceStream(model)
    if task == "language-model":
        return LanguageModelStream(model)
    if task == "forecasting":
        return ForecastStream(model)
    raise UserError(f"{type(model).__name__} cannot stream: an encoder-decoder model reads its whole input before "
                    "writing (use translate / caption, or the exported decoder step graph)")
