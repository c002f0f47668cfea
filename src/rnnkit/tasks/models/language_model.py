"""Language model: embedding + stacked recurrent layer + output layer, trained on contiguous streams.

    model = LanguageModel.for_tokenizer(corpus_tokenizer(train_text), LanguageModelConfig(rnn=RecurrentConfig(
        cell="lstm", hidden_size=256, num_layers=2)))
    fit_language_model(model, train_text, val_text, seq_len=64)  # rnnkit.pipelines.fit
    model.evaluate_text(test_text)["bits_per_char"]
    model.generate("ROMEO:\n", 300, temperature=0.8, top_p=0.95, n=4, seed=0)

    e_t      = E[x_t]                                   (B, T, E) embedding of token ids
    h_t      = recurrent layer(e_1 .. e_t; state)       (B, T, H) LSTM, GRU or Elman RNN, num_layers deep
    logits_t = W_hy dropout(h_t) + b_y                  (B, T, V); with tie_weights W_hy = E (Press & Wolf 2017)
    loss     = mean_t -log softmax(logits_t)[x_{t+1}]   nats per token; / ln 2 = bits per character

Truncated BPTT: batches come from ``rnnkit.data.streams.TokenStreams``, where row ``r`` of batch ``i + 1``
continues row ``r`` of batch ``i``. ``loss`` starts from the state the previous batch ended in, detached (the
gradient stops at the batch boundary, the memory does not), and starts from zeros at batch 0. That carried state
lives in buffers (``carried_*``, shape (num_layers, streams, H)), so it is part of ``state_dict()``: a trainer
checkpoint taken mid-epoch holds it and a resumed run continues bit for bit. ``streams`` (the number of rows) is
therefore part of the config. A saved model's carried state is whatever training left; generation and
evaluation never read it (they keep their own state).

The tokenizer (``rnnkit.data.text.Tokenizer``) lives in the model's ``extra_state()``, so a model folder is
enough to sample from and to evaluate on new text.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.streams import StreamBatch, TokenStreams
from rnnkit.data.text import Tokenizer
from rnnkit.errors import UserError
from rnnkit.nn.config import RecurrentConfig, make_recurrent
from rnnkit.tasks.base import TaskModel

# TrainConfig settings of the acceptance run (bench/generate_shakespeare.py) and of `rnnkit generate train`:
# a short warm-up, then cosine decay; no weight decay (a 1M-parameter model on 4M characters underfits).
TRAINING_DEFAULTS = {"lr": 3e-3, "schedule": "cosine", "warmup_steps": 50, "min_lr_ratio": 0.05, "weight_decay": 0.0}
MIN_ROW = 1024  # evaluation: the shortest row worth a fresh start
State = Any  # Tensor (L, B, H), or (h, c) for the LSTM


@dataclass
class LanguageModelConfig:
    """``vocab_size`` comes from the tokenizer (``for_tokenizer`` sets it); ``rnn.dropout`` falls between layers
    and before the output layer."""

    vocab_size: int = 0
    embedding_size: int = field(default=64, metadata={"help": "size of the token embeddings"})
    rnn: RecurrentConfig = field(default_factory=lambda: RecurrentConfig(hidden_size=256, num_layers=2))
    tie_weights: bool = field(default=False, metadata={
        "help": "share the embedding with the output layer (needs embedding size == hidden size)"})
    streams: int = field(default=64, metadata={
        "help": "parallel streams of text: the batch size (of the carried state)"})

    def __post_init__(self) -> None:
        self.rnn.require(unidirectional=True, where="a language model (it predicts the next token)")
        if self.tie_weights and self.embedding_size != self.rnn.hidden_size:
            raise UserError(f"tie_weights needs embedding_size == hidden_size, got {self.embedding_size} and "
                            f"{self.rnn.hidden_size}")
        if self.streams < 1:
            raise UserError(f"streams must be >= 1, got {self.streams}")


class LanguageModel(TaskModel):
    task = "language-model"
    config_class = LanguageModelConfig

    def __init__(self, config: LanguageModelConfig, tokenizer: Tokenizer | None = None) -> None:
        super().__init__()
        if config.vocab_size < 3:
            raise UserError(f"vocab_size must be >= 3, got {config.vocab_size}: build the model with "
                            "LanguageModel.for_tokenizer, which sets it")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.rnn = make_recurrent(config.rnn, config.embedding_size)
        self.drop = nn.Dropout(config.rnn.dropout)
        self.head = nn.Linear(config.rnn.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.head.weight = self.embedding.weight
        shape = (config.rnn.num_layers, config.streams, config.rnn.hidden_size)
        for name in self.state_names:
            self.register_buffer(f"carried_{name}", torch.zeros(shape))
        self._eval_state: State = None
        self.tokenizer: Tokenizer | None = None
        if tokenizer is not None:
            self.set_tokenizer(tokenizer)

    @classmethod
    def for_tokenizer(cls, tokenizer: Tokenizer, config: LanguageModelConfig | None = None) -> LanguageModel:
        """A new model for ``config`` (None: the defaults) reading and writing the tokens of ``tokenizer``."""
        return cls(dataclasses.replace(cls.settings(config), vocab_size=len(tokenizer)), tokenizer)

    @property
    def state_names(self) -> tuple[str, ...]:
        return ("h", "c") if self.config.rnn.cell == "lstm" else ("h",)

    def set_tokenizer(self, tokenizer: Tokenizer) -> None:
        if len(tokenizer) != self.config.vocab_size:
            raise UserError(f"the tokenizer has {len(tokenizer)} tokens, the model {self.config.vocab_size}")
        self.tokenizer = tokenizer

    def extra_state(self) -> dict[str, Any]:
        return {"tokenizer": self.require_tokenizer().to_dict()}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.set_tokenizer(Tokenizer.from_dict(extra["tokenizer"]))

    def require_tokenizer(self) -> Tokenizer:
        if self.tokenizer is None:
            raise UserError("this LanguageModel has no tokenizer: build it with LanguageModel.for_tokenizer")
        return self.tokenizer

    # --- the model ------------------------------------------------------------------------------------------

    def forward(self, ids: Tensor, state: State = None) -> tuple[Tensor, State]:
        """``ids`` (B, T) -> ``(logits (B, T, V), final state)``; ``state`` as the recurrent layer's."""
        output, state = self.rnn(self.embedding(ids), state)  # (B, T, H)
        return self.head(self.drop(output)), state

    def step(self, ids: Tensor, state: State = None) -> tuple[Tensor, State]:
        """One token per row: ``ids`` (B,) -> ``(logits (B, V), state)``; generation calls this N times.

        The recurrent layer's ``step`` (its cells' equations, not the fused kernel: for a single time step a
        fused kernel's set-up costs more than the arithmetic). Tests hold it equal to ``forward``.
        """
        output, state = self.rnn.step(self.embedding(ids), state)  # (B, H)
        return self.head(self.drop(output)), state

    def _carried(self, rows: slice) -> State:
        # clones: the buffers are overwritten with this batch's final state before its backward pass runs
        buffers = tuple(getattr(self, f"carried_{name}")[:, rows].clone() for name in self.state_names)
        return buffers if len(buffers) == 2 else buffers[0]

    def _carry(self, state: State, rows: slice) -> None:
        with torch.no_grad():
            for name, tensor in zip(self.state_names, state if isinstance(state, tuple) else (state,)):
                getattr(self, f"carried_{name}")[:, rows].copy_(tensor)  # a copy: detached, the graph is freed

    def loss(self, batch: StreamBatch) -> Tensor:
        """Mean cross-entropy (nats per token) of one stream batch, from the state the previous batch left.
        ``batch.rows``: which streams the batch holds (one process's block under data parallel)."""
        x, y, index, rows = batch
        if x.shape[0] != len(range(self.config.streams)[rows]):
            raise UserError(f"stream batches have {x.shape[0]} rows, the model was built for streams="
                            f"{self.config.streams}")
        if index == 0:
            for name in self.state_names:
                getattr(self, f"carried_{name}").zero_()
        logits, state = self(x, self._carried(rows))
        self._carry(state, rows)
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())

    def evaluate_batch(self, batch: StreamBatch) -> dict[str, float]:
        """Validation on stream batches (any row count): its own carried state, restarted at batch 0."""
        x, y, index, _ = batch
        logits, state = self(x, None if index == 0 else self._eval_state)
        self._eval_state = state
        loss = float(F.cross_entropy(logits.flatten(0, 1), y.flatten()))
        return {"loss": loss, "bits_per_token": loss / math.log(2)}

    # --- using it -------------------------------------------------------------------------------------------

    def encode(self, text: str) -> Tensor:
        return torch.tensor(self.require_tokenizer().encode(text), dtype=torch.long)

    def decode(self, ids: Any) -> str:
        tokens = self.require_tokenizer().decode(int(i) for i in ids)
        return "".join(tokens) if self.require_tokenizer().level == "char" else " ".join(tokens)

    @torch.no_grad()
    def evaluate_text(self, text: str, *, batch_size: int = 16, seq_len: int = 256) -> dict[str, float]:
        """Exact held-out scores over ``text``: every token after each row's first is predicted once, with the
        state carried along its row. Bits per character for a character model, perplexity for words."""
        device = next(self.parameters()).device
        ids = self.encode(text)
        # rows of at least MIN_ROW tokens: each row starts from a zero state, which costs its first tokens
        rows = max(1, min(batch_size, (len(ids) - 1) // MIN_ROW))
        streams = TokenStreams(ids, batch_size=rows, seq_len=seq_len, drop_last=False)
        was_training, total, state = self.training, 0.0, None
        self.eval()
        for x, y, *_ in streams:
            logits, state = self(x.to(device), state)
            total += float(F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="sum"))
        self.train(was_training)
        nats = total / streams.tokens
        metrics = {"loss": nats, "tokens": streams.tokens}
        if self.require_tokenizer().level == "char":
            metrics["bits_per_char"] = nats / math.log(2)
        else:
            metrics["perplexity"] = math.exp(nats)
        return metrics

    def generate(self, prompt: str = "", length: int = 200, **options: Any) -> list[str]:
        """``n`` samples continuing ``prompt`` (see ``rnnkit.tasks.decoding.sampling.generate`` for the options)."""
        # sampling knows the model only by step()/encode()/decode()
        from rnnkit.tasks.decoding.sampling import generate
        return generate(self, prompt, length, **options)

    def stream(self, prompt: str = "", length: int = 200, **options: Any) -> Iterator[list[str]]:
        """Like ``generate`` but yields each new piece of text (one per sample) as soon as it is drawn."""
        from rnnkit.tasks.decoding.sampling import stream
        return stream(self, prompt, length, **options)
