"""Held-out splits drawn without leakage: a validation share of the training data, per class when asked.

    train, held = validation_split(labels, 0.2, seed=0)                 # stratified: 20% of each class
    train, held = validation_split(range(n), 0.1, seed=0, stratify=False)
    folds = stratified_folds(labels, 5, seed=0)      # 5 x (train, held), the held parts stratified

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


def stratified_folds(y: Any, count: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` stratified cross-validation folds ``(train, held)`` whose held parts partition the rows: each
    class's rows, shuffled with ``seed``, are dealt to the folds in turn (the turn carried from class to class), so
    every fold holds ``1 / count`` of each class to a row and the folds' sizes differ by at most one."""
    if count < 2:
        raise UserError(f"cross-validation needs at least 2 folds, got {count}")
    rng = np.random.default_rng(seed)
    keys = np.asarray([str(label) for label in y])
    parts, turn = [[] for _ in range(count)], 0
    for key in sorted(set(keys)):
        for row in rng.permutation(np.flatnonzero(keys == key)):
            parts[turn % count].append(row)
            turn += 1
    helds = [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]
    return [(np.setdiff1d(np.arange(len(y)), held), held) for held in helds]
