"""What every task model provides, so one trainer and one model-folder format serve them all.

A task model is a ``torch.nn.Module`` that

- holds its typed config dataclass as ``self.config`` and names its task in ``task`` (the key in
  ``rnnkit.tasks.TASKS``);
- computes its own training loss: ``loss(batch) -> scalar Tensor`` (the trainer knows no task);
- may report validation metrics: ``evaluate_batch(batch) -> dict[str, float]`` summed per batch by the trainer
  (default: the loss);
- keeps everything needed to use it that is not a weight (vocabulary, scalers, label names) as JSON in
  ``extra_state()`` and takes it back in ``from_config(config, extra)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from rnnkit._config import config_from_dict, config_to_dict


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
