"""Learning-rate schedules as a pure function of the step, and the monitor behind plateau and early stopping.

The trainer sets ``lr = config.lr * lr_factor(...) * monitor.lr_scale`` before every optimizer step, so the
only schedule state a checkpoint needs is the monitor's (a few numbers in JSON).
"""

from __future__ import annotations

import dataclasses
import math


def lr_factor(schedule: str, step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Multiplier on the base learning rate for the 0-based optimizer ``step`` about to be taken.

    Warm-up: ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps (never 0, so step 0 learns).
    Then ``"cosine"`` decays from 1 to ``min_lr_ratio`` at ``total_steps``; ``"constant"`` and ``"plateau"``
    stay at 1 (plateau reductions are the monitor's ``lr_scale``).
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "cosine":
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


@dataclasses.dataclass
class Monitor:
    """Tracks the monitored metric: best value and epoch, epochs without improvement, plateau lr scale."""

    mode: str = "min"
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # epochs since the last improvement (early stopping)
    plateau_bad: int = 0  # the same, reset at each lr reduction (reduce-on-plateau)
    lr_scale: float = 1.0

    def update(self, value: float, epoch: int) -> bool:
        """Record one epoch's value; True when it is a new best."""
        if self.best is None or not math.isfinite(self.best):
            improved = math.isfinite(value)
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs, self.plateau_bad = value, epoch, 0, 0
        else:
            self.bad_epochs += 1
            self.plateau_bad += 1
        return improved

    def plateau_step(self, factor: float, patience: int) -> None:
        """Reduce ``lr_scale`` by ``factor`` after ``patience`` epochs without improvement (Keras' rule)."""
        if self.plateau_bad >= patience:
            self.lr_scale *= factor
            self.plateau_bad = 0

    def state(self) -> dict:
        return dataclasses.asdict(self)
