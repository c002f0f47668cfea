"""The non-finite guard: a NaN or Inf loss or gradient stops training before it reaches the weights."""

from __future__ import annotations

import math

from rnnkit.errors import UserError


class NonFiniteError(UserError):
    """Training produced a NaN or Inf loss or gradient. ``epoch``, ``step`` and ``batch`` say where.

    Raised before the optimizer step, so the weights and every checkpoint on disk are from the last good step.
    """

    def __init__(self, message: str, *, epoch: int, step: int, batch: int) -> None:
        super().__init__(message)
        self.epoch, self.step, self.batch = epoch, step, batch


def check_loss(value: float, *, epoch: int, step: int, batch: int, batches: int, lr: float) -> None:
    """Raise ``NonFiniteError`` if the loss of batch ``batch`` (1-based), for optimizer step ``step``, is not finite."""
    if not math.isfinite(value):
        raise NonFiniteError(
            f"non-finite loss ({value}) at epoch {epoch}, step {step} (batch {batch} of {batches}). Likely causes: "
            f"bad input values (NaN/Inf in this batch or its targets), or a learning rate too high (lr={lr:g}) "
            f"that made the weights diverge. Training stopped; checkpoints on disk are from before this step.",
            epoch=epoch, step=step, batch=batch)


def check_grad_norm(norm: float, *, epoch: int, step: int, batch: int, batches: int, lr: float,
                    grad_clip: float | None) -> None:
    """Raise ``NonFiniteError`` if the global gradient norm of optimizer step ``step`` is not finite."""
    if not math.isfinite(norm):
        raise NonFiniteError(
            f"non-finite gradient norm ({norm}) at epoch {epoch}, step {step} (batch {batch} of {batches}) "
            f"although the loss was finite. Likely cause: exploding gradients (lower the learning rate, now "
            f"lr={lr:g}; grad_clip={grad_clip} cannot rescue an infinite norm) or an operation with an infinite "
            f"derivative (sqrt or log at 0, division by 0). Training stopped; checkpoints on disk are from "
            f"before this step.",
            epoch=epoch, step=step, batch=batch)
