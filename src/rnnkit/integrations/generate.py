"""Training a ``LanguageModel`` on text: what ``rnnkit generate train`` runs.

    model = LanguageModel.for_tokenizer(corpus_tokenizer(train_text), LanguageModelConfig())  # LSTM 256 x 2
    fit_language_model(model, train_text, val_text, seq_len=64, train_config=TrainConfig(max_epochs=3))
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rnnkit.data.streams import TokenStreams, first_item
from rnnkit.tasks.models.language_model import LanguageModel
from rnnkit.train import TrainConfig, Trainer


def fit_language_model(model: LanguageModel, train_text: str, val_text: str | None = None, *, seq_len: int = 128,
                       train_config: Any = None, callbacks: Any = (), resume: Any = False) -> Any:
    """Train ``model`` on ``train_text`` as ``model.config.streams`` contiguous streams of ``seq_len``-step
    windows (truncated BPTT), validating on ``val_text``; returns the trainer's ``FitResult``.

    The trainer must visit the batches in order, one stream batch at a time: ``batch_size=1`` and
    ``shuffle=False`` are set here whatever ``train_config`` says (its other settings are kept).
    """
    config = dataclasses.replace(train_config or TrainConfig(), batch_size=1, shuffle=False, drop_last=False)
    train = TokenStreams(model.encode(train_text), model.config.streams, seq_len)
    val = None
    if val_text:  # validation rows: as many as fit, at most the training's, so short texts still validate
        ids = model.encode(val_text)
        rows = max(1, min(model.config.streams, (len(ids) - 1) // seq_len))
        # whole windows only (when there is one), so that the trainer's plain mean over batches is exact
        val = TokenStreams(ids, rows, seq_len, drop_last=len(ids) > seq_len)
    return Trainer(model, config, callbacks).fit(train, val, first_item, resume=resume)
