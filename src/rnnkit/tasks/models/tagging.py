"""Aligned many-to-many: ``SequenceTagger`` gives every step its own class (part-of-speech tags, segmentation).

    o_t = encoder(x_1 .. x_T)_t          (bidirectional: o_t sees the whole sequence, before and after t)
    p(tag_t | x) = softmax(W o_t + b)    loss: cross-entropy averaged over every real step of the batch

Targets are one label per step, ``y[i]`` as long as sequence ``i`` (for text: as its tokens). Padded steps have
the target -100, which the loss skips. The encoder is ``rnnkit.tasks.blocks.encoder``'s, without its pooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.sequences import IGNORE_INDEX
from rnnkit.errors import UserError
from rnnkit.tasks.base import SequenceModel, label_scalar
from rnnkit.tasks.blocks.encoder import EncoderConfig


@dataclass
class SequenceTaggerConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    num_tags: int = 0  # from the training tags (for_data)


class SequenceTagger(SequenceModel):
    task = "sequence-tagging"
    config_class = SequenceTaggerConfig

    def __init__(self, config: SequenceTaggerConfig) -> None:
        super().__init__(config)
        if config.num_tags < 2:
            raise ValueError(f"num_tags must be >= 2, got {config.num_tags}")
        self.head = nn.Linear(config.encoder.output_size, config.num_tags)
        self.tags: list[Any] = list(range(config.num_tags))

    @classmethod
    def for_data(cls, X: Any, y: Any, config: SequenceTaggerConfig | None = None, *,
                 tokenizer: dict[str, Any] | None = None, scale: bool = True) -> SequenceTagger:
        """A new tagger for ``config`` (None: the defaults), training inputs ``X`` and per-step labels ``y``
        (the tags are ``sorted`` of all)."""
        tags = sorted({label_scalar(tag) for labels in y for tag in labels})
        config, preprocessor = cls._build(X, config, tokenizer, scale, num_tags=len(tags))
        model = cls(config)
        model.preprocessor, model.tags = preprocessor, tags
        return model

    def dataset(self, X: Any, y: Any = None):
        data = super().dataset(X, y)
        if y is not None:
            for i, (sequence, target) in enumerate(zip(data.sequences, data.targets)):
                if len(sequence) != len(target):
                    raise UserError(f"sequence {i} has {len(sequence)} steps but {len(target)} tags")
        return data

    def encode_targets(self, y: Any) -> list[np.ndarray]:
        index = {tag: i for i, tag in enumerate(self.tags)}
        try:
            return [np.asarray([index[label_scalar(tag)] for tag in labels], dtype=np.int64) for labels in y]
        except KeyError as error:
            raise UserError(f"tag {error.args[0]!r} was not among the training tags {self.tags}") from None

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits per step (B, T, C)."""
        return self.head(self.encoder.steps(x, lengths)[0])

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return F.cross_entropy(self(x, lengths).transpose(1, 2), target, ignore_index=IGNORE_INDEX)

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        x, lengths, target = batch
        logits = self(x, lengths)
        real = target != IGNORE_INDEX
        correct = (logits.argmax(-1) == target) & real
        return {"loss": float(F.cross_entropy(logits.transpose(1, 2), target, ignore_index=IGNORE_INDEX)),
                "accuracy": float(correct.sum() / real.sum())}  # per step

    @torch.no_grad()
    def predict(self, X: Any, batch_size: int = 256) -> list[list[Any]]:
        """One tag per step of each sequence."""
        logits = self.outputs(X, batch_size)  # (N, T_max, C): batches are padded to the longest overall
        lengths = [len(s) for s in self.prepare(X)]
        return [[self.tags[i] for i in row[:n].tolist()] for row, n in zip(logits.argmax(-1), lengths)]

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "tags": self.tags}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        super().load_extra_state(extra)
        self.tags = list(extra.get("tags", self.tags))
