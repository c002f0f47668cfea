"""Sequence classification from tables to a results folder: what ``rnnkit classify train|predict`` runs.

    metrics = train_classifier("train.csv", "runs/x", columns={"label": "y", "text": "tweet"}, test="test.csv")
    metrics = predict_classifier("runs/x", "new.csv", "runs/x-new")

``train_classifier`` holds out a stratified validation share of the training table (for early stopping and the
best epoch), builds the vocabulary or the scaler on the rest, trains, and writes ``model/`` (the model folder,
which also records the input columns), ``metrics.json``, ``report.html`` and ``history.json``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rnnkit.data.sequences import read_sequences, read_table
from rnnkit.errors import UserError
from rnnkit.eval.reports import write_metrics
from rnnkit.eval.reports.classification import classification_report
from rnnkit.integrations.fit import fit_sequence_model, validation_split
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.train import TrainConfig, save_model, seed_everything
from rnnkit.train.model_folder import load_model_of


def train_classifier(data: str | Path, out: str | Path, *, columns: dict[str, Any], test: str | Path | None = None,
                     validation: float = 0.2, tokenizer: dict[str, Any] | None = None,
                     config: SequenceClassifierConfig | None = None,
                     training: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on the table ``data`` (``columns``: label, and text, or id/time/features, or features) and write
    the results into ``out``. Returns the metrics (on ``test`` when given, else on the validation split).
    ``config``: the model's (None: the defaults)."""
    out = Path(out)
    if not columns.get("label"):
        raise UserError("training needs the label column")
    X, y, _ = read_sequences(read_table(data), **columns)
    train_config = TrainConfig(**{"progress": "none", **(training or {})})
    train, held = validation_split(y, validation, train_config.seed)
    X_train, y_train = [X[i] for i in train], [y[i] for i in train]
    X_val, y_val = [X[i] for i in held], [y[i] for i in held]
    seed_everything(train_config.seed)
    model = SequenceClassifier.for_data(X_train, y_train, config,
                                        tokenizer=tokenizer if columns.get("text") else None)
    model.metadata = {"columns": {k: v for k, v in columns.items() if k != "label"}, "label": columns["label"]}
    result = fit_sequence_model(model, X_train, y_train, X_val=X_val, y_val=y_val, train_config=train_config)
    model.cpu().eval()
    save_model(model, out / "model", overwrite=True)
    if test is not None:
        X_eval, y_eval, _ = read_sequences(read_table(test), **columns)
        scored_on = f"test ({Path(test).name})"
    else:
        X_eval, y_eval, scored_on = X_val, y_val, "validation split"
    sizes = {"scored_on": scored_on, "train_sequences": len(X_train), "validation_sequences": len(X_val),
             "best_epoch": result.best_epoch, "stopped": result.stopped_reason}
    metrics, report = classification_report(model, X_eval, y_eval, history=result.history,
                                            title=f"Sequence classification: {Path(data).name}", extra=sizes)
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    (out / "history.json").write_text(json.dumps(result.history, indent=1) + "\n", encoding="utf-8")
    return metrics


def predict_classifier(model_dir: str | Path, data: str | Path, out: str | Path) -> dict[str, Any]:
    """Predict every sequence of ``data`` with the model in ``model_dir`` (a ``train_classifier`` output folder
    or its ``model/``); write ``predictions.csv`` (id, predicted), ``metrics.json`` and ``report.html``. The
    predictions are scored when the table has the label column."""
    model = load_model_of(model_dir, SequenceClassifier, "a classifier (`rnnkit classify train`)")
    if "columns" not in model.metadata:
        raise UserError(f"{model_dir}: not a model written by `rnnkit classify train` (no input columns)")
    frame = read_table(data)
    label = model.metadata["label"] if model.metadata["label"] in frame.columns else None
    X, y, ids = read_sequences(frame, label=label, **model.metadata["columns"])
    metrics, report = classification_report(model, X, y, title=f"Predictions: {Path(data).name}")
    out = Path(out)
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "predicted"])
        writer.writerows(zip(ids, model.predict(X)))
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    return metrics
