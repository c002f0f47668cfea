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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
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
from rnnkit.tasks.encoder_decoder import EncoderDecoderModel
from rnnkit.tasks.vocabulary import BOS, EOS, VocabularyConfig, encode_marked, fit_vocabulary


@dataclass
class Seq2SeqConfig:
    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(rnn=RecurrentConfig(hidden_size=128, bidirectional=True)))
    decoder: AttentionDecoderConfig = field(default_factory=AttentionDecoderConfig)
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of the loss"})
    sampling_probability: float = field(default=0.0, metadata={
        "help": "scheduled sampling: share of decoder inputs taken from its own prediction"})
    max_output_length: int = 200  # decoding never generates more tokens (the default is 2 * source + 10)

    def __post_init__(self) -> None:
        if self.decoder.memory_size and self.decoder.memory_size != self.encoder.output_size:
            raise ValueError(f"decoder.memory_size {self.decoder.memory_size} must equal the encoder's output "
                             f"size {self.encoder.output_size}")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.sampling_probability <= 1:
            raise ValueError("label_smoothing must be in [0, 1), sampling_probability in [0, 1]")


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
        sizes set from them. The vocabularies are built on the pairs, each side as its ``VocabularyConfig``
        says (the target's default: the source's). A shared vocabulary (needed by copy, which implies it) is
        built once, on both sides' texts, so both sides must have the same settings."""
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
