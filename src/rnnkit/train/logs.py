"""Epoch logs on disk: a JSON-lines file (always available) and TensorBoard (only if it is installed)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.train.callbacks import Callback


def _json_line(record: dict[str, Any]) -> str:
    # Standard JSON has no NaN/Infinity: a non-finite metric is written as null.
    clean = {key: None if isinstance(value, float) and not math.isfinite(value) else value
             for key, value in record.items()}
    return json.dumps(clean, allow_nan=False) + "\n"


class JsonlLogger(Callback):
    """One JSON object per epoch in ``path`` (the same dicts as ``FitResult.history``).

    At the start of a run the file is rewritten from the trainer's history: empty for a fresh run, the
    checkpointed epochs for a resumed one, so epochs redone after a crash are never logged twice.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_fit_start(self, trainer: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _fs.atomic_write(self.path, "".join(_json_line(record) for record in trainer.history).encode("utf-8"))

    def on_epoch_end(self, trainer: Any) -> None:
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(_json_line(trainer.history[-1]))


class TensorBoardLogger(Callback):
    """Every numeric field of each epoch record as a scalar at the epoch's step, under ``log_dir``.

    Optional: if ``tensorboard`` is not installed (``torch.utils.tensorboard`` needs it) this does nothing,
    silently, so configs that name a TensorBoard folder run everywhere. ``pip install tensorboard`` enables it.
    """

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = str(log_dir)
        self.writer = None

    def on_fit_start(self, trainer: Any) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, trainer: Any) -> None:
        if self.writer is None:
            return
        record = trainer.history[-1]
        for key, value in record.items():
            if key not in ("epoch", "step") and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, record["step"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
