"""Many-to-one: a recurrent encoder reads a whole sequence, a linear head reads its final state.

    h_T = encoder(x_1 .. x_T)      (the state at each sequence's own last step; both directions if bidirectional)
    y   = W_hy h_T + b_y           (the classic Elman output layer, applied once at the end)

Batches are ``(x (B, T, I), lengths (B,), y)`` with ``y`` float (B,) or (B, O) for regression and class indices
(B,) for classification. The memory demo, and later sequence classification and regression, build on this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import make_layer
from rnnkit.nn.init import chrono_init_
from rnnkit.tasks.base import TaskModel

OBJECTIVES = ("regression", "classification")


@dataclass
class ManyToOneConfig:
    input_size: int
    output_size: int
    objective: str = "regression"
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    layer_norm: bool = False
    chrono_lag: int | None = None  # gated encoders start with chrono initialisation for lags up to this
    tolerance: float | None = None  # regression: also report the share of predictions within this error

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")


class ManyToOne(TaskModel):
    task = "many-to-one"
    config_class = ManyToOneConfig

    def __init__(self, config: ManyToOneConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = make_layer(config.cell, config.input_size, config.hidden_size,
                                  num_layers=config.num_layers, bidirectional=config.bidirectional,
                                  dropout=config.dropout, layer_norm=config.layer_norm)
        if config.chrono_lag is not None:
            chrono_init_(self.encoder, config.chrono_lag)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(directions * config.hidden_size, config.output_size)

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The top layer's final state, both directions concatenated: (B, D*H)."""
        _, state = self.encoder(x, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        directions = 2 if self.config.bidirectional else 1
        return torch.cat(list(h_n[-directions:]), dim=-1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Regression: predictions (B,) or (B, O); classification: logits (B, C)."""
        return self.output(self.features(x, lengths))

    def output(self, features: Tensor) -> Tensor:
        y = self.head(features)
        if self.config.objective == "regression" and self.config.output_size == 1:
            y = y.squeeze(-1)
        return y

    def loss_from_output(self, output: Tensor, target: Tensor) -> Tensor:
        if self.config.objective == "classification":
            return F.cross_entropy(output, target)
        return F.mse_loss(output, target)

    def loss(self, batch: Any) -> Tensor:
        x, lengths, target = batch
        return self.loss_from_output(self(x, lengths), target)

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        x, lengths, target = batch
        output = self(x, lengths)
        metrics = {"loss": float(self.loss_from_output(output, target))}
        if self.config.objective == "classification":
            metrics["accuracy"] = float((output.argmax(-1) == target).float().mean())
        else:
            error = (output - target).abs()
            metrics["mae"] = float(error.mean())
            if self.config.tolerance is not None:
                metrics["accuracy"] = float((error < self.config.tolerance).float().mean())
        return metrics
