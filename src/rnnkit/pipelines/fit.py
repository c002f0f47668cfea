"""Training a task model on raw data in one call (the sklearn estimators use it, and so can you).

    model = SequenceClassifier.for_data(X, y, config)
    result = fit_sequence_model(model, X, y, validation_fraction=0.2, train_config=TrainConfig(max_epochs=30))

    model = LanguageModel.for_tokenizer(corpus_tokenizer(train_text), LanguageModelConfig())  # LSTM 256 x 2
    result = fit_language_model(model, train_text, val_text, seq_len=64, train_config=TrainConfig(max_epochs=3))

A validation split of the training data (stratified for classes) drives early stopping and the restored best
epoch; the test split never takes part. A language model trains on contiguous streams of its text, its state
carried from one window to the next (truncated BPTT).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rnnkit.data.sequences import pad_collate
from rnnkit.data.streams import TokenStreams, first_item
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


def fit_language_model(model: Any, train_text: str, val_text: str | None = None, *, seq_len: int = 128,
                       train_config: TrainConfig | None = None, callbacks: Any = (),
                       resume: bool | str | Path = False) -> FitResult:
    """Train the ``LanguageModel`` ``model`` on ``train_text`` as ``model.config.streams`` contiguous streams of
    ``seq_len``-step windows (truncated BPTT), validating on ``val_text``; returns the trainer's ``FitResult``."""
    train, val = stream_datasets(model, train_text, val_text, seq_len)
    return Trainer(model, stream_training(train_config or TrainConfig()), callbacks).fit(train, val, first_item,
                                                                                          resume=resume)


def stream_datasets(model: Any, train_text: str, val_text: str | None, seq_len: int
                    ) -> tuple[TokenStreams, TokenStreams | None]:
    """The training streams (``model.config.streams`` rows) and the validation streams (None without text)."""
    train = TokenStreams(model.encode(train_text), model.config.streams, seq_len)
    if not val_text:
        return train, None
    ids = model.encode(val_text)  # validation rows: as many as fit, at most the training's, so short texts validate
    rows = max(1, min(model.config.streams, (len(ids) - 1) // seq_len))
    # whole windows only (when there is one), so that the trainer's plain mean over batches is exact
    return train, TokenStreams(ids, rows, seq_len, drop_last=len(ids) > seq_len)


def stream_training(config: TrainConfig) -> TrainConfig:
    """``config`` for streams: the trainer must visit the batches in order, one stream batch at a time
    (``batch_size=1``, ``shuffle=False``), whatever ``config`` says; its other settings are kept."""
    return dataclasses.replace(config, batch_size=1, shuffle=False, drop_last=False)
