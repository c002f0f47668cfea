"""Sequence classification from tables to a run folder: what ``rnnkit classify train|predict`` runs.

    settings = ClassifySettings(data="train.csv", label="y", text="tweet", test="test.csv")
    metrics = train(RECIPE, settings, "runs/x")                    # rnnkit.pipelines.driver.train
    metrics = predict_classifier("runs/x", "new.csv", "runs/x-new")

The recipe reads the tables (before anything trains); the driver holds out a stratified validation share of the
training table (early stopping and the best epoch), and the vocabulary or the scaler is built on the rest. The
model folder also records the input columns, so ``predict`` reads a new table the same way.

With a ``budget`` (the default) ``AutoClassifier`` (``rnnkit.pipelines.select``) chooses the encoder within the wall
time on the whole training table (the validation share and the driver's split do not apply: cross-validation folds
for small tables, its own validation share for large ones) and refits an ensemble on all of it; the test table is
handed to nothing but the final scoring. Without a test table the driver's validation share is what is scored, so
the selection then runs on the rest of the table only (scoring rows the model was fitted on would report its
training accuracy as if it were a held-out one). Its training length is the selection's own unless a training flag says
otherwise. ``budget=None`` trains the one model the settings describe.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.data import checks
from rnnkit.data.sequences import feature_columns, read_sequences, read_table
from rnnkit.errors import UserError
from rnnkit.eval.reports.classification import classification_report
from rnnkit.eval.reports.selection import add_selection_section
from rnnkit.eval.yardstick import Yardstick, add_to_report, versus
from rnnkit.pipelines.driver import (Examples, Recipe, Splits, TrainedRun, fit_built, stratified_split,
                                     write_results)
from rnnkit.pipelines.select.auto_folder import is_auto_folder
from rnnkit.pipelines.select.classify import CV_FOLDS, CV_MAX_SEQUENCES, DEFAULT_BUDGET, TEXT_MIN_COUNT, AutoClassifier
from rnnkit.tasks import EncoderConfig
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.train import FitResult, TrainConfig, save_model
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
        "help": "share of DATA held out (stratified) for early stopping (with --budget: of tables too large for "
                "cross-validation); without --test, the share scored at the end, which nothing trains on",
        "metavar": "FRACTION"})
    tokenizer: str = field(default="word", metadata={"help": "text: word or char tokens", "choices": ("word", "char")})
    min_count: int = field(default=TEXT_MIN_COUNT, metadata={"help": "text: rarer tokens are <unk>"})
    model: SequenceClassifierConfig = field(default_factory=lambda: SequenceClassifierConfig(
        EncoderConfig(pooling="attention")))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=30, lr=3e-3, patience=5))
    budget: str | None = field(default=DEFAULT_BUDGET, metadata={
        "help": "wall time for the automatic selection ('90s', '5m', '1h'): the convolutional front-end, pooling, "
                f"cell and size chosen on {CV_FOLDS} stratified cross-validation folds of DATA (up to "
                f"{CV_MAX_SEQUENCES} sequences) or on the validation share, "
                "then an ensemble refitted on all of DATA "
                "(none: train the one model the flags describe)"})

    @property
    def columns(self) -> dict[str, Any]:
        """The input columns, as ``read_sequences`` takes them (the label apart)."""
        return {"text": self.text, "id": self.id, "time": self.time,
                "features": list(self.features) if self.features else None}


def read(settings: ClassifySettings) -> tuple[Examples, Examples | None]:
    """The training table and the test table (None without ``test``)."""
    if settings.text and settings.id:
        raise UserError("give either --text (one text per row) or --id (long format), not both")
    frame = read_table(settings.data)
    examples = _read(frame, settings)
    checks.check_classes(examples.targets, frame, settings.label)  # a text column given as --label
    if not settings.text:  # the columns read, recorded in the model so that prediction reads the same ones
        settings.features = tuple(feature_columns(frame, label=settings.label, id=settings.id, time=settings.time,
                                                  features=settings.features))
    test = None if settings.test is None else _read(read_table(settings.test), settings)
    return examples, test


def _read(frame: Any, settings: ClassifySettings) -> Examples:
    X, y, ids = read_sequences(frame, label=settings.label, **settings.columns)
    return Examples(X, y, ids)


def build(splits: Splits, settings: ClassifySettings) -> SequenceClassifier:
    model = SequenceClassifier.for_data(splits.train.inputs, splits.train.targets, settings.model,
                                        tokenizer=_tokenizer(settings))
    model.metadata = _metadata(splits.train.targets, settings)
    return model


def _metadata(targets: list[Any], settings: ClassifySettings) -> dict[str, Any]:
    """What ``predict_classifier`` needs besides the model: the input columns, the label, the majority class."""
    return {"columns": settings.columns, "label": settings.label, "majority_class": majority(targets)}


def _tokenizer(settings: ClassifySettings) -> dict[str, Any] | None:
    return {"level": settings.tokenizer, "min_count": settings.min_count} if settings.text else None


def fit(splits: Splits, settings: ClassifySettings, config: TrainConfig, resume: bool) -> tuple[Any, FitResult]:
    """The selection within ``settings.budget`` on the training table (started again by ``resume``; the
    validation share drawn as the driver's), or the one model."""
    if settings.budget is None:
        return fit_built(RECIPE, splits, settings, config, resume)
    changed = {name: value for name, value in dataclasses.asdict(settings.train).items()
               if value != getattr(ClassifySettings.__dataclass_fields__["train"].default_factory(), name)}
    auto = AutoClassifier(settings.budget, validation=settings.validation, seed=settings.train.seed,
                          tokenizer=_tokenizer(settings), train=changed, progress="auto")
    X, y = _fitted_on(splits)
    auto.fit(X, y)
    for member in auto.members:
        member.metadata = _metadata(y, settings)
    return auto, FitResult([], auto.summary["validation_loss"], auto.summary["epochs"], "selection")


def _fitted_on(splits: Splits) -> tuple[list[Any], list[Any]]:
    """What a selection fits on: the whole training table, less the validation share when that is what is scored
    (no test table)."""
    parts = [splits.train] if splits.scored is splits.validation else [splits.train, splits.validation]
    return [x for part in parts for x in part.inputs], [t for part in parts for t in part.targets]


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    scored, selection = run.splits.scored, isinstance(run.model, AutoClassifier)
    extra = run.facts() | {"majority_class_accuracy": majority_share(run.splits)}
    if selection:  # the selection's own figures, not the driver's split (which it does not train on)
        summary = run.model.summary
        extra.update(selection={**summary, "candidates": run.model.table},
                     train_sequences=len(_fitted_on(run.splits)[0]),
                     validation_sequences=summary["validation_sequences"], best_epoch=summary["epochs"])
    metrics, report = classification_report(run.model, scored.inputs, scored.targets, history=run.result.history,
                                            title=f"Sequence classification: {Path(run.settings.data).name}",
                                            extra=extra, examples=0 if selection else 3)
    if selection:
        add_selection_section(report, run.model.summary, run.model.table,
                              scored_on=f"{run.model.summary['scored_on']} (cross-entropy)")
    return metrics, report


def majority(targets: list[Any]) -> Any:
    """The most frequent class (ties: the larger as text), as a JSON value."""
    counts = Counter(targets)
    label = max(counts, key=lambda label: (counts[label], str(label)))
    return label.item() if hasattr(label, "item") else label


def majority_share(splits: Any) -> float:
    """The accuracy of always answering the training split's most frequent class, on the scored examples."""
    label, scored = majority(splits.train.targets), splits.scored.targets
    return sum(target == label for target in scored) / max(1, len(scored))


def yardsticks(metrics: dict[str, Any]) -> list[Yardstick]:
    return [versus("accuracy", metrics["accuracy"], "majority class", metrics["majority_class_accuracy"])]


def summary(metrics: dict[str, Any]) -> str:
    return f"macro-F1 {metrics['macro_f1']:.4f} on {metrics['scored_on']}"


RECIPE = Recipe(command="classify train", read=read, split=stratified_split, build=build, score=score,
                summary=summary, yardsticks=yardsticks, fit=fit, save=lambda model, folder: _save(model, folder))


def _save(model: Any, folder: Path) -> None:
    if isinstance(model, AutoClassifier):
        model.save(folder, overwrite=True)
    else:
        save_model(model, folder, overwrite=True)


def predict_classifier(model_dir: str | Path, data: str | Path, out: str | Path) -> dict[str, Any]:
    """Predict every sequence of ``data`` with the model in ``model_dir`` (a ``classify train`` run folder or its
    ``model/``); write ``predictions.csv`` (id, predicted), ``metrics.json`` and ``report.html`` into ``out``. The
    predictions are scored when the table has the label column."""
    auto = next((folder for folder in (Path(model_dir), Path(model_dir) / "model") if is_auto_folder(folder)), None)
    model = AutoClassifier.load(auto) if auto else load_model_of(model_dir, SequenceClassifier,
                                                                 "a classifier (`rnnkit classify train`)")
    if "columns" not in model.metadata:
        raise UserError(f"{model_dir}: not a model written by `rnnkit classify train` (no input columns)")
    frame = read_table(data)
    columns = model.metadata["columns"]
    trained = [c for c in [columns.get("text"), columns.get("id"), columns.get("time"), *(columns.get("features") or [])]
               if c]
    checks.same_columns(frame, trained, ignore=[model.metadata["label"]])
    label = model.metadata["label"] if model.metadata["label"] in frame.columns else None
    if label is not None and checks.blank(frame[label]).all():  # an empty label column: nothing to score
        label = None
    X, y, ids = read_sequences(frame, label=label, **columns)
    extra = {}  # scored: beside the training table's majority class (models that recorded it)
    if y is not None and "majority_class" in model.metadata:
        extra["majority_class_accuracy"] = sum(t == model.metadata["majority_class"] for t in y) / max(1, len(y))
    metrics, report = classification_report(model, X, y, title=f"Predictions: {Path(data).name}",
                                            examples=0 if auto else 3, extra=extra)
    if "majority_class_accuracy" in metrics:
        add_to_report(report, yardsticks(metrics))
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["id", "predicted"])
    writer.writerows(zip(ids, model.predict(X)))
    _fs.atomic_write(Path(out) / "predictions.csv", table.getvalue().encode("utf-8"))
    write_results(Path(out), metrics, report)
    return metrics
