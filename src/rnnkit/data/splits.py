"""Held-out splits drawn without leakage: a validation share of the training data, per class when asked.

    train, held = validation_split(labels, 0.2, seed=0)                 # stratified: 20% of each class
    train, held = validation_split(range(n), 0.1, seed=0, stratify=False)

The vocabulary, the scaler and the class list are then built on ``train`` alone; the test data never takes part.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import UserError


def validation_split(y: Any, fraction: float, seed: int = 0, stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: ``fraction`` of each class (at least one, when a class has two or more
    members) drawn with ``seed``; ``stratify=False`` draws from all at once."""
    if not 0 < fraction < 1:
        raise UserError(f"validation fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    groups = [np.arange(len(y))]
    if stratify:
        keys = np.asarray([str(label) for label in y])
        groups = [np.flatnonzero(keys == key) for key in sorted(set(keys))]
    validation = []
    for members in groups:
        count = int(round(fraction * len(members)))
        count = min(max(count, 1 if len(members) > 1 else 0), len(members) - 1)
        validation.extend(rng.permutation(members)[:count].tolist())
    validation = np.sort(np.asarray(validation, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), validation), validation
