"""What every task model provides, so one trainer and one model-folder format serve them all; and the base of the
models that read raw sequences (classifier, regressor, tagger, recognizer).

A task model is a ``torch.nn.Module`` that

- holds its typed config dataclass as ``self.config`` and names its task in ``task`` (the key in
  ``rnnkit.tasks.TASKS``);
- computes its own training loss: ``loss(batch) -> scalar Tensor`` (the trainer knows no task);
- may report validation metrics: ``evaluate_batch(batch) -> dict[str, float]`` summed per batch by the trainer
  (default: the loss);
- keeps everything needed to use it that is not a weight (vocabulary, scalers, label names) as JSON in
  ``extra_state()`` and takes it back in ``from_config(config, extra)``.

A config's data-derived sizes (vocabulary size, features per step, number of classes) default to 0: the task's
``for_data`` fills them in from the training data; everything else in it is the user's choice.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit._config import config_from_dict, config_to_dict
from rnnkit.data.sequences import Preprocessor, SequenceDataset, pad_batch
from rnnkit.errors import UserError
from rnnkit.tasks.blocks.encoder import SequenceEncoder

_TOKENIZER_KEYS = {"level", "lowercase", "min_count", "max_size", "max_length"}


class TaskModel(torch.nn.Module):
    task: ClassVar[str]
    config_class: ClassVar[type]

    def loss(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        return {"loss": float(self.loss(batch))}

    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state that is not a weight (vocabulary, scaler, label names)."""
        return {}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        if extra:
            raise ValueError(f"{type(self).__name__} keeps no extra state, got keys {sorted(extra)}")

    def to_config(self) -> dict[str, Any]:
        return {"task": self.task, "config": config_to_dict(self.config), "extra": self.extra_state()}

    @classmethod
    def from_config(cls, document: dict[str, Any], *, where: str = "config.json") -> "TaskModel":
        model = cls(config_from_dict(cls.config_class, document["config"], where=f"{where}: config"))
        model.load_extra_state(document.get("extra", {}))
        return model

    def streamer(self) -> Any:
        """Stateful inference over one sequence: ``push(x) -> y`` (a step or a chunk), ``reset()``, ``state``;
        see ``rnnkit.deploy.stream`` (models whose outputs need later steps refuse, saying why)."""
        from rnnkit.deploy.stream import streamer  # deployment sits above the tasks: imported when used

        return streamer(self)

    @classmethod
    def settings(cls, config: Any) -> Any:
        """``config`` (None: the defaults), checked to be this task's config class, for ``for_data``."""
        if config is None:
            return cls.config_class()
        if not isinstance(config, cls.config_class):
            raise UserError(f"{cls.__name__} takes a {cls.config_class.__name__}, got {type(config).__name__}")
        return config


class SequenceModel(TaskModel):
    """Shared by the sequence tasks: raw data in (through ``self.preprocessor``), batched outputs out.

    The config has an ``encoder`` (``rnnkit.tasks.blocks.encoder.EncoderConfig``). Subclasses define
    ``encode_targets(y)`` (raw targets -> what ``loss`` reads), ``forward(x, lengths)`` and ``extra_state``
    entries of their own (they call ``super()``).
    """

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        self.preprocessor: Preprocessor | None = None
        self.metadata: dict[str, Any] = {}  # JSON kept in the model folder: e.g. the CLI's input columns

    @classmethod
    def _build(cls, X: Any, config: Any, tokenizer: dict[str, Any] | None, scale: bool,
               **sizes: Any) -> tuple[Any, Preprocessor]:
        """Fit the preprocessor on the training inputs ``X``; ``config`` (None: the defaults) with the encoder's
        input size (features, or the vocabulary) and the task's own data-derived ``sizes`` filled in."""
        config = cls.settings(config)
        unknown = set(tokenizer or {}) - _TOKENIZER_KEYS
        if unknown:
            raise UserError(f"unknown tokenizer option(s) {sorted(unknown)}; known: {sorted(_TOKENIZER_KEYS)}")
        preprocessor = Preprocessor.fit(X, scale=scale, **(tokenizer or {}))
        vocab_size = len(preprocessor.tokenizer) if preprocessor.tokenizer is not None else 0
        encoder = dataclasses.replace(config.encoder, input_size=preprocessor.input_size, vocab_size=vocab_size)
        return dataclasses.replace(config, encoder=encoder, **sizes), preprocessor

    def prepare(self, X: Any) -> list[np.ndarray]:
        if self.preprocessor is None:
            raise UserError(f"{type(self).__name__} has no preprocessor: build it with for_data(X, y)")
        return self.preprocessor.transform(X)

    def dataset(self, X: Any, y: Any = None) -> SequenceDataset:
        """The trainer's data set: preprocessed inputs and encoded targets (``rnnkit.data.pad_collate`` batches)."""
        return SequenceDataset(self.prepare(X), None if y is None else self.encode_targets(y))

    def encode_targets(self, y: Any) -> Any:
        raise NotImplementedError

    @torch.no_grad()
    def outputs(self, X: Any, batch_size: int = 256) -> Tensor:
        """``forward`` over raw inputs ``X`` in eval mode, in batches; on the CPU, in the order of ``X``.
        Per-step outputs are padded with zeros to the longest sequence of ``X``."""
        sequences = self.prepare(X)
        was_training, device = self.training, next(self.parameters()).device
        self.eval()
        try:
            parts = []
            for start in range(0, len(sequences), batch_size):
                x, lengths = pad_batch(sequences[start:start + batch_size])
                parts.append(self(x.to(device), lengths.to(device)).cpu())
        finally:
            self.train(was_training)
        steps = max(len(s) for s in sequences)  # per-step outputs (B, T, C): pad every batch to one T
        return torch.cat([F.pad(p, (0, 0, 0, steps - p.shape[1])) if p.dim() == 3 else p for p in parts])

    def extra_state(self) -> dict[str, Any]:
        return {"preprocessor": self.preprocessor.to_dict() if self.preprocessor else None,
                "metadata": self.metadata}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        values = extra.get("preprocessor")
        self.preprocessor = Preprocessor.from_dict(values) if values else None
        self.metadata = dict(extra.get("metadata") or {})


def label_scalar(label: Any) -> Any:
    """A label as a plain JSON scalar (numpy ints and strings become Python ones)."""
    label = label.item() if hasattr(label, "item") else label
    if not isinstance(label, (str, int, float, bool)):
        raise UserError(f"labels must be strings or numbers, got {type(label).__name__}: {label!r}")
    return label
