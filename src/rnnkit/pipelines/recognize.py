"""Sequence recognition (CTC) from files to a run folder: what ``rnnkit recognize train|eval|DIR`` runs.

    metrics = train(RECIPE, RecognizeSettings(data="train/", test="test/"), "runs/x")     # driver.train
    names, transcripts = transcribe("runs/x", ["a.npy", "b.csv"], beam=8)
    metrics = evaluate_recognizer("runs/x", "test/", "runs/x-test", beam=8)

Data are read by ``rnnkit.data.recognition_io`` (a folder of sequence files with ``transcripts.csv``, or a long
table). A random validation share of the training data is held out (early stopping on its greedy character error
rate, and the best epoch); the feature scaler and the alphabet are fitted on the rest. The model folder also
records the input columns and how the report draws the inputs.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.data.recognition_io import RecognitionData, read_inputs, read_recognition_data
from rnnkit.errors import UserError
from rnnkit.eval.reports.recognition import INPUT_KINDS, recognition_report
from rnnkit.eval.sequence_metrics import recognition_metrics
from rnnkit.eval.yardstick import Yardstick, add_to_report, versus
from rnnkit.nn import RecurrentConfig
from rnnkit.pipelines.driver import Examples, Recipe, Splits, TrainedRun, random_split, write_results
from rnnkit.tasks import EncoderConfig
from rnnkit.tasks.decoding.limits import warn_capped
from rnnkit.tasks.models.recognition import FRAME_LIMIT, FRAME_SETTING, SequenceRecognizer, SequenceRecognizerConfig
from rnnkit.train import TrainConfig
from rnnkit.train.model_folder import load_model_of
from rnnkit.train.progress import CountProgress


def recognizer_defaults() -> SequenceRecognizerConfig:
    """The command's network: a strided convolution front-end (half the steps) and two bidirectional layers."""
    rnn = RecurrentConfig(hidden_size=128, num_layers=2, bidirectional=True, dropout=0.1)
    return SequenceRecognizerConfig(EncoderConfig(conv_channels=64, conv_kernel=5, conv_stride=2, rnn=rnn))


@dataclass
class RecognizeSettings:
    """A ``recognize train`` run: the data and its columns, the split, the model, the training."""

    data: str = field(metadata={"help": "training data: a folder with transcripts.csv, or a long table",
                                "positional": True})
    test: str | None = field(default=None, metadata={
        "help": "test data in the same layout, scored at the end", "metavar": "DATA"})
    id: str = field(default="id", metadata={"help": "long tables: the sequence id column", "metavar": "COL"})
    time: str | None = field(default=None, metadata={
        "help": "long tables: the column that orders the steps", "metavar": "COL"})
    features: tuple[str, ...] | None = field(default=None, metadata={
        "help": "long tables: feature columns (none: every numeric column but id and time)", "metavar": "COL"})
    transcript: str = field(default="transcript", metadata={"help": "the transcript column", "metavar": "COL"})
    validation: float = field(default=0.2, metadata={
        "help": "share of DATA held out at random for early stopping", "metavar": "FRACTION"})
    input_kind: str = field(default="auto", metadata={
        "help": "how the report draws inputs: pen = (dx, dy, pen_up) rows, frames = an image; auto: pen for 3 "
                "columns whose last is 0/1", "choices": INPUT_KINDS})
    beam: int = field(default=1, metadata={
        "help": "final scores: 1 greedy (best path) decoding; K > 1 prefix beam search keeping K prefixes"})
    model: SequenceRecognizerConfig = field(default_factory=recognizer_defaults)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=30, lr=3e-3, patience=5,
                                                                   monitor="val_cer"))

    @property
    def columns(self) -> dict[str, Any]:
        """The columns of long tables, as ``read_recognition_data`` takes them (unset ones left out)."""
        columns = {"id": self.id, "time": self.time, "features": list(self.features) if self.features else None,
                   "transcript": self.transcript}
        return {name: value for name, value in columns.items() if value is not None}


def read(settings: RecognizeSettings) -> tuple[Examples, Examples | None]:
    """The training data and the test data (None without ``test``)."""
    test = None if settings.test is None else _read(settings.test, settings.columns)
    return _read(settings.data, settings.columns), test


def _read(path: str | Path, columns: dict[str, Any]) -> Examples:
    data = read_recognition_data(path, **columns)
    return Examples(data.X, data.y, data.names)


