"""The one training driver: every ``rnnkit <task> train`` is ``train(recipe, settings, out)``.

    metrics = train(classify.RECIPE, classify.ClassifySettings(data="train.csv", label="y", text="tweet"), "runs/x")
    metrics = train(classify.RECIPE, settings, "runs/x", resume=True)     # after a crash: continue it exactly

The driver does, once for every task: prepare the run folder (``run_folder.open_run``: the marker, ``force``,
``resume``, leftover temporaries), read every input before anything trains, split off the validation share, seed,
build, fit with the ``Trainer`` (checkpoints in ``out/checkpoints``, the epoch log in ``out/log.jsonl``), save the
model folder ``out/model``, and write ``history.json``, ``metrics.json`` and ``report.html``. A run killed at any
point continues with ``resume=True``: the data, the split and the initial model are rebuilt the same way, the
trainer restores its latest checkpoint, and the final weights are those of an uninterrupted run (CPU).

A task brings a ``Recipe``: how to read its data, build its model, score it and say the result in one line. Its
settings are a dataclass with a ``train: TrainConfig`` field and, for the default split, ``validation`` (a
fraction) and ``test`` (a path or None) fields; they are recorded in the run folder's marker.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit import _fs, _smoke
from rnnkit._config import config_to_dict
from rnnkit.data.sequences import pad_collate
from rnnkit.data.splits import validation_split
from rnnkit.eval.reports import Report, write_metrics
from rnnkit.eval.yardstick import Yardstick, add_to_report, said, warnings
from rnnkit.pipelines.run_folder import CHECKPOINTS, open_run
from rnnkit.train import FitResult, TrainConfig, Trainer, save_model, seed_everything

MODEL = "model"


@dataclasses.dataclass
class Examples:
    """Inputs and targets in a task's own form (texts, arrays, images), and a name per example (or None)."""

    inputs: Any  # a list, or an array whose first axis is the examples
    targets: list[Any]
    names: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, rows: Any) -> Examples:
        rows = [int(i) for i in rows]
        inputs = self.inputs[rows] if isinstance(self.inputs, np.ndarray) else [self.inputs[i] for i in rows]
        names = None if self.names is None else [self.names[i] for i in rows]
        return Examples(inputs, [self.targets[i] for i in rows], names)


@dataclasses.dataclass
class Splits:
    """The parts of a run's data: trained on, validated on (early stopping, the best epoch), scored at the end."""

    train: Any
    validation: Any
    scored: Any
    scored_on: str  # "validation split", "test (test.csv)"


@dataclasses.dataclass
class TrainedRun:
    """What a recipe scores: the trained model (CPU, eval mode), its data, the trainer's result, the folder."""

    model: torch.nn.Module
    settings: Any
    out: Path
    splits: Splits
    result: FitResult
    unit: str

    def facts(self) -> dict[str, Any]:
        """The sizes and the course of the training, for the metrics and the report."""
        return {"scored_on": self.splits.scored_on, f"train_{self.unit}": len(self.splits.train),
                f"validation_{self.unit}": len(self.splits.validation), "best_epoch": self.result.best_epoch,
                "stopped": self.result.stopped_reason}


def stratified_split(data: tuple[Examples, Examples | None], settings: Any) -> Splits:
    """``settings.validation`` of each class held out (seed: ``settings.train.seed``); scored on the test
    examples when there are some (read from ``settings.test``), else on the validation split."""
    examples, test = data
    train, held = validation_split(examples.targets, settings.validation, settings.train.seed)
    return _splits(examples.subset(train), examples.subset(held), test, settings)


def random_split(data: tuple[Examples, Examples | None], settings: Any, seed: int | None = None) -> Splits:
    """``settings.validation`` of the examples held out at random (drawn with ``seed``, by default
    ``settings.train.seed``), else as ``stratified_split``."""
    examples, test = data
    seed = settings.train.seed if seed is None else seed
    train, held = validation_split(range(len(examples)), settings.validation, seed, stratify=False)
    return _splits(examples.subset(train), examples.subset(held), test, settings)


def _splits(train: Examples, validation: Examples, test: Examples | None, settings: Any) -> Splits:
    if test is None:
        return Splits(train, validation, validation, "validation split")
    return Splits(train, validation, test, f"test ({Path(settings.test).name})")


def model_datasets(model: Any, splits: Splits, settings: Any) -> tuple[Any, Any]:
    """The trainer's data sets of a sequence task model: ``model.dataset(inputs, targets)`` of each part."""
    return (model.dataset(splits.train.inputs, splits.train.targets),
            model.dataset(splits.validation.inputs, splits.validation.targets))


