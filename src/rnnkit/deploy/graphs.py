"""What each task model exports: its graphs as small ``torch.nn.Module`` wrappers, with named inputs and outputs.

Every recurrent graph takes the state as inputs and gives the final state back, in PyTorch's layout
(L*D, B, H): ``h0`` (and ``c0`` for the LSTM) in, ``hn`` (and ``cn``) out, so a caller feeds a long sequence in
chunks. Time and batch are dynamic; ``lengths`` (B,) gives each sequence's true length in a right-padded batch.

    classifier, regressor, tagger, recognizer   x (B, T, F) float or (B, T) int64 ids, lengths, h0[, c0]
                                                -> logits (B, C) | prediction (B[, O]) | logits (B, T, C)
                                                   | log_probs (B, T', C); hn[, cn]
    language model                              ids (B, T), lengths, h0[, c0] -> logits (B, T, V), hn[, cn]
    forecaster                                  past (B, L, E), future (B, H, D) -> forecast (B, H, N, K)
    seq2seq, captioner: two graphs              encoder: source (B, S) ids, lengths | images (B, 3, H, W)
                                                  -> memory (B, S, K), mask (B, S), keys[, source], h0[, c0], feed0
                                                decoder (one step): tokens (B,), h0[, c0], feed0, memory, mask,
                                                  keys[, source] -> log_probs (B, V), hn[, cn], feedn, weights
                                                (source: the ids a copying decoder copies, the seq2seq encoder's
                                                input, or a retrieving captioner encoder's output: 0 on the image
                                                grid, then the retrieved captions' words; a captioner with
                                                nearest_within > 0 also gives nearest (B,), the index of the
                                                nearest training image in the sidecar's retrieval_captions, and
                                                its distance (B,): within nearest_within, that is the caption)

Outputs are the model's own ``forward`` outputs (logits, standardised predictions, log-probabilities); the labels,
the target scale and the vocabularies travel beside the graph as JSON (``rnnkit.deploy.export``). The decoder's
state keeps the decoder's batch-first layout, (B, L, H), as ``rnnkit.tasks.blocks.decoder`` holds it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.tasks.blocks.decoder import Memory


class Graph(NamedTuple):
    """One graph to export: ``module(*sample(batch, steps))`` gives the outputs, in the order of ``outputs``."""

    name: str  # "model", or "encoder" / "decoder"
    module: nn.Module
    inputs: list[str]
    outputs: list[str]
    dynamic: dict[str, dict[int, str]]  # dynamic axes by input and output name
    sample: Callable[[int, int], tuple[Tensor, ...]]  # (batch, steps) -> inputs, lengths mixed


def state_names(layer: Any, suffix: str) -> list[str]:
    """``["h0", "c0"]`` (LSTM) or ``["h0"]``, with ``suffix`` "0" (in) or "n" (out)."""
    return ["h" + suffix, "c" + suffix] if layer.mode == "LSTM" else ["h" + suffix]


def _layer_state(state: tuple[Tensor, ...]) -> Any:
    return state if len(state) == 2 else state[0]


def _parts(state: Any) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def mixed_lengths(batch: int, steps: int) -> Tensor:
    """Lengths of a sample batch: the first sequence full, the others shorter (1 at least), so the export records
    the variable-length path."""
    return torch.tensor([steps] + [max(1, steps - 2 * i - 1) for i in range(1, batch)], dtype=torch.long)


def random_state(layer: Any, batch: int) -> list[Tensor]:
    """A non-zero state for ``layer`` (the export must carry a given state, not only zeros)."""
    return [0.5 * torch.randn(shape) for shape in layer._state_shapes(batch)]


def _check_exportable(layer: Any, where: str) -> None:
    if layer.layer_norm:
        raise UserError(f"{where}: layer_norm=True has no ONNX recurrent op (LSTM, GRU and RNN have no "
                        "normalisation inside the cell); train without layer_norm to export")
    if getattr(layer, "proj_size", 0):
        raise UserError(f"{where}: an LSTM with proj_size has no ONNX recurrent op")


# --- sequence models: the encoder's recurrent layers with the state carried, then the task's head ----------------

def _pooled(model: Any, output: Tensor, h_n: Tensor, lengths: Tensor) -> Tensor:
    return model.output(model.encoder.pool(output, h_n, lengths)[0])


SEQUENCE_HEADS: dict[str, tuple[str, Callable[..., Tensor]]] = {
    "sequence-classification": ("logits", _pooled),
    "sequence-regression": ("prediction", _pooled),
    "sequence-tagging": ("logits", lambda model, output, h_n, lengths: model.head(output)),
    "sequence-recognition": ("log_probs", lambda model, output, h_n, lengths: F.log_softmax(model.head(output), -1)),
}


class SequenceGraph(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.head = SEQUENCE_HEADS[model.task][1]

    def forward(self, x: Tensor, lengths: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        encoder = self.model.encoder
        output, final = encoder.rnn(encoder.front_end(x, lengths), _layer_state(state),
                                    lengths=encoder.output_lengths(lengths))
        h_n = _parts(final)[0]
        return (self.head(self.model, output, h_n, lengths), *_parts(final))


def _sequence_sample(model: Any) -> Callable[[int, int], tuple[Tensor, ...]]:
    config = model.config.encoder

    def sample(batch: int, steps: int) -> tuple[Tensor, ...]:
        if config.vocab_size:
            x = torch.randint(1, config.vocab_size, (batch, steps))
        else:
            x = torch.randn(batch, steps, config.input_size)
        return (x, mixed_lengths(batch, steps), *random_state(model.encoder.rnn, batch))

    return sample


def sequence_graphs(model: Any) -> list[Graph]:
    layer = model.encoder.rnn
    _check_exportable(layer, type(model).__name__)
    name = SEQUENCE_HEADS[model.task][0]
    per_step = model.task in ("sequence-tagging", "sequence-recognition")
    inputs, outputs = ["x", "lengths", *state_names(layer, "0")], [name, *state_names(layer, "n")]
    dynamic = {"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
               name: {0: "batch", 1: "time"} if per_step else {0: "batch"},
               **{state: {1: "batch"} for state in inputs[2:] + outputs[1:]}}
    return [Graph("model", SequenceGraph(model), inputs, outputs, dynamic, _sequence_sample(model))]


# --- language model -----------------------------------------------------------------------------------------

class LanguageModelGraph(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: Tensor, lengths: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        model = self.model
        output, final = model.rnn(model.embedding(ids), _layer_state(state), lengths=lengths)
        return (model.head(model.drop(output)), *_parts(final))


def language_model_graphs(model: Any) -> list[Graph]:
    layer = model.rnn
    _check_exportable(layer, "LanguageModel")
    inputs, outputs = ["ids", "lengths", *state_names(layer, "0")], ["logits", *state_names(layer, "n")]
    dynamic = {"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch", 1: "time"},
               **{state: {1: "batch"} for state in inputs[2:] + outputs[1:]}}

    def sample(batch: int, steps: int) -> tuple[Tensor, ...]:
        ids = torch.randint(1, model.config.vocab_size, (batch, steps))
        return (ids, mixed_lengths(batch, steps), *random_state(layer, batch))

    return [Graph("model", LanguageModelGraph(model), inputs, outputs, dynamic, sample)]


# --- forecaster: a window model (lookback and horizon are fixed by the network) --------------------------------

class ForecastGraph(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, past: Tensor, future: Tensor) -> Tensor:
        return self.model(past, future)


def forecast_graphs(model: Any) -> list[Graph]:
    _check_exportable(model.encoder, "ForecastModel")
    c = model.config

    def sample(batch: int, steps: int) -> tuple[Tensor, ...]:
        return torch.randn(batch, c.lookback, c.input_size), torch.randn(batch, c.horizon, c.future_size)

    dynamic = {"past": {0: "batch"}, "future": {0: "batch"}, "forecast": {0: "batch"}}
    return [Graph("model", ForecastGraph(model), ["past", "future"], ["forecast"], dynamic, sample)]


# --- encoder-decoder models: the encoder, and one decoder step ---------------------------------------------------

class EncoderGraph(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        memory, state = self.model.encode(*inputs)
        model = self.model
        source = (memory.source_ids,) if model.task == "captioning" and memory.source_ids is not None else ()
        if model.task == "captioning" and model.config.nearest_within:
            index, distance = model.retrieval.nearest(inputs[0], 1)
            source += (index[:, 0], distance[:, 0])
        return (memory.values, memory.mask, memory.projected, *source, *state)


class DecoderStepGraph(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.parts = 3 if model.decoder.config.rnn.cell == "lstm" else 2  # (h, c, feed) or (h, feed)

    def forward(self, tokens: Tensor, *rest: Tensor) -> tuple[Tensor, ...]:
        state, (values, mask, keys, *source) = rest[:self.parts], rest[self.parts:]
        memory = Memory(values, mask, keys, source[0] if source else None)
        log_probs, state, weights = self.decoder.step(tokens, tuple(state), memory)
        return (log_probs, *state, weights)


def encoder_decoder_graphs(model: Any) -> list[Graph]:
    decoder = model.decoder
    if model.task == "captioning" and model.config.members > 1:  # the search would need every member's step
        raise UserError(f"an ensemble of {model.config.members} captioners has no ONNX graphs (one decoder step "
                        f"each, averaged in the search): export one member, rnnkit.export(model.member(0), ...)")
    _check_exportable(decoder.rnn, f"{type(model).__name__} decoder")
    if model.task == "seq2seq":
        _check_exportable(model.encoder.rnn, f"{type(model).__name__} encoder")
        encoder_inputs = ["source", "lengths"]
        encoder_dynamic = {"source": {0: "batch", 1: "source"}, "lengths": {0: "batch"}}

        def encoder_sample(batch: int, steps: int) -> tuple[Tensor, ...]:
            return torch.randint(4, model.config.encoder.vocab_size, (batch, steps)), mixed_lengths(batch, steps)
    else:
        encoder_inputs = ["images"]
        encoder_dynamic = {"images": {0: "batch", 2: "height", 3: "width"}}

        def encoder_sample(batch: int, steps: int) -> tuple[Tensor, ...]:
            return (torch.rand(batch, 3, model.config.image_size, model.config.image_size),)

    parts = ["h", "c", "feed"] if decoder.config.rnn.cell == "lstm" else ["h", "feed"]
    state, final = [part + "0" for part in parts], [part + "n" for part in parts]
    memory = ["memory", "mask", "keys"]
    batch_first = {0: "batch"}
    positions = {0: "batch", 1: "source"}
    dynamic = {**encoder_dynamic, **{name: positions for name in memory}, **{name: batch_first for name in state}}
    copy = ["source"] if decoder.config.copy else []
    made = copy if model.task == "captioning" else []  # the retrieved words' ids come out of the encoder
    nearest = ["nearest", "distance"] if model.task == "captioning" and model.config.nearest_within else []
    encoder = Graph("encoder", EncoderGraph(model), encoder_inputs, memory + made + nearest + state,
                    {**dynamic, **{name: positions for name in made}, **{name: batch_first for name in nearest}},
                    encoder_sample)
    step_inputs = ["tokens", *state, *memory, *copy]
    step_outputs = ["log_probs", *final, "weights"]

    def step_sample(batch: int, steps: int) -> tuple[Tensor, ...]:
        sources = encoder_sample(batch, steps)
        with torch.no_grad():
            values, mask, keys, *rest = encoder.module(*sources)
        made_ids, initial = rest[:len(made)], rest[len(made) + len(nearest):]
        initial = [part + 0.1 * torch.randn_like(part) for part in initial]
        tokens = torch.randint(1, decoder.config.vocab_size, (batch,))
        return (tokens, *initial, values, mask, keys, *(made_ids or sources[:len(copy)]))

    step_dynamic = {**{name: batch_first for name in ["tokens", "log_probs", *state, *final]},
                    **{name: positions for name in [*memory, *copy, "weights"]}}
    return [encoder, Graph("decoder", DecoderStepGraph(model), step_inputs, step_outputs, step_dynamic, step_sample)]


def task_graphs(model: Any) -> list[Graph]:
    """The graphs that export ``model`` (a task model in eval mode)."""
    task = getattr(model, "task", None)
    builders = {"language-model": language_model_graphs, "forecasting": forecast_graphs,
                "seq2seq": encoder_decoder_graphs, "captioning": encoder_decoder_graphs}
    if task not in SEQUENCE_HEADS and task not in builders:
        raise UserError(f"cannot export a {type(model).__name__}: not an rnnkit task model")
    graphs = sequence_graphs(model) if task in SEQUENCE_HEADS else builders[task](model)
    # the wrappers in eval mode too: the exporter puts each module back in its own mode afterwards, and a new
    # wrapper's (training) would otherwise reach the model (a captioner in training retrieves differently)
    return [graph._replace(module=graph.module.eval()) for graph in graphs]
