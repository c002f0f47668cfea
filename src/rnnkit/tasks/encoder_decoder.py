"""What seq2seq and captioning share: an encoder makes a memory, the attention decoder writes text from it.

``EncoderDecoderModel`` is the base of ``Seq2Seq`` and ``ImageCaptioner``. A subclass has ``self.decoder`` (an
``AttentionDecoder``), a config with ``label_smoothing``, and defines

    encode(*inputs) -> (memory, initial state)          its encoder (recurrent, or a CNN) and the decoder's bridge
    split_batch(batch) -> (inputs, target, target_lengths)   its collate function's layout
    forward(*inputs, target) = teacher_forced(inputs, target[, sampling_probability])

Targets are ``<s> y_1 .. y_n </s>`` ids padded with 0 (``rnnkit.tasks.vocabulary.encode_marked``). Training is
teacher forcing, with the token loss

    loss = (1 - ls) * -log p(y_t) + ls * mean_w -log p(w)      over the real (not padding) tokens; ls: label smoothing

and validation reports that loss (without smoothing), the token accuracy, and the exact match and corpus BLEU
(``rnnkit.tasks.decoding.bleu_statistics``, on token ids) of greedy decoding: ``val_bleu`` can choose the best epoch
where the loss on unseen targets bottoms out long before the outputs stop improving.

Output length. Decoding stops at EOS or at a maximum number of tokens, which the models derive from their
training targets (``rnnkit.tasks.decoding.limits``), keep in their config (so in the model folder) and let the
user set; every output that reached it without EOS is reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.decoding.bleu_statistics import BLEU_SIZE, bleu_from_statistics, bleu_statistics
from rnnkit.tasks.vocabulary import BOS, EOS


def token_loss(log_probs: Tensor, gold: Tensor, smoothing: float = 0.0) -> Tensor:
    """Mean negative log-likelihood of ``gold`` (N,) under ``log_probs`` (N, V), label-smoothed."""
    nll = F.nll_loss(log_probs, gold)
    return (1 - smoothing) * nll + smoothing * -log_probs.mean(-1).mean() if smoothing else nll


BLEU_COUNTS = "bleu_count_"  # evaluate_batch's BLEU statistics, one key each, made into "bleu" by evaluate_summary


class EncoderDecoderModel(TaskModel):
    def encode(self, *inputs: Any) -> tuple[Any, tuple[Tensor, ...]]:
        raise NotImplementedError

    def split_batch(self, batch: Any) -> tuple[tuple[Any, ...], Tensor, Tensor]:
        raise NotImplementedError

    def teacher_forced(self, inputs: tuple[Any, ...], target: Tensor,
                       sampling_probability: float = 0.0) -> tuple[Tensor, Tensor]:
        """Log probabilities (N, V) of the N real (not padding) tokens of ``target[:, 1:]``, in row-major order,
        and the attention (B, T-1, S)."""
        memory, state = self.encode(*inputs)
        log_probs, attention, _ = self.decoder(target[:, :-1], state, memory, sampling_probability,
                                               keep=target[:, 1:] != 0)
        return log_probs, attention

    def loss(self, batch: Any) -> Tensor:
        inputs, target, _ = self.split_batch(batch)
        log_probs, _ = self(*inputs, target)
        gold = target[:, 1:]
        return token_loss(log_probs, gold[gold != 0], self.config.label_smoothing)

    @torch.no_grad()
    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        """Teacher-forced loss and token accuracy, and the exact match of greedy decoding."""
        inputs, target, target_lengths = self.split_batch(batch)
        log_probs, _ = self(*inputs, target)
        gold = target[:, 1:]
        gold = gold[gold != 0]
        memory, state = self.encode(*inputs)
        found = self.decoder.greedy(memory, state, bos=BOS, eos=EOS, suppress=(0, BOS),
                                    max_length=int(target_lengths.max()) + 5)
        references = [row[1:n - 1] for row, n in zip(target.tolist(), target_lengths.tolist())]
        counts = np.mean([bleu_statistics(r, h) for r, h in zip(references, found.tokens)], axis=0)
        return {"loss": float(token_loss(log_probs, gold)),
                "token_accuracy": float((log_probs.argmax(-1) == gold).float().mean()),
                "exact_match": float(np.mean([h == r for h, r in zip(found.tokens, references)])),
                **{f"{BLEU_COUNTS}{i}": float(value) for i, value in enumerate(counts)}}

    def evaluate_summary(self, means: dict[str, float]) -> dict[str, float]:
        """The averaged metrics with the BLEU counts made into ``bleu``."""
        counts = [means.pop(f"{BLEU_COUNTS}{i}") for i in range(BLEU_SIZE) if f"{BLEU_COUNTS}{i}" in means]
        return means | ({"bleu": bleu_from_statistics(counts)} if len(counts) == BLEU_SIZE else {})
