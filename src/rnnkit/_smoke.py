"""Smoke mode: ``RNNKIT_SMOKE=1`` in the environment turns every command and example into a quick check that it
runs (the README test sets it), never a result.

In smoke mode every training run is one epoch of at most ``STEPS`` optimizer steps (``rnnkit.train.Trainer``),
a selection budget is at most ``BUDGET_SECONDS`` (``rnnkit.pipelines.select.budget``), example data sets and
generated splits keep at most ``EXAMPLES`` examples (``python -m rnnkit.datasets``, the data generators), and the
memory demo trains each model ``STEPS`` steps and tests it on a few sequences. Set to ``""`` or ``"0"``: off.
"""

from __future__ import annotations

import dataclasses
import os

VARIABLE = "RNNKIT_SMOKE"
STEPS = 3
BUDGET_SECONDS = 5.0
EXAMPLES = 60


def active() -> bool:
    return os.environ.get(VARIABLE, "") not in ("", "0")


def examples(count: int | None, smoke: int = EXAMPLES) -> int | None:
    """``count`` examples, or at most ``smoke`` of them in smoke mode (``None``: all, or ``smoke``)."""
    if not active():
        return count
    return smoke if count is None else min(count, smoke)


def train_config(config):
    """A ``TrainConfig`` as smoke mode trains it: one epoch of at most ``STEPS`` steps (unchanged when off)."""
    if not active():
        return config
    return dataclasses.replace(config, max_epochs=1, max_steps=min(config.max_steps or STEPS, STEPS))
