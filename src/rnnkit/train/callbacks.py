"""Callbacks: plain objects whose optional methods the trainer calls with itself as the only argument.

A callback may define any of ``on_fit_start``, ``on_epoch_start``, ``on_batch_end``, ``on_epoch_end``,
``on_fit_end``; deriving from ``Callback`` is optional. What a hook can read on the trainer:

- ``trainer.model``, ``trainer.config``, ``trainer.optimizer``, ``trainer.device``
- ``trainer.epoch`` (1-based), ``trainer.step`` (optimizer steps done), ``trainer.batch_in_epoch`` (batches done
  in this epoch), ``trainer.batches_per_epoch``, ``trainer.total_steps`` (planned optimizer steps),
  ``trainer.order`` (this epoch's permutation of the training indices)
- ``trainer.last_loss`` and ``trainer.last_batch_size`` (in ``on_batch_end``), ``trainer.epoch_loss`` (running
  mean of the epoch so far), ``trainer.lr``
- ``trainer.history`` (per-epoch records; in ``on_epoch_end`` the last one is this epoch's), ``trainer.resumed``
- ``trainer.world``: ``rank``, ``size``, ``is_main`` under data parallel (``rnnkit.train.distributed``), where
  callbacks run on every rank (progress and logs only on rank 0) and ``last_loss`` is the global batch's

and what it can change: ``trainer.should_stop = True`` ends training after the current batch (stopped_reason
``"callback"``; on every rank if any rank sets it), and ``trainer.total_steps``, the horizon of a cosine schedule
(``trainer.steps_for(epochs)`` counts them as the trainer does; ``AnnealWithin``).

Example, a model that carries its hidden state across the batches of an epoch (truncated BPTT)::

    class ResetState(Callback):
        def on_epoch_start(self, trainer):
            if trainer.batch_in_epoch == 0:  # 0 unless the run resumes mid-epoch
                trainer.model.reset_state()

``on_epoch_start`` also runs when a run resumes mid-epoch (then ``batch_in_epoch > 0``). For an exact mid-epoch
resume such a model must keep the carried state in a registered buffer, so that the checkpointed ``state_dict``
holds it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from rnnkit.train.trainer import Trainer

HOOKS = ("on_fit_start", "on_epoch_start", "on_batch_end", "on_epoch_end", "on_fit_end")


class Callback:
    """Convenience base class: every hook does nothing. Override the ones you need."""

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_epoch_start(self, trainer: Trainer) -> None: ...

    def on_batch_end(self, trainer: Trainer) -> None: ...

    def on_epoch_end(self, trainer: Trainer) -> None: ...

    def on_fit_end(self, trainer: Trainer) -> None: ...


class TimeLimit(Callback):
    """Stops training once ``seconds`` of wall time have passed since the fit started (checked after every batch;
    the epoch then ends as usual, with its validation). What bounds each candidate of a budgeted search
    (``rnnkit.pipelines.select``) on data too large for its epochs to fit the budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def on_fit_start(self, trainer: Trainer) -> None:
        self.started = time.monotonic()

    def on_batch_end(self, trainer: Trainer) -> None:
        if time.monotonic() - self.started > self.seconds:
            trainer.should_stop = True


class AnnealWithin(Callback):
    """A cosine schedule sized to ``seconds`` of wall time. The first epoch is timed (validation included; its
    learning rate stays near the peak); the run is then set to the epochs that fit in ``seconds`` (at least
    ``least``, at most the config's ``max_epochs``), the trainer's cosine schedule decays over them, and training
    stops at the last. Use with ``schedule="cosine"``. It lets a time-limited fit end annealed: the folds of a
    budgeted search (``rnnkit.pipelines.select.classify``) then rank trained models, not snapshots taken at a high
    learning rate. One process only: under data parallel each rank would time its own first epoch."""

    def __init__(self, seconds: float, least: int = 1) -> None:
        self.seconds, self.least = seconds, least
        self.started = time.monotonic()
        self.epochs: int | None = None  # planned, after the first epoch

    def on_fit_start(self, trainer: Trainer) -> None:
        self.started, self.epochs = time.monotonic(), None

    def on_epoch_end(self, trainer: Trainer) -> None:
        if self.epochs is None:
            config, first = trainer.config, time.monotonic() - self.started
            self.epochs = max(self.least, min(config.max_epochs, int(self.seconds / max(first, 1e-9))))
            trainer.total_steps = trainer.steps_for(self.epochs)
        if trainer.epoch >= self.epochs:
            trainer.should_stop = True


def call_hook(callbacks: Iterable[Any], hook: str, trainer: Trainer) -> None:
    """Call ``hook`` on every callback that has it, in order."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(trainer)