def build(splits: Splits, settings: RecognizeSettings) -> SequenceRecognizer:
    model = SequenceRecognizer.for_data(splits.train.inputs, splits.train.targets, settings.model)
    frequent = Counter(splits.train.targets).most_common(1)[0][0]  # the baseline: one answer for every input
    model.metadata = {"columns": settings.columns, "input_kind": settings.input_kind, "frequent_transcript": frequent}
    for part in (splits.train, splits.validation):  # before training: a sequence too short for its transcript
        model.check_lengths(part.inputs, part.targets, part.names)
    return model


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    scored = run.splits.scored
    metrics, report = recognition_report(run.model, scored.inputs, scored.targets, beam=run.settings.beam,
                                         history=run.result.history, names=scored.names,
                                         progress=CountProgress("decode", run.settings.train.progress),
                                         title=f"Sequence recognition: {Path(run.settings.data).name}",
                                         extra=run.facts() | {"alphabet": "".join(run.model.alphabet)})
    warn_capped(metrics["capped"], FRAME_LIMIT, FRAME_SETTING, metrics["count"])
    return metrics | baseline(run.model, scored.targets), report


def baseline(model: SequenceRecognizer, transcripts: list[str]) -> dict[str, Any]:
    """The CER of answering every input with the most frequent training transcript (models trained before it
    was recorded: nothing)."""
    frequent = model.metadata.get("frequent_transcript")
    if frequent is None:
        return {}
    return {"frequent_transcript_cer": recognition_metrics(transcripts, [frequent] * len(transcripts))["cer"]}


def yardsticks(metrics: dict[str, Any]) -> list[Yardstick]:
    if "frequent_transcript_cer" not in metrics:
        return []
    return [versus("CER", metrics["cer"], "most frequent training transcript", metrics["frequent_transcript_cer"],
                   higher_is_better=False)]


def summary(metrics: dict[str, Any]) -> str:
    return (f"CER {metrics['cer']:.4f}, WER {metrics['wer']:.4f}, sequence accuracy "
            f"{metrics['sequence_accuracy']:.4f} on {metrics['scored_on']}, {metrics['capped']} of "
            f"{metrics['count']} transcripts filling every frame")


RECIPE = Recipe(command="recognize train", read=read, split=random_split, build=build, score=score,
                summary=summary, yardsticks=yardsticks)


def load_recognizer(model_dir: str | Path) -> SequenceRecognizer:
    """The model in ``model_dir``: a ``recognize train`` run folder or its ``model/``."""
    return load_model_of(model_dir, SequenceRecognizer, "a sequence recognizer (`rnnkit recognize train`)")


def same_width(model: SequenceRecognizer, data: RecognitionData) -> None:
    """Refuse input whose steps have another number of features than the model was trained on, naming it."""
    width = model.preprocessor.input_size if model.preprocessor is not None else 0
    if model.config.pen_ink:  # pen rows (dx, dy, pen_up), drawn into ink columns by the model
        width = 3
    for name, sequence in zip(data.names, data.X):
        if width and sequence.shape[1] != width:
            raise UserError(f"{name}: {sequence.shape[1]} features per step; the model was trained on {width}")


def transcribe(model_dir: str | Path, inputs: list[str | Path], *, beam: int = 1,
               out: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Names and transcripts of ``inputs`` (sequence files, folders, long tables). With ``out``: also
    ``transcripts.csv`` (name, transcript), ``metrics.json`` and ``report.html`` there (scored when every input
    came with a transcript)."""
    model = load_recognizer(model_dir)
    data = read_inputs(inputs, **model.metadata.get("columns", {}))
    same_width(model, data)
    decoded = model.recognize(data.X, beam=beam)
    if out is not None:
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["name", "transcript"])
        writer.writerows(zip(data.names, decoded))
        _fs.atomic_write(Path(out) / "transcripts.csv", table.getvalue().encode("utf-8"))
        write_results(Path(out), *recognition_report(model, data.X, data.y, beam=beam, names=data.names,
                                                     title="Transcripts"))
    return data.names, decoded


def evaluate_recognizer(model_dir: str | Path, data: str | Path, out: str | Path, *, beam: int = 1,
                        progress: str = "none") -> dict[str, Any]:
    """CER, WER and sequence accuracy of the model on ``data`` (with transcripts), beside the most frequent
    training transcript's CER: ``metrics.json`` and ``report.html`` in ``out``. ``progress``: the decoding's, as
    ``TrainConfig.progress``."""
    model = load_recognizer(model_dir)
    scored = read_recognition_data(data, **model.metadata.get("columns", {}))
    same_width(model, scored)
    metrics, report = recognition_report(model, scored.X, scored.y, beam=beam, names=scored.names,
                                         title=f"Sequence recognition: {Path(data).name}",
                                         extra={"scored_on": str(data)}, progress=CountProgress("decode", progress))
    warn_capped(metrics["capped"], FRAME_LIMIT, FRAME_SETTING, metrics["count"])
    metrics |= baseline(model, list(scored.y))
    add_to_report(report, yardsticks(metrics))
    write_results(Path(out), metrics, report)
    return metrics
