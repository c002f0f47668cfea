"""Training a sequence task model on raw data in one call: the shared path of the sklearn estimators and the CLI.

    model = SequenceClassifier.for_data(X, y, bidirectional=True)
    result = fit_sequence_model(model, X, y, validation_fraction=0.2, train_config=TrainConfig(max_epochs=30))

A validation split of the training data (stratified for classes) drives early stopping and the restored best
epoch; the test split never takes part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data.sequences import pad_collate
from rnnkit.data.splits import validation_split
from rnnkit.train import FitResult, TrainConfig, Trainer


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
