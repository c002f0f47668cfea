"""Many-to-one sequence models on raw data: ``SequenceClassifier`` (a class per sequence) and ``SequenceRegressor``.

    z = pool(encoder(x_1 .. x_T))       (see ``rnnkit.tasks.encoder``: embedding or numbers, conv, RNN, pooling)
    classifier:  p(class | x) = softmax(W z + b)                  loss: cross-entropy
    regressor:   y = s * (W z + b) + m                            loss: MSE on the standardised y' = (y - m) / s

A model carries everything it needs to read raw data: the tokenizer or the feature scaler, the class labels or
the target scale (in ``config.json``, via ``extra_state``). So, without any other file::

    model = SequenceClassifier.for_data(texts, labels, tokenizer={"level": "word"}, bidirectional=True)
    Trainer(model, TrainConfig(max_epochs=5)).fit(model.dataset(texts, labels), collate_fn=pad_collate)
    save_model(model, "runs/sentiment"); rnnkit.load("runs/sentiment").predict(["what a car!"])

Inputs (``X``): a list of texts, or numeric sequences as ``rnnkit.data.sequences.from_numpy`` reads them (a list
of (T,) / (T, F) arrays of any lengths, or an (N, T) / (N, T, F) array).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.sequences import Preprocessor, SequenceDataset, pad_batch
from rnnkit.errors import UserError
from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.encoder import EncoderConfig, SequenceEncoder

_TOKENIZER_KEYS = {"level", "lowercase", "min_count", "max_size", "max_length"}


class SequenceModel(TaskModel):
    """Shared by the sequence tasks: raw data in (through ``self.preprocessor``), batched outputs out.

    Subclasses define ``encode_targets(y)`` (raw targets -> what ``loss`` reads), ``forward(x, lengths)`` and
    ``extra_state`` entries of their own (they call ``super()``).
    """

    config_class: ClassVar[type]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        self.preprocessor: Preprocessor | None = None
        self.metadata: dict[str, Any] = {}  # JSON kept in the model folder: e.g. the CLI's input columns

    @classmethod
    def _build(cls, X: Any, tokenizer: dict[str, Any] | None, scale: bool, encoder: dict[str, Any],
               **config: Any) -> tuple[Any, Preprocessor]:
        """Fit the preprocessor on the training inputs ``X`` and size the encoder from it."""
        unknown = set(tokenizer or {}) - _TOKENIZER_KEYS
        if unknown:
            raise UserError(f"unknown tokenizer option(s) {sorted(unknown)}; known: {sorted(_TOKENIZER_KEYS)}")
        preprocessor = Preprocessor.fit(X, scale=scale, **(tokenizer or {}))
        sizes = ({"vocab_size": len(preprocessor.tokenizer)} if preprocessor.tokenizer is not None
                 else {"input_size": preprocessor.input_size})
        known = {f.name for f in dataclasses.fields(EncoderConfig)}
        if set(encoder) - known:
            raise UserError(f"unknown option(s) {sorted(set(encoder) - known)}; known: {sorted(known)}")
        return cls.config_class(encoder=EncoderConfig(**{**encoder, **sizes}), **config), preprocessor

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


@dataclass
class SequenceClassifierConfig:
    encoder: EncoderConfig
    num_classes: int
    label_smoothing: float = 0.0


class SequenceClassifier(SequenceModel):
    task = "sequence-classification"
    config_class = SequenceClassifierConfig

    def __init__(self, config: SequenceClassifierConfig) -> None:
        super().__init__(config)
        if config.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {config.num_classes}")
        self.head = nn.Linear(config.encoder.output_size, config.num_classes)
        self.labels: list[Any] = list(range(config.num_classes))

    @classmethod
    def for_data(cls, X: Any, y: Any, *, tokenizer: dict[str, Any] | None = None, scale: bool = True,
                 label_smoothing: float = 0.0, **encoder: Any) -> SequenceClassifier:
        """A new classifier sized for training inputs ``X`` and labels ``y`` (any JSON scalars: the classes
        are ``sorted(set(y))``). ``encoder``: ``EncoderConfig`` fields (hidden_size, pooling, ...)."""
        labels = sorted({_scalar(label) for label in y})
        if len(labels) < 2:
            raise UserError(f"classification needs at least 2 classes in the training labels, got {labels}")
        config, preprocessor = cls._build(X, tokenizer, scale, encoder, num_classes=len(labels),
                                          label_smoothing=label_smoothing)
        model = cls(config)
        model.preprocessor, model.labels = preprocessor, labels
        return model

    def encode_targets(self, y: Any) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        try:
            return np.asarray([index[_scalar(label)] for label in y], dtype=np.int64)
        except KeyError as error:
            raise UserError(f"label {error.args[0]!r} was not among the training labels {self.labels}") from None

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, C)."""
        return self.head(self.encoder(x, lengths)[0])

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return F.cross_entropy(self(x, lengths), target, label_smoothing=self.config.label_smoothing)

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        x, lengths, target = batch
        logits = self(x, lengths)
        return {"loss": float(F.cross_entropy(logits, target)),
                "accuracy": float((logits.argmax(-1) == target).float().mean())}

    def predict_proba(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``self.labels``."""
        return torch.softmax(self.outputs(X, batch_size).double(), dim=-1).numpy()

    def predict(self, X: Any, batch_size: int = 256) -> list[Any]:
        return [self.labels[i] for i in self.outputs(X, batch_size).argmax(-1).tolist()]

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "labels": self.labels}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        super().load_extra_state(extra)
        self.labels = list(extra.get("labels", self.labels))
        if len(self.labels) != self.config.num_classes:
            raise ValueError(f"{len(self.labels)} labels for num_classes={self.config.num_classes}")


@dataclass
class SequenceRegressorConfig:
    encoder: EncoderConfig
    output_size: int = 1


class SequenceRegressor(SequenceModel):
    task = "sequence-regression"
    config_class = SequenceRegressorConfig

    def __init__(self, config: SequenceRegressorConfig) -> None:
        super().__init__(config)
        self.head = nn.Linear(config.encoder.output_size, config.output_size)
        self.target_mean = [0.0] * config.output_size
        self.target_std = [1.0] * config.output_size

    @classmethod
    def for_data(cls, X: Any, y: Any, *, tokenizer: dict[str, Any] | None = None, scale: bool = True,
                 **encoder: Any) -> SequenceRegressor:
        """A new regressor for inputs ``X`` and targets ``y`` (N,) or (N, O); targets are standardised."""
        targets = np.asarray(y, dtype=np.float64)
        if targets.ndim not in (1, 2) or not np.isfinite(targets).all():
            raise UserError(f"regression targets must be finite, shape (N,) or (N, O); got shape {targets.shape}")
        columns = targets.reshape(len(targets), -1)
        config, preprocessor = cls._build(X, tokenizer, scale, encoder, output_size=columns.shape[1])
        model = cls(config)
        std = columns.std(axis=0)
        model.preprocessor = preprocessor
        model.target_mean, model.target_std = columns.mean(0).tolist(), np.where(std > 1e-12, std, 1.0).tolist()
        return model

    def encode_targets(self, y: Any) -> np.ndarray:
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        scaled = ((targets - np.asarray(self.target_mean)) / np.asarray(self.target_std)).astype(np.float32)
        return scaled[:, 0] if self.config.output_size == 1 else scaled

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Standardised predictions (B,) (output_size 1) or (B, O)."""
        y = self.head(self.encoder(x, lengths)[0])
        return y.squeeze(-1) if self.config.output_size == 1 else y

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return F.mse_loss(self(x, lengths), target)

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        x, lengths, target = batch
        scaled_error = (self(x, lengths) - target).view(len(target), -1)
        error = scaled_error * torch.tensor(self.target_std, device=target.device)  # in the targets' units
        return {"loss": float(scaled_error.pow(2).mean()), "mae": float(error.abs().mean())}

    def predict(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Predictions in the targets' units: (N,) or (N, O)."""
        scaled = self.outputs(X, batch_size).double().numpy().reshape(-1, self.config.output_size)
        y = scaled * np.asarray(self.target_std) + np.asarray(self.target_mean)
        return y[:, 0] if self.config.output_size == 1 else y

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "target_mean": self.target_mean, "target_std": self.target_std}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        super().load_extra_state(extra)
        self.target_mean = list(extra.get("target_mean", self.target_mean))
        self.target_std = list(extra.get("target_std", self.target_std))


def _scalar(label: Any) -> Any:
    """A label as a plain JSON scalar (numpy ints and strings become Python ones)."""
    label = label.item() if hasattr(label, "item") else label
    if not isinstance(label, (str, int, float, bool)):
        raise UserError(f"labels must be strings or numbers, got {type(label).__name__}: {label!r}")
    return label
