"""Sequence to sequence with attention: ``Seq2Seq`` (a recurrent encoder and the attention decoder).

    x_1..x_S --Embedding, (Bi)LSTM/GRU--> m_1..m_S (memory), [h_S(fwd); h_1(bwd)] --bridge--> decoder state
    decoder (rnnkit.tasks.decoder): attention over m, input feeding, optional copy; outputs y_1..y_n, EOS
    loss: token cross-entropy on the targets (padding ignored), optional label smoothing ls:
          (1 - ls) * -log p(y_t) + ls * mean_w -log p(w)

Vocabularies are built on the training pairs only and live in the model folder (``extra_state``): a source and a
target ``Tokenizer`` (characters or words), or one shared by both sides (needed by the copy mechanism, whose
source ids must be target ids). Both reserve ids 2 and 3 for ``<s>`` (BOS) and ``</s>`` (EOS) after the
tokenizer's own ``<pad>`` = 0 and ``<unk>`` = 1; targets are encoded ``<s> y_1 .. y_n </s>``. Word-level
targets keep what the tokenizer's word pattern keeps, so phoneme strings such as ``K AE1 T`` (with
``lowercase=False``) are sequences of phoneme tokens. Outputs are joined with "" (characters) or " " (words).

    model = Seq2Seq.for_data(sources, targets, source_level="char", target_level="word", bidirectional=True)
    Trainer(model, TrainConfig(max_epochs=10)).fit(model.dataset(sources, targets), collate_fn=pair_collate)
    model.translate(["cat"], beam=5)        # ["K AE1 T"]

With a shared word vocabulary, an output ``<unk>`` is replaced by the source word the decoder attended to most
(Luong et al. 2015's unknown-word replacement), so words outside the capped vocabulary still come through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.data.pairs import PairDataset, pair_collate
from rnnkit.data.text import SPECIALS, UNK, Tokenizer
from rnnkit.errors import UserError
from rnnkit.nn.padding import valid_mask
from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.beam_search import beam_search, ensemble_step, greedy_decode
from rnnkit.tasks.decoder import AttentionDecoder, AttentionDecoderConfig, Memory
from rnnkit.tasks.encoder import EncoderConfig, SequenceEncoder

BOS, EOS = 2, 3
SEQUENCE_MARKS = ("<s>", "</s>")


def build_vocabulary(texts: Sequence[str], *, level: str, lowercase: bool, min_count: int = 1,
                     max_size: int | None = None) -> Tokenizer:
    """A tokenizer fitted on ``texts`` with ``<s>`` and ``</s>`` at ids 2 and 3; ``max_size`` counts all ids."""
    reserved = len(SPECIALS) + len(SEQUENCE_MARKS)
    if max_size is not None and max_size <= reserved:
        raise UserError(f"vocabulary size cap must be > {reserved} (the special tokens), got {max_size}")
    fitted = Tokenizer.fit(texts, level=level, lowercase=lowercase, min_count=min_count,
                           max_size=None if max_size is None else max_size - len(SEQUENCE_MARKS))
    tokens = list(SPECIALS) + list(SEQUENCE_MARKS) + [t for t in fitted.tokens[2:] if t not in SEQUENCE_MARKS]
    return Tokenizer(level=level, lowercase=lowercase, tokens=tokens)


@dataclass
class Seq2SeqConfig:
    encoder: EncoderConfig
    decoder: AttentionDecoderConfig
    label_smoothing: float = 0.0
    sampling_probability: float = 0.0  # scheduled sampling: share of decoder inputs taken from its own argmax
    max_output_length: int = 200  # decoding never generates more tokens (the default is 2 * source + 10)

    def __post_init__(self) -> None:
        if self.decoder.memory_size != self.encoder.output_size:
            raise ValueError(f"decoder.memory_size {self.decoder.memory_size} must equal the encoder's output "
                             f"size {self.encoder.output_size}")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.sampling_probability <= 1:
            raise ValueError("label_smoothing must be in [0, 1), sampling_probability in [0, 1]")


class Seq2Seq(TaskModel):
    task = "seq2seq"
    config_class: ClassVar[type] = Seq2SeqConfig

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        self.decoder = AttentionDecoder(config.decoder)
        self.source_vocab: Tokenizer | None = None
        self.target_vocab: Tokenizer | None = None

    @classmethod
    def for_data(cls, sources: Sequence[str], targets: Sequence[str], *, source_level: str = "char",
                 target_level: str = "char", lowercase: bool = True, target_lowercase: bool | None = None,
                 shared_vocabulary: bool = False, max_vocab: int | None = None, min_count: int = 1,
                 embedding_dim: int = 64, hidden_size: int = 128, num_layers: int = 1, cell: str = "lstm",
                 bidirectional: bool = True, dropout: float = 0.0, decoder_hidden_size: int | None = None,
                 decoder_layers: int = 1, attention: str = "additive", input_feeding: bool = True,
                 copy: bool = False, label_smoothing: float = 0.0, sampling_probability: float = 0.0,
                 max_output_length: int = 200) -> Seq2Seq:
        """A new model sized for the training pairs; the vocabularies are built on them. ``copy=True`` needs
        (and implies) a shared vocabulary, so both sides must have the same level."""
        if len(sources) != len(targets) or not sources:
            raise UserError(f"need as many sources as targets, at least one: got {len(sources)} and {len(targets)}")
        target_lowercase = lowercase if target_lowercase is None else target_lowercase
        shared = shared_vocabulary or copy
        if shared and (source_level != target_level or lowercase != target_lowercase):
            raise UserError("a shared vocabulary (and copy) needs the same level and lowercasing on both sides; got "
                            f"source {source_level}/lowercase={lowercase}, target {target_level}/"
                            f"lowercase={target_lowercase}")
        source_vocab = build_vocabulary(list(sources) + (list(targets) if shared else []), level=source_level,
                                        lowercase=lowercase, min_count=min_count, max_size=max_vocab)
        target_vocab = source_vocab if shared else build_vocabulary(
            targets, level=target_level, lowercase=target_lowercase, min_count=min_count, max_size=max_vocab)
        encoder = EncoderConfig(vocab_size=len(source_vocab), embedding_dim=embedding_dim, cell=cell,
                                hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                                dropout=dropout)
        decoder = AttentionDecoderConfig(
            vocab_size=len(target_vocab), memory_size=encoder.output_size, init_size=encoder.output_size,
            embedding_dim=embedding_dim, hidden_size=decoder_hidden_size or hidden_size, num_layers=decoder_layers,
            cell=cell, attention=attention, input_feeding=input_feeding,
            dropout=dropout, copy=copy)
        model = cls(Seq2SeqConfig(encoder, decoder, label_smoothing, sampling_probability, max_output_length))
        model.source_vocab, model.target_vocab = source_vocab, target_vocab
        return model

    # --- data ------------------------------------------------------------------------------------------------

    @property
    def shared(self) -> bool:
        return self.source_vocab is self.target_vocab

    def _vocabs(self) -> tuple[Tokenizer, Tokenizer]:
        if self.source_vocab is None or self.target_vocab is None:
            raise UserError("Seq2Seq has no vocabularies: build it with Seq2Seq.for_data(sources, targets)")
        return self.source_vocab, self.target_vocab

    def encode_source(self, text: str) -> np.ndarray:
        return np.asarray(self._vocabs()[0].encode(text), dtype=np.int64)

    def encode_target(self, text: str) -> np.ndarray:
        vocab = self._vocabs()[1]
        ids = vocab.encode(text) if vocab.split(text) else []
        return np.asarray([BOS, *ids, EOS], dtype=np.int64)

    def dataset(self, sources: Sequence[str], targets: Sequence[str]) -> PairDataset:
        """The trainer's data set (batch it with ``rnnkit.data.pairs.pair_collate``)."""
        return PairDataset([self.encode_source(s) for s in sources], [self.encode_target(t) for t in targets])

    def detokenize(self, tokens: Sequence[str]) -> str:
        return ("" if self._vocabs()[1].level == "char" else " ").join(tokens)

    # --- model -----------------------------------------------------------------------------------------------

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Memory, tuple[Tensor, ...]]:
        """The decoder's memory and initial state for a batch of source ids (B, S) with ``lengths`` (B,)."""
        output, h_n = self.encoder.steps(source, lengths)  # (B, S, D*H), (L*D, B, H)
        directions = 2 if self.config.encoder.bidirectional else 1
        final = torch.cat(list(h_n[-directions:]), dim=-1)  # (B, D*H): last layer, both directions
        memory = self.decoder.memory(output, valid_mask(lengths, output.shape[1]),
                                     source if self.config.decoder.copy else None)
        return memory, self.decoder.init_state(memory, final)

    def forward(self, source: Tensor, source_lengths: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: log probabilities (N, V) of the N real (not padding) tokens of ``target[:, 1:]``, in
        row-major order, and the attention (B, T-1, S)."""
        memory, state = self.encode(source, source_lengths)
        log_probs, attention, _ = self.decoder(target[:, :-1], state, memory, self.config.sampling_probability,
                                               keep=target[:, 1:] != 0)
        return log_probs, attention

    def _token_loss(self, log_probs: Tensor, gold: Tensor, smoothing: float) -> Tensor:
        nll = F.nll_loss(log_probs, gold)
        return (1 - smoothing) * nll + smoothing * -log_probs.mean(-1).mean() if smoothing else nll

    def loss(self, batch: Any) -> Tensor:
        source, source_lengths, target, _ = batch
        log_probs, _ = self(source, source_lengths, target)
        gold = target[:, 1:]
        return self._token_loss(log_probs, gold[gold != 0], self.config.label_smoothing)

    @torch.no_grad()
    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        """Teacher-forced loss and token accuracy, and the exact match of greedy decoding."""
        source, source_lengths, target, target_lengths = batch
        log_probs, _ = self(source, source_lengths, target)
        gold = target[:, 1:]
        gold = gold[gold != 0]
        accuracy = float((log_probs.argmax(-1) == gold).float().mean())
        memory, state = self.encode(source, source_lengths)
        hypotheses = self.decoder.greedy(memory, state, bos=BOS, eos=EOS, suppress=(0, BOS),
                                         max_length=int(target_lengths.max()) + 5)
        references = [row[1:n - 1] for row, n in zip(target.tolist(), target_lengths.tolist())]
        exact = float(np.mean([h == r for h, r in zip(hypotheses.tokens, references)]))
        return {"loss": float(self._token_loss(log_probs, gold, 0.0)), "token_accuracy": accuracy,
                "exact_match": exact}

    # --- translation -------------------------------------------------------------------------------------------

    @torch.no_grad()
    def translate(self, texts: Sequence[str], *, beam: int = 1, max_length: int | None = None, alpha: float = 0.0,
                  batch_size: int = 64, return_attention: bool = False, ensemble: Sequence[Seq2Seq] = ()) -> Any:
        """Outputs for ``texts``: greedy (``beam=1``) or beam search with ``beam`` hypotheses and GNMT length
        penalty ``alpha``. ``max_length``: most output tokens (default: 2 * source length + 10, at most
        ``config.max_output_length``). With ``return_attention``: ``(outputs, details)``, details one dict per
        text with ``source_tokens``, ``output_tokens`` and ``attention`` (n outputs + EOS, S) as numpy.
        ``ensemble``: other models with the same vocabularies (e.g. other seeds) that decode together with this
        one, each step from the mean of the models' next-token probabilities; attention shown is this model's."""
        models = [self, *ensemble]
        self._check_ensemble(ensemble)
        source_vocab, target_vocab = self._vocabs()
        texts = list(texts)
        encoded = [self.encode_source(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # similar lengths pad less
        device = next(self.parameters()).device
        was_training = [model.training for model in models]
        for model in models:
            model.eval()
        step = ensemble_step([model.decoder.decoding_step((0, BOS)) for model in models])
        outputs: list[str] = [""] * len(texts)
        details: list[dict[str, Any]] = [{}] * len(texts)
        try:
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                source, lengths, _, _ = pair_collate([(encoded[i], encoded[i]) for i in chunk])
                source, lengths = source.to(device), lengths.to(device)
                limit = max_length or min(2 * source.shape[1] + 10, self.config.max_output_length)
                memories, states = zip(*(model.encode(source, lengths) for model in models))
                options = {"bos": BOS, "eos": EOS, "max_length": limit}
                found = (greedy_decode(step, states, memories, len(chunk), **options) if beam <= 1 else
                         beam_search(step, states, memories, len(chunk), beam_size=beam, alpha=alpha, **options))
                for i, tokens, weights in zip(chunk, found.tokens, found.extras):
                    source_tokens = source_vocab.split(texts[i])[:len(encoded[i])] or [SPECIALS[UNK]]
                    words = target_vocab.decode(tokens)
                    if self.shared:  # unknown-word replacement from the most attended source word
                        words = [source_tokens[int(weights[t].argmax())] if token == UNK else word
                                 for t, (token, word) in enumerate(zip(tokens, words))]
                    outputs[i] = self.detokenize(words)
                    details[i] = {"source_tokens": source_tokens, "output_tokens": words,
                                  "attention": weights[:, :len(encoded[i])].numpy()}
        finally:
            for model, mode in zip(models, was_training):
                model.train(mode)
        return (outputs, details) if return_attention else outputs

    def _check_ensemble(self, others: Sequence[Seq2Seq]) -> None:
        """Ensemble members must read and write the same tokens with the same ids."""
        mine = self.extra_state()
        for position, other in enumerate(others, 1):
            if not isinstance(other, Seq2Seq):
                raise UserError(f"ensemble member {position} is a {type(other).__name__}, not a Seq2Seq model")
            if other.extra_state() != mine:
                raise UserError(f"ensemble member {position} has other vocabularies than the first model: models "
                                "decode together only when trained on the same pairs' tokens")
            if next(other.parameters()).device != next(self.parameters()).device:
                raise UserError(f"ensemble member {position} is on another device than the first model")

    # --- model folder ------------------------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        source, target = self._vocabs()
        return {"source_vocabulary": source.to_dict(),
                "target_vocabulary": None if self.shared else target.to_dict()}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.source_vocab = Tokenizer.from_dict(extra["source_vocabulary"])
        target = extra.get("target_vocabulary")
        self.target_vocab = self.source_vocab if target is None else Tokenizer.from_dict(target)
        for name, vocab, size in (("source", self.source_vocab, self.config.encoder.vocab_size),
                                  ("target", self.target_vocab, self.config.decoder.vocab_size)):
            if len(vocab) != size:
                raise UserError(f"{name} vocabulary has {len(vocab)} tokens, the model expects {size}")
