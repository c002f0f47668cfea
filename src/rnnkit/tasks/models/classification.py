"""Many-to-one sequence models on raw data: ``SequenceClassifier`` (a class per sequence) and ``SequenceRegressor``.

    z = pool(encoder(x_1 .. x_T))       (``rnnkit.tasks.blocks.encoder``: embedding or numbers, conv, RNN, pooling)
    classifier:  p(class | x) = softmax(W z + b)                  loss: cross-entropy
    regressor:   y = s * (W z + b) + m                            loss: MSE on the standardised y' = (y - m) / s

A model carries everything it needs to read raw data: the tokenizer or the feature scaler, the class labels or
the target scale (in ``config.json``, via ``extra_state``). So, without any other file::

    config = SequenceClassifierConfig(EncoderConfig(rnn=RecurrentConfig(bidirectional=True), pooling="mean"))
    model = SequenceClassifier.for_data(texts, labels, config, tokenizer={"level": "word"})
    Trainer(model, TrainConfig(max_epochs=5)).fit(model.dataset(texts, labels), collate_fn=pad_collate)
    save_model(model, "runs/sentiment"); rnnkit.load("runs/sentiment").predict(["what a car!"])

Inputs (``X``): a list of texts, or numeric sequences as ``rnnkit.data.sequences.from_numpy`` reads them (a list
of (T,) / (T, F) arrays of any lengths, or an (N, T) / (N, T, F) array).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.tasks.base import SequenceModel, label_scalar
from rnnkit.tasks.blocks.encoder import EncoderConfig


@dataclass
class SequenceClassifierConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    num_classes: int = 0  # from the training labels (for_data)
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of the loss"})


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
    def for_data(cls, X: Any, y: Any, config: SequenceClassifierConfig | None = None, *,
                 tokenizer: dict[str, Any] | None = None, scale: bool = True) -> SequenceClassifier:
        """A new classifier for ``config`` (None: the defaults) sized for training inputs ``X`` and labels ``y``
        (any JSON scalars: the classes are ``sorted(set(y))``). ``tokenizer``: ``Tokenizer.fit`` options for
        text; ``scale``: standardise numeric features."""
        labels = sorted({label_scalar(label) for label in y})
        if len(labels) < 2:
            raise UserError(f"classification needs at least 2 classes in the training labels, got {labels}")
        config, preprocessor = cls._build(X, config, tokenizer, scale, num_classes=len(labels))
        model = cls(config)
        model.preprocessor, model.labels = preprocessor, labels
        return model

    def encode_targets(self, y: Any) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        try:
            return np.asarray([index[label_scalar(label)] for label in y], dtype=np.int64)
        except KeyError as error:
            raise UserError(f"label {error.args[0]!r} was not among the training labels {self.labels}") from None

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, C)."""
        return self.output(self.encoder(x, lengths)[0])

    def output(self, features: Tensor) -> Tensor:
        """Logits (B, C) from the pooled features (B, D*H)."""
        return self.head(features)

    def loss_from_output(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(logits, target, label_smoothing=self.config.label_smoothing)

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return self.loss_from_output(self(x, lengths), target)

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
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    output_size: int = 1  # targets per sequence (for_data: from the training targets)
    tolerance: float | None = None  # also report "accuracy": the share of predictions within this of the target


class SequenceRegressor(SequenceModel):
    task = "sequence-regression"
    config_class = SequenceRegressorConfig

    def __init__(self, config: SequenceRegressorConfig) -> None:
        super().__init__(config)
        self.head = nn.Linear(config.encoder.output_size, config.output_size)
        self.target_mean = [0.0] * config.output_size
        self.target_std = [1.0] * config.output_size

    @classmethod
    def for_data(cls, X: Any, y: Any, config: SequenceRegressorConfig | None = None, *,
                 tokenizer: dict[str, Any] | None = None, scale: bool = True) -> SequenceRegressor:
        """A new regressor for ``config`` (None: the defaults), inputs ``X`` and targets ``y`` (N,) or (N, O);
        targets are standardised."""
        targets = np.asarray(y, dtype=np.float64)
        if targets.ndim not in (1, 2) or not np.isfinite(targets).all():
            raise UserError(f"regression targets must be finite, shape (N,) or (N, O); got shape {targets.shape}")
        columns = targets.reshape(len(targets), -1)
        config, preprocessor = cls._build(X, config, tokenizer, scale, output_size=columns.shape[1])
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
        return self.output(self.encoder(x, lengths)[0])

    def output(self, features: Tensor) -> Tensor:
        """Standardised predictions from the pooled features (B, D*H)."""
        y = self.head(features)
        return y.squeeze(-1) if self.config.output_size == 1 else y

    def loss_from_output(self, predictions: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(predictions, target)

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return self.loss_from_output(self(x, lengths), target)

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        """The loss (scaled units), the mean absolute error and, with a ``tolerance``, the share of predictions
        within it (``accuracy``), both in the targets' units."""
        x, lengths, target = batch
        predictions = self(x, lengths)
        scaled_error = (predictions - target).view(len(target), -1)
        error = (scaled_error * torch.tensor(self.target_std, device=target.device)).abs()  # the targets' units
        metrics = {"loss": float(self.loss_from_output(predictions, target)), "mae": float(error.mean())}
        if self.config.tolerance is not None:
            metrics["accuracy"] = float((error < self.config.tolerance).float().mean())
        return metrics

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

