"""Training a sequence task model on raw data in one call: the shared path of the sklearn estimators and the CLI.

    config = SequenceClassifierConfig(EncoderConfig(rnn=RecurrentConfig(bidirectional=True)))
    model = SequenceClassifier.for_data(X, y, config)
    result = fit_sequence_model(model, X, y, validation_fraction=0.2, train_config=TrainConfig(max_epochs=30))

A validation split of the training data (stratified for classes) drives early stopping and the restored best
epoch; the test split never takes part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.sequences import pad_collate
from rnnkit.errors import UserError
from rnnkit.train import FitResult, TrainConfig, Trainer


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


def fit_sequence_model(model: Any, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None,
                       validation_fraction: float | None = None, stratify: bool = True,
                       train_config: TrainConfig | None = None, callbacks: Any = (),
                       resume: bool | str | Path = False) -> FitResult:
    """Train ``model`` (a ``SequenceClassifier``/``Regressor``/``Tagger`` built by ``for_data``) on ``X, y``.

    Validation data: ``X_val, y_val`` as given, or ``validation_fraction`` of ``X, y`` held out (seed:
    ``train_config.seed``), or none. With validation data the trainer monitors ``val_loss``. ``resume``: as
    ``Trainer.fit`` (continue from ``train_config.checkpoint_dir``).
    """
    config = train_config or TrainConfig()
    X, y = list(X), list(y)
    if X_val is None and validation_fraction:
        train, held = validation_split(y, validation_fraction, config.seed, stratify)
        X_val, y_val = [X[i] for i in held], [y[i] for i in held]
        X, y = [X[i] for i in train], [y[i] for i in train]
    validation = model.dataset(X_val, y_val) if X_val is not None else None
    if validation is None and config.monitor.startswith("val_"):
        config = TrainConfig(**{**vars(config), "monitor": "train_loss", "mode": "min"})
    return Trainer(model, config, callbacks).fit(model.dataset(X, y), validation, collate_fn=pad_collate,
                                                 resume=resume)
