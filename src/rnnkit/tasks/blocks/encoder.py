"""The sequence encoder shared by the sequence tasks and seq2seq: front-end, recurrent layers, pooling.

    e_t = Embedding(token_t)            (text; numeric inputs pass as they are: e_t = x_t)
    c_t = ReLU(Conv1d(e)_t)             (optional front-end: kernel k, 'same' padding, so lengths do not change;
                                         with stride s > 1 it keeps every s-th step: T' = ceil(T / s))
    c_t = ReLU(BN(Conv1d(c)_t))         (``conv_layers`` > 1: more convolutions, stride 1; with ``conv_norm``
                                         each is batch-normalised, statistics over the sequences' own steps:
                                         the front-end of the FCN of Wang et al. 2017, an RNN where its GAP was)
    o_t = RNN(c_1 .. c_T)               (uni- or bidirectional, stacked; padded steps never change the result)

and, for one vector per sequence (many-to-one), a pooling of the outputs over each sequence's own steps:

    last:      [h_T(forward); h_1(backward)]     the final states (PyTorch's h_n), both directions
    mean:      sum_t o_t / T
    max:       max_t o_t
    attention: a_t = softmax_t(v . tanh(W o_t)),  z = sum_t a_t o_t      (Bahdanau-style; a_t also explains)

Inputs are batch first: ``x`` (B, T, F) float or (B, T) int64 token ids, ``lengths`` (B,).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.nn.config import RecurrentConfig, make_recurrent
from rnnkit.nn.padding import valid_mask

POOLINGS = ("last", "mean", "max", "attention")


@dataclass
class EncoderConfig:
    """The encoder's front-end, recurrent stack (``rnn``; its ``dropout`` also falls on the recurrent stack's
    inputs and on the pooled features) and pooling. ``input_size`` / ``vocab_size`` come from the data: the
    tasks' ``for_data`` sets them."""

    input_size: int = 0  # features per step (numeric inputs); 0 when the inputs are token ids
    vocab_size: int = 0  # > 0: the inputs are token ids, embedded into embedding_dim
    embedding_dim: int = field(default=64, metadata={"help": "text: size of the token embeddings"})
    conv_channels: int = field(default=0, metadata={
        "help": "a 1-D convolution front-end with this many channels (0: none)"})
    conv_kernel: int = field(default=5, metadata={  # odd, so that 'same' padding keeps every step aligned
        "help": "the front-end's kernel width (odd)"})
    conv_stride: int = field(default=1, metadata={  # output step j sees input steps j*s - k//2 .. j*s + k//2
        "help": "the front-end keeps every k-th step: k times shorter sequences"})
    conv_layers: int = field(default=1, metadata={
        "help": "convolutions in the front-end, each of conv_channels (only the first strided)"})
    conv_norm: bool = field(default=False, metadata={
        "help": "batch norm after each convolution of the front-end (over the sequences' own steps)"})
    rnn: RecurrentConfig = field(default_factory=RecurrentConfig)
    pooling: str = field(default="last", metadata={
        "help": "one vector per sequence from the steps' outputs", "choices": POOLINGS})

    def __post_init__(self) -> None:
        if self.input_size > 0 and self.vocab_size > 0:
            raise ValueError(f"give one of input_size (numeric) or vocab_size (token ids), not both; got "
                             f"input_size={self.input_size}, vocab_size={self.vocab_size}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.conv_channels and self.conv_kernel % 2 == 0:
            raise ValueError(f"conv_kernel must be odd (same padding keeps steps aligned), got {self.conv_kernel}")
        if self.conv_layers < 1 or ((self.conv_layers > 1 or self.conv_norm) and not self.conv_channels):
            raise ValueError(f"conv_layers must be >= 1, and conv_layers > 1 or conv_norm only with conv_channels > 0; "
                             f"got conv_layers={self.conv_layers}, conv_norm={self.conv_norm}, "
                             f"conv_channels={self.conv_channels}")
        if self.conv_stride < 1 or (self.conv_stride > 1 and not self.conv_channels):
            raise ValueError(f"conv_stride must be >= 1, and > 1 only with conv_channels > 0; got "
                             f"conv_stride={self.conv_stride}, conv_channels={self.conv_channels}")

    @property
    def output_size(self) -> int:
        return self.rnn.output_size

    def output_length(self, length: int) -> int:
        """Steps the recurrent layers see for an input of ``length`` steps: ceil(length / conv_stride)."""
        return -(-length // self.conv_stride)


class SequenceEncoder(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if (config.input_size > 0) == (config.vocab_size > 0):
            raise ValueError(f"the encoder needs one of input_size (numeric) or vocab_size (token ids) set, got "
                             f"input_size={config.input_size}, vocab_size={config.vocab_size}: build the model "
                             "with its for_data, which reads them from the data")
        self.config = config
        size = config.input_size
        self.embedding = None
        if config.vocab_size:
            self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
            size = config.embedding_dim
        self.conv = None
        if config.conv_channels:
            self.conv = nn.Conv1d(size, config.conv_channels, config.conv_kernel, stride=config.conv_stride,
                                  padding=config.conv_kernel // 2)
            size = config.conv_channels
        width = config.conv_channels  # the deeper convolutions (self.conv keeps the first: older folders load)
        self.convs = nn.ModuleList(nn.Conv1d(width, width, config.conv_kernel, padding=config.conv_kernel // 2)
                                   for _ in range(config.conv_layers - 1))
        self.conv_norms = nn.ModuleList(MaskedBatchNorm(width) for _ in range(config.conv_layers
                                                                               if config.conv_norm else 0))
        self.dropout = nn.Dropout(config.rnn.dropout)
        self.rnn = make_recurrent(config.rnn, size)
        if config.pooling == "attention":
            hidden = config.rnn.hidden_size
            self.attention = nn.Sequential(nn.Linear(config.output_size, hidden), nn.Tanh(),
                                           nn.Linear(hidden, 1, bias=False))

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """(B,) steps per sequence after the front-end: ceil(lengths / conv_stride) (the lengths when stride 1)."""
        stride = self.config.conv_stride
        return lengths if stride == 1 else torch.div(lengths + stride - 1, stride, rounding_mode="floor")

    def front_end(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Embedding and convolution: (B, T', E) inputs to the recurrent layers, zero at padded steps
        (T' = ceil(T / conv_stride); their lengths are ``output_lengths(lengths)``)."""
        if self.embedding is not None:
            x = self.embedding(x)  # (B, T, E)
        if self.conv is not None:
            # Padded steps hold zeros, the same as the convolution's own zero padding: a sequence's result does
            # not depend on the batch it is in. Zero them again after, as the layer expects nothing there.
            # With stride s and padding k//2 (k odd) the output has floor((T - 1) / s) + 1 = ceil(T / s) steps.
            mask = valid_mask(self.output_lengths(lengths), -(-x.shape[1] // self.config.conv_stride))  # (B, T')
            for k, conv in enumerate([self.conv, *self.convs]):
                x = conv(x.transpose(1, 2)).transpose(1, 2)  # (B, T', C)
                x = torch.relu(self.conv_norms[k](x, mask) if self.conv_norms else x)
                x = x * mask.unsqueeze(-1)
        return self.dropout(x)

    def steps(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Per-step outputs (B, T', D*H), zero at padded steps, and the final hidden state h_n (L*D, B, H).
        T' = T unless ``conv_stride`` > 1 shortens time (the steps of each sequence: ``output_lengths``)."""
        output, state = self.rnn(self.front_end(x, lengths), lengths=self.output_lengths(lengths))
        return output, state[0] if isinstance(state, tuple) else state

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """Pooled features (B, D*H) and the attention weights (B, T) (None unless pooling='attention')."""
        output, h_n = self.steps(x, lengths)
        return self.pool(output, h_n, lengths)

    def pool(self, output: Tensor, h_n: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """``forward`` from the recurrent layers' outputs and final h_n (what ``steps`` returns) on, for callers
        that run the layers themselves (an export carrying the state)."""
        lengths = self.output_lengths(lengths)
        mask = valid_mask(lengths, output.shape[1])  # (B, T')
        weights = None
        pooling = self.config.pooling
        if pooling == "last":
            pooled = torch.cat(list(h_n[-self.config.rnn.directions:]), dim=-1)
        elif pooling == "mean":
            pooled = output.sum(1) / lengths.unsqueeze(1).to(output.dtype)
        elif pooling == "max":
            pooled = output.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        else:
            scores = self.attention(output).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
            weights = torch.softmax(scores, dim=1)
            pooled = (weights.unsqueeze(-1) * output).sum(1)
        return self.dropout(pooled), weights


class MaskedBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` over the channels of (B, T, C) steps, ``mask`` (B, T) False at padded steps. In training its
    statistics come from the valid steps only, so padding does not move them (padded steps come out zero); in
    evaluation the running statistics normalise every step alike (one plain batch norm: the ONNX graph has no
    scatter). The caller zeroes padded steps after it, as the encoder does after each convolution."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:  # type: ignore[override]
        if not self.training:
            return super().forward(x.transpose(1, 2)).transpose(1, 2)
        out = torch.zeros_like(x)
        out[mask] = super().forward(x[mask])  # (N valid steps, C)
        return out
