"""The training driver with a small recipe: what a run folder holds, a finished run resumed, a failed read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from rnnkit.errors import UserError
from rnnkit.eval.reports import Report
from rnnkit.pipelines.driver import Examples, Recipe, stratified_split, train
from rnnkit.pipelines.run_folder import MARKER
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import EncoderConfig, SequenceClassifierConfig
from rnnkit.tasks.models.classification import SequenceClassifier
from rnnkit.train import TrainConfig, checkpoint_folders, load_model


@dataclass
class Settings:
    count: int = 40
    validation: float = 0.25
    test: str | None = None
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=2, batch_size=10, lr=0.01,
                                                                   progress="none"))


def read(settings):
    if settings.count < 4:
        raise UserError(f"need at least 4 sequences, got {settings.count}")
    rng = np.random.default_rng(0)
    labels = rng.choice(["low", "high"], settings.count).tolist()
    inputs = [rng.normal(size=(5, 2)) + (label == "high") for label in labels]
    return Examples(inputs, labels), None


def score(run):
    accuracy = float(np.mean(np.asarray(run.model.predict(run.splits.scored.inputs)) ==
                             np.asarray(run.splits.scored.targets)))
    metrics = {"accuracy": accuracy, **run.facts()}
    return metrics, Report("toy").add_metrics(metrics)


RECIPE = Recipe(command="toy train", read=read, split=stratified_split, score=score,
                build=lambda splits, settings: SequenceClassifier.for_data(
                    splits.train.inputs, splits.train.targets,
                    SequenceClassifierConfig(EncoderConfig(rnn=RecurrentConfig(hidden_size=4)))),
                summary=lambda metrics: f"accuracy {metrics['accuracy']:.2f}")


def test_a_run_folder_holds_the_model_checkpoints_and_results(tmp_path):
    out = tmp_path / "run"
    metrics = train(RECIPE, Settings(), out)
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [MARKER, "model", "checkpoints", "history.json", "log.jsonl", "metrics.json", "report.html"])
    assert metrics["train_sequences"] == 30 and metrics["validation_sequences"] == 10
    assert metrics["scored_on"] == "validation split" and json.loads((out / "metrics.json").read_text()) == metrics
    assert [folder.name for folder in checkpoint_folders(out / "checkpoints")] == ["ckpt-00000006"]  # newest only
    assert isinstance(load_model(out / "model"), SequenceClassifier)
    marker = json.loads((out / MARKER).read_text())
    assert marker["command"] == "toy train" and marker["settings"]["train"]["max_epochs"] == 2

    history = (out / "history.json").read_text()
    assert train(RECIPE, Settings(), out, resume=True) == metrics  # finished: nothing more to train
    assert (out / "history.json").read_text() == history
    with pytest.raises(UserError, match="train.max_epochs was 2 in the run, now 3"):
        train(RECIPE, Settings(train=TrainConfig(max_epochs=3, batch_size=10, lr=0.01, progress="none")), out,
              resume=True)


def test_data_is_read_before_anything_trains(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UserError, match="at least 4"):
        train(RECIPE, Settings(count=2), out)
    assert [path.name for path in out.iterdir()] == [MARKER]
    train(RECIPE, Settings(count=12), out)  # the mistake fixed, the same --out
    assert (out / "metrics.json").is_file()