def same_config(settings: Any) -> TrainConfig:
    return settings.train


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A task's part of the pipeline; everything else is the driver's.

    ``build`` makes the model and ``datasets`` the trainer's data sets from it; a task whose model and windows come
    from one object (the forecaster) gives ``fit`` instead, which trains with the ``TrainConfig`` it is handed
    (checkpoints in the run folder) and ``resume``, and returns ``(trained, FitResult)``; ``save`` writes it.
    """

    command: str  # "classify train": recorded in the run folder's marker, named in messages
    read: Callable[[Any], Any]  # settings -> everything the run reads (checked before anything trains)
    split: Callable[[Any, Any], Splits]  # (what read returned, settings) -> the parts
    score: Callable[[TrainedRun], tuple[dict[str, Any], Report]]  # -> metrics and report on run.splits.scored
    summary: Callable[[dict[str, Any]], str]  # metrics -> the result in one line, for the terminal
    build: Callable[[Splits, Any], torch.nn.Module] | None = None  # (splits, settings) -> a new model
    datasets: Callable[[Any, Splits, Any], tuple[Any, Any]] = model_datasets  # -> the trainer's train and val sets
    collate: Callable[[list[Any]], Any] = pad_collate
    train_config: Callable[[Any], TrainConfig] = same_config  # settings -> the training settings
    fit: Callable[[Splits, Any, TrainConfig, bool], tuple[Any, FitResult]] | None = None
    save: Callable[[Any, Path], Any] = lambda model, folder: save_model(model, folder, overwrite=True)
    unit: str = "sequences"  # what an example is called in the metrics: train_<unit>, validation_<unit>
    outputs: tuple[str, ...] = ()  # files ``score`` writes into the run folder besides the driver's
    yardsticks: Callable[[dict[str, Any]], list[Yardstick]] = lambda metrics: []  # results beside baselines
    threads: int | None = None  # the command's default --threads (None: PyTorch's choice, one per core)


def summarise(recipe: Recipe, metrics: dict[str, Any]) -> str:
    """What the terminal shows after a run: the recipe's summary, then each result beside its baseline or target
    (``rnnkit.eval.yardstick``), with a ``WARNING:`` line for each result worse than its yardstick."""
    sticks = recipe.yardsticks(metrics)
    return "\n".join(filter(None, [recipe.summary(metrics), said(sticks) if sticks else ""]))


def train(recipe: Recipe, settings: Any, out: str | Path, *, resume: bool = False, force: bool = False
          ) -> dict[str, Any]:
    """Run ``recipe`` with ``settings`` into the run folder ``out``; returns the metrics (also in
    ``out/metrics.json``; ``{}`` on a torchrun rank other than 0). ``resume``: continue the run in ``out``; ``force``: write into a non-empty ``out``."""
    document, main = config_to_dict(settings), is_main_process()
    if main:  # under torchrun rank 0 alone prepares and writes the run folder; every rank trains
        open_run(out, recipe.command, document, resume=resume, force=force, writes=recipe.outputs, check_only=True)
    splits = recipe.split(recipe.read(settings), settings)  # every input read and checked before a file is written
    out = (open_run(out, recipe.command, document, resume=resume, force=force, writes=recipe.outputs) if main
           else Path(out))
    config = run_config(recipe.train_config(settings), out)
    fit = recipe.fit or (lambda *args: fit_built(recipe, *args))
    model, result = fit(splits, settings, config, resume)
    if not main:
        return {}
    recipe.save(model, out / MODEL)
    write_history(out, result.history)
    metrics, report = recipe.score(TrainedRun(model, settings, out, splits, result, recipe.unit))
    sticks = recipe.yardsticks(metrics)
    add_to_report(report, sticks)
    if warnings(sticks):
        metrics["warnings"] = warnings(sticks)
    write_results(out, metrics, report)
    return metrics


def is_main_process() -> bool:
    """False in a torchrun worker other than rank 0 (which alone writes the run folder and prints)."""
    return os.environ.get("RANK", "0") == "0"


def fit_built(recipe: Recipe, splits: Splits, settings: Any, config: TrainConfig, resume: bool
              ) -> tuple[torch.nn.Module, FitResult]:
    """The default fit: ``recipe.build`` the model, train it on ``recipe.datasets`` (a recipe whose own ``fit``
    sometimes trains one model calls this)."""
    seed_everything(config.seed)  # the initial weights; the trainer seeds the rest (or restores it)
    model = recipe.build(splits, settings)
    train_data, val_data = recipe.datasets(model, splits, settings)
    result = Trainer(model, config).fit(train_data, val_data, collate_fn=recipe.collate, resume=resume)
    return model.cpu().eval(), result


def run_config(config: TrainConfig, out: Path) -> TrainConfig:
    """``config`` with the run folder's checkpoints (the newest kept) and epoch log; in smoke mode (the
    environment variable ``RNNKIT_SMOKE``, ``rnnkit._smoke``) one epoch of at most 3 steps."""
    return dataclasses.replace(_smoke.train_config(config), checkpoint_dir=str(out / CHECKPOINTS), keep_last=1,
                               log_path=str(out / "log.jsonl"))


def write_history(out: Path, history: list[dict[str, Any]]) -> None:
    _fs.atomic_write(out / "history.json", (json.dumps(history, indent=1) + "\n").encode("utf-8"))


def write_results(out: Path, metrics: dict[str, Any], report: Report) -> None:
    """``metrics.json`` and ``report.html`` (both written atomically)."""
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
