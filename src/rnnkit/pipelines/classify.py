"""Sequence classification from tables to a run folder: what ``rnnkit classify train|predict`` runs.

    settings = ClassifySettings(data="train.csv", label="y", text="tweet", test="test.csv")
    metrics = train(RECIPE, settings, "runs/x")                    # rnnkit.pipelines.driver.train
    metrics = predict_classifier("runs/x", "new.csv", "runs/x-new")

The recipe reads the tables (before anything trains); the driver holds out a stratified validation share of the
training table (early stopping and the best epoch), and the vocabulary or the scaler is built on the rest. The
model folder also records the input columns, so ``predict`` reads a new table the same way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.data.sequences import read_sequences, read_table
from rnnkit.errors import UserError
from rnnkit.eval.reports.classification import classification_report
from rnnkit.pipelines.driver import Examples, Recipe, Splits, TrainedRun, stratified_split, write_results
from rnnkit.tasks import EncoderConfig
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.train import TrainConfig
from rnnkit.train.model_folder import load_model_of


@dataclass
class ClassifySettings:
    """A ``classify train`` run: the table and its columns, the split, the model, the training."""

    data: str = field(metadata={"help": "training table (CSV, TSV or Parquet)", "positional": True})
    label: str = field(metadata={"help": "the class column", "metavar": "COL"})
    text: str | None = field(default=None, metadata={"help": "a text column: one text per row", "metavar": "COL"})
    id: str | None = field(default=None, metadata={
        "help": "long format: the sequence id column (one row per step)", "metavar": "COL"})
    time: str | None = field(default=None, metadata={
        "help": "long format: the column that orders the steps", "metavar": "COL"})
    features: tuple[str, ...] | None = field(default=None, metadata={
        "help": "numeric columns (none: every column but the label, id and time)", "metavar": "COL"})
    test: str | None = field(default=None, metadata={
        "help": "a test table with the same columns, scored at the end", "metavar": "DATA"})
    validation: float = field(default=0.2, metadata={
        "help": "share of DATA held out (stratified) for early stopping", "metavar": "FRACTION"})
    tokenizer: str = field(default="word", metadata={"help": "text: word or char tokens", "choices": ("word", "char")})
    min_count: int = field(default=1, metadata={"help": "text: rarer tokens are <unk>"})
    model: SequenceClassifierConfig = field(default_factory=lambda: SequenceClassifierConfig(
        EncoderConfig(pooling="attention")))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=30, lr=3e-3, patience=5,
                                                                   progress="none"))

    @property
    def columns(self) -> dict[str, Any]:
        """The input columns, as ``read_sequences`` takes them (the label apart)."""
        return {"text": self.text, "id": self.id, "time": self.time,
                "features": list(self.features) if self.features else None}


def read(settings: ClassifySettings) -> tuple[Examples, Examples | None]:
    """The training table and the test table (None without ``test``)."""
    if settings.text and settings.id:
        raise UserError("give either --text (one text per row) or --id (long format), not both")
    test = None if settings.test is None else _read(settings.test, settings)
    return _read(settings.data, settings), test


def _read(path: str | Path, settings: ClassifySettings) -> Examples:
    X, y, ids = read_sequences(read_table(path), label=settings.label, **settings.columns)
    return Examples(X, y, ids)


def build(splits: Splits, settings: ClassifySettings) -> SequenceClassifier:
    tokenizer = {"level": settings.tokenizer, "min_count": settings.min_count} if settings.text else None
    model = SequenceClassifier.for_data(splits.train.inputs, splits.train.targets, settings.model, tokenizer=tokenizer)
    model.metadata = {"columns": settings.columns, "label": settings.label}
    return model


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    scored = run.splits.scored
    return classification_report(run.model, scored.inputs, scored.targets, history=run.result.history,
                                 title=f"Sequence classification: {Path(run.settings.data).name}",
                                 extra=run.facts())


def summary(metrics: dict[str, Any]) -> str:
    return f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on {metrics['scored_on']}"


RECIPE = Recipe(command="classify train", read=read, split=stratified_split, build=build, score=score,
                summary=summary)


def predict_classifier(model_dir: str | Path, data: str | Path, out: str | Path) -> dict[str, Any]:
    """Predict every sequence of ``data`` with the model in ``model_dir`` (a ``classify train`` run folder or its
    ``model/``); write ``predictions.csv`` (id, predicted), ``metrics.json`` and ``report.html`` into ``out``. The
    predictions are scored when the table has the label column."""
    model = load_model_of(model_dir, SequenceClassifier, "a classifier (`rnnkit classify train`)")
    if "columns" not in model.metadata:
        raise UserError(f"{model_dir}: not a model written by `rnnkit classify train` (no input columns)")
    frame = read_table(data)
    label = model.metadata["label"] if model.metadata["label"] in frame.columns else None
    X, y, ids = read_sequences(frame, label=label, **model.metadata["columns"])
    metrics, report = classification_report(model, X, y, title=f"Predictions: {Path(data).name}")
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["id", "predicted"])
    writer.writerows(zip(ids, model.predict(X)))
    _fs.atomic_write(Path(out) / "predictions.csv", table.getvalue().encode("utf-8"))
    write_results(Path(out), metrics, report)
    return metrics
