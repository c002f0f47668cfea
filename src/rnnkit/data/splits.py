"""Held-out splits drawn without leakage: a validation share of the training data, per class when asked.

    train, held = validation_split(labels, 0.2, seed=0)                 # stratified: 20% of each class
    train, held = validation_split(range(n), 0.1, seed=0, stratify=False)
    folds = stratified_folds(labels, 0.2, seed=0)    # 5 x (train, held): the first is validation_split's

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


def stratified_folds(y: Any, fraction: float, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``round(1 / fraction)`` stratified cross-validation folds ``(train, held)`` whose held parts partition
    the rows. Fold 0 is ``validation_split(y, fraction, seed)`` itself; the rest of each class is dealt in turn to
    the other folds (after a shuffle with ``seed``), so every class is spread as evenly as its count allows and the
    folds' sizes differ by at most a few rows."""
    count = int(round(1 / fraction)) if 0 < fraction < 1 else 0
    if count < 2:
        raise UserError(f"cross-validation needs a validation fraction of at most 1/2, got {fraction}")
    first, held = validation_split(y, fraction, seed)
    rng = np.random.default_rng(seed + 1)
    keys = np.asarray([str(label) for label in y])
    parts, turn = [[] for _ in range(count - 1)], 0
    for key in sorted(set(keys)):
        for row in rng.permutation(first[keys[first] == key]):
            parts[turn % len(parts)].append(row)
            turn += 1
    helds = [held] + [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]
    return [(np.setdiff1d(np.arange(len(y)), part), part) for part in helds]
