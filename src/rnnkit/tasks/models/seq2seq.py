"""Sequence to sequence with attention: ``Seq2Seq`` (a recurrent encoder and the attention decoder).

    x_1..x_S --Embedding, (Bi)LSTM/GRU--> m_1..m_S (memory), [h_S(fwd); h_1(bwd)] --bridge--> decoder state
    decoder (rnnkit.tasks.blocks.decoder): attention over m, input feeding, optional copy; outputs y_1..y_n, EOS
    loss: token cross-entropy on the targets, optional label smoothing (rnnkit.tasks.encoder_decoder)

Vocabularies are built on the training pairs only and live in the model folder (``extra_state``): a source and a
target ``Tokenizer`` (characters or words), or one shared by both sides (needed by the copy mechanism, whose
source ids must be target ids), built as ``rnnkit.tasks.vocabulary`` says (``<s>`` and ``</s>`` at ids 2 and 3;
targets encoded ``<s> y_1 .. y_n </s>``) with a ``VocabularyConfig`` per side. Word-level
targets keep what the tokenizer's word pattern keeps, so phoneme strings such as ``K AE1 T`` (with
``lowercase=False``) are sequences of phoneme tokens. Outputs are joined with "" (characters) or " " (words).

    config = Seq2SeqConfig(decoder=AttentionDecoderConfig(attention="multiplicative"))
    model = Seq2Seq.for_data(sources, targets, config, target_vocabulary=VocabularyConfig("word", lowercase=False))
    Trainer(model, TrainConfig(max_epochs=10)).fit(model.dataset(sources, targets), collate_fn=pair_collate)
    model.translate(["cat"], beam=5)        # ["K AE1 T"]

With a shared word vocabulary, an output ``<unk>`` is replaced by the source word the decoder attended to most
(Luong et al. 2015's unknown-word replacement), so words outside the capped vocabulary still come through.

Output length. An output of a source of S tokens has at most

    limit(S) = min(max_output_length, ceil(output_length_ratio * S) + 10)      tokens, EOS counted

Both settings come from the training pairs when left at 0 (``for_data``): ``output_length_ratio`` is 1.5 times the
largest target/source length ratio seen, ``max_output_length`` 1.5 times the longest target, plus 10 (so every
training target fits, with room). A task whose targets are 10 times longer than their sources gets a cap to match;
an output that reaches it without EOS is reported (``translate(..., return_details=True)``, else a warning).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.pairs import PairDataset, pair_collate
from rnnkit.data.text import SPECIALS, UNK, Tokenizer
from rnnkit.errors import UserError
from rnnkit.nn.config import RecurrentConfig
from rnnkit.nn.padding import valid_mask
from rnnkit.tasks.blocks.decoder import AttentionDecoder, AttentionDecoderConfig, Memory
from rnnkit.tasks.blocks.encoder import EncoderConfig, SequenceEncoder
from rnnkit.tasks.decoding.beam_search import beam_search, ensemble_step, greedy_decode
from rnnkit.tasks.decoding.limits import LENGTH_MARGIN, LENGTH_SLACK, length_cap, warn_capped
from rnnkit.tasks.encoder_decoder import EncoderDecoderModel
from rnnkit.tasks.vocabulary import BOS, EOS, VocabularyConfig, encode_marked, fit_vocabulary


OUTPUT_LIMIT = "the maximum output length without ending"

# The default network and TrainConfig settings (`rnnkit seq2seq train`): chosen on a validation split of generated
# character pairs whose targets are 5-10 times longer than their sources (bench/seq2seq_expansion.py), so that
# 20,000 such pairs train to exact match >= 0.9 in a few minutes on 2 cores. The decoder's steps dominate the cost
# (one per target token); a 64-unit decoder with multiplicative attention costs a third of a 128-unit additive
# one per step for little less per step learned. The budget is in steps (1,500 batches of 64), so small tables
# get many epochs and large ones a bounded time; the learning rate decays (cosine) over it, and training stops
# earlier when the validation loss has not improved by 0.001 for 2 epochs.
TRAINING_DEFAULTS = {"max_epochs": 100, "max_steps": 1500, "batch_size": 64, "lr": 1e-2, "schedule": "cosine",
                     "warmup_steps": 100, "min_lr_ratio": 0.05, "patience": 2, "min_delta": 1e-3}


def default_encoder() -> EncoderConfig:
    return EncoderConfig(embedding_dim=32, rnn=RecurrentConfig(hidden_size=64, bidirectional=True))


def default_decoder() -> AttentionDecoderConfig:
    return AttentionDecoderConfig(embedding_dim=32, attention="multiplicative", rnn=RecurrentConfig(hidden_size=64))


@dataclass
class Seq2SeqConfig:
    encoder: EncoderConfig = field(default_factory=default_encoder)
    decoder: AttentionDecoderConfig = field(default_factory=default_decoder)
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of the loss"})
    sampling_probability: float = field(default=0.0, metadata={
        "help": "scheduled sampling: share of decoder inputs taken from its own prediction"})
    # The output length cap (see the module docstring); 0: from the training pairs (for_data)
    max_output_length: int = field(default=0, metadata={
        "help": "most output tokens (EOS counted); 0: 1.5 x the longest training target + 10"})
    output_length_ratio: float = field(default=0.0, metadata={
        "help": "most output tokens per source token (+ 10); 0: 1.5 x the largest target/source ratio in training"})

    def __post_init__(self) -> None:
        if self.decoder.memory_size and self.decoder.memory_size != self.encoder.output_size:
            raise ValueError(f"decoder.memory_size {self.decoder.memory_size} must equal the encoder's output "
                             f"size {self.encoder.output_size}")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.sampling_probability <= 1:
            raise ValueError(f"label_smoothing must be in [0, 1), sampling_probability in [0, 1]; got "
                             f"{self.label_smoothing} and {self.sampling_probability}")
        if self.max_output_length < 0 or not self.output_length_ratio >= 0:
            raise ValueError(f"max_output_length and output_length_ratio must be >= 0 (0: from the training pairs), "
                             f"got {self.max_output_length} and {self.output_length_ratio}")


class Seq2Seq(EncoderDecoderModel):
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
    def for_data(cls, sources: Sequence[str], targets: Sequence[str], config: Seq2SeqConfig | None = None, *,
                 source_vocabulary: VocabularyConfig | None = None, target_vocabulary: VocabularyConfig | None = None,
                 shared_vocabulary: bool = False) -> Seq2Seq:
        """A new model for the training pairs: ``config`` (None: the defaults) with the vocabulary and memory
        sizes, and the output length cap where it is 0, set from them. The vocabularies are built on the pairs,
        each side as its ``VocabularyConfig`` says (the target's default: the source's). A shared vocabulary
        (needed by copy, which implies it) is built once, on both sides' texts, so both sides must have the same
        settings."""
        config = cls.settings(config)
        if len(sources) != len(targets) or not sources:
            raise UserError(f"need as many sources as targets, at least one: got {len(sources)} and {len(targets)}")
        source_options = source_vocabulary or VocabularyConfig()
        target_options = target_vocabulary or source_options
        shared = shared_vocabulary or config.decoder.copy
        if shared and target_options != source_options:
            raise UserError("a shared vocabulary (and copy) needs the same level and lowercasing (and the same "
                            f"settings) on both sides; got source {source_options}, target {target_options}")
        source_vocab = fit_vocabulary(list(sources) + (list(targets) if shared else []), source_options)
        target_vocab = source_vocab if shared else fit_vocabulary(targets, target_options)
        encoder = dataclasses.replace(config.encoder, input_size=0, vocab_size=len(source_vocab))
        decoder = dataclasses.replace(config.decoder, vocab_size=len(target_vocab), memory_size=encoder.output_size,
                                      init_size=encoder.output_size)
        model = cls(dataclasses.replace(config, encoder=encoder, decoder=decoder))
        model.source_vocab, model.target_vocab = source_vocab, target_vocab
        source_lengths = np.asarray([max(1, len(model.encode_source(text))) for text in sources])
        target_lengths = np.asarray([len(model.encode_target(text)) - 2 for text in targets])  # no BOS, EOS
        model.config = dataclasses.replace(
            model.config, max_output_length=config.max_output_length or length_cap(target_lengths.max()),
            output_length_ratio=config.output_length_ratio or math.ceil(
                1000 * LENGTH_MARGIN * float((target_lengths / source_lengths).max())) / 1000)
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
        return encode_marked(self._vocabs()[1], text)

    def dataset(self, sources: Sequence[str], targets: Sequence[str]) -> PairDataset:
        """The trainer's data set (batch it with ``rnnkit.data.pairs.pair_collate``)."""
        return PairDataset([self.encode_source(s) for s in sources], [self.encode_target(t) for t in targets])

    def detokenize(self, tokens: Sequence[str]) -> str:
        return ("" if self._vocabs()[1].level == "char" else " ").join(tokens)

    def output_limit(self, source_length: int) -> int:
        """Most output tokens (EOS counted) for a source of ``source_length`` tokens (see the module docstring).
        A config with 0s (a model not built by ``for_data``) falls back to ``2 * S + 10``, at most 200."""
        ratio = self.config.output_length_ratio or 2.0
        return min(self.config.max_output_length or 200, math.ceil(ratio * max(source_length, 1)) + LENGTH_SLACK)

    # --- model -----------------------------------------------------------------------------------------------

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Memory, tuple[Tensor, ...]]:
        """The decoder's memory and initial state for a batch of source ids (B, S) with ``lengths`` (B,)."""
        output, h_n = self.encoder.steps(source, lengths)  # (B, S, D*H), (L*D, B, H)
        final = torch.cat(list(h_n[-self.config.encoder.rnn.directions:]), dim=-1)  # (B, D*H): last layer
        memory = self.decoder.memory(output, valid_mask(lengths, output.shape[1]),
                                     source if self.config.decoder.copy else None)
        return memory, self.decoder.init_state(memory, final)

    def split_batch(self, batch: Any) -> tuple[tuple[Tensor, Tensor], Tensor, Tensor]:
        source, source_lengths, target, target_lengths = batch  # pair_collate's layout
        return (source, source_lengths), target, target_lengths

    def forward(self, source: Tensor, source_lengths: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing (with scheduled sampling in training): log probabilities (N, V) of the N real tokens
        of ``target[:, 1:]``, in row-major order, and the attention (B, T-1, S)."""
        return self.teacher_forced((source, source_lengths), target, self.config.sampling_probability)

    # --- translation -------------------------------------------------------------------------------------------

    @torch.no_grad()
    def translate(self, texts: Sequence[str], *, beam: int = 1, max_length: int | None = None, alpha: float = 0.0,
                  batch_size: int = 64, return_details: bool = False, ensemble: Sequence[Seq2Seq] = (),
                  return_attention: bool = False, progress: Callable[[int, int], None] | None = None) -> Any:
        """Outputs for ``texts``: greedy (``beam=1``) or beam search with ``beam`` hypotheses and GNMT length
        penalty ``alpha``. ``max_length``: most output tokens for every text (default: ``output_limit`` of each
        source's length). With ``return_details`` (``return_attention``: its former name): ``(outputs,
        details)``, details one dict per text with ``source_tokens``, ``output_tokens``, ``attention`` (n outputs
        + EOS, S) as numpy, ``max_length`` and ``capped`` (True: the output reached ``max_length`` without EOS and
        was cut there); without it, cut outputs raise an ``OutputCappedWarning``.
        ``ensemble``: other models with the same vocabularies (e.g. other seeds) that decode together with this
        one, each step from the mean of the models' next-token probabilities; attention shown is this model's.
        ``progress``: called ``(texts done, texts)`` after each batch (``rnnkit.train.progress.CountProgress``)."""
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
                limits = [max_length or self.output_limit(len(encoded[i])) for i in chunk]
                source, lengths = source.to(device), lengths.to(device)
                memories, states = zip(*(model.encode(source, lengths) for model in models))
                options = {"bos": BOS, "eos": EOS, "max_length": limits}
                found = (greedy_decode(step, states, memories, len(chunk), **options) if beam <= 1 else
                         beam_search(step, states, memories, len(chunk), beam_size=beam, alpha=alpha, **options))
                for i, tokens, weights, limit, cut in zip(chunk, found.tokens, found.extras, limits, found.capped):
                    source_tokens = source_vocab.split(texts[i])[:len(encoded[i])] or [SPECIALS[UNK]]
                    words = target_vocab.decode(tokens)
                    if self.shared:  # unknown-word replacement from the most attended source word
                        words = [source_tokens[int(weights[t].argmax())] if token == UNK else word
                                 for t, (token, word) in enumerate(zip(tokens, words))]
                    outputs[i] = self.detokenize(words)
                    details[i] = {"source_tokens": source_tokens, "output_tokens": words,
                                  "attention": weights[:, :len(encoded[i])].numpy(), "max_length": limit,
                                  "capped": cut}
                if progress is not None:
                    progress(min(start + batch_size, len(order)), len(order))
        finally:
            for model, mode in zip(models, was_training):
                model.train(mode)
        if return_details or return_attention:
            return outputs, details
        warn_capped([d["capped"] for d in details], OUTPUT_LIMIT, "max_length (or the model's max_output_length / "
                    "output_length_ratio)")
        return outputs

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
