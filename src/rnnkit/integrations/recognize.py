"""Sequence recognition (CTC) from files to a results folder: what ``rnnkit recognize train|eval|DIR`` runs.

    metrics = train_recognizer("train/", "runs/x", test="test/", config=SequenceRecognizerConfig(...))
    names, transcripts = transcribe("runs/x", ["a.npy", "b.csv"], beam=8)
    metrics = evaluate_recognizer("runs/x", "test/", "runs/x-test", beam=8)

Data are read by ``rnnkit.data.recognition_io`` (a folder of sequence files with ``transcripts.csv``, or a long
table). ``train_recognizer`` holds out a random validation share of the training data (early stopping on its
greedy character error rate, and the best epoch), fits the feature scaler and the alphabet on the rest, trains,
and writes ``model/`` (the model folder; it also records the input columns and how to draw the inputs),
``metrics.json``, ``report.html`` and ``history.json``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rnnkit.data.recognition_io import RecognitionData, read_inputs, read_recognition_data
from rnnkit.errors import UserError
from rnnkit.eval.reports import write_metrics
from rnnkit.eval.reports.recognition import INPUT_KINDS, recognition_report
from rnnkit.integrations.fit import fit_sequence_model, validation_split
from rnnkit.tasks.models.recognition import SequenceRecognizer, SequenceRecognizerConfig
from rnnkit.train import TrainConfig, save_model, seed_everything
from rnnkit.train.model_folder import load_model_of

TRAINING_DEFAULTS = {"progress": "none", "monitor": "val_cer", "mode": "min"}


def train_recognizer(data: str | Path, out: str | Path, *, columns: dict[str, Any] | None = None,
                     test: str | Path | None = None, validation: float = 0.2,
                     config: SequenceRecognizerConfig | None = None, training: dict[str, Any] | None = None,
                     beam: int = 1, input_kind: str = "auto") -> dict[str, Any]:
    """Train on ``data`` and write the results into ``out``; ``columns`` (id, time, features, transcript) read
    long tables. Returns the metrics (on ``test`` when given, else on the validation split). ``config``: the
    model's (None: the defaults)."""
    if input_kind not in INPUT_KINDS:
        raise UserError(f"input kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    out, columns = Path(out), {k: v for k, v in (columns or {}).items() if v is not None}
    everything = read_recognition_data(data, **columns)
    train_config = TrainConfig(**{**TRAINING_DEFAULTS, **(training or {})})
    train, held = validation_split(everything.y, validation, train_config.seed, stratify=False)
    X_train, y_train = [everything.X[i] for i in train], [everything.y[i] for i in train]
    X_val, y_val = [everything.X[i] for i in held], [everything.y[i] for i in held]
    seed_everything(train_config.seed)
    model = SequenceRecognizer.for_data(X_train, y_train, config)
    model.metadata = {"columns": columns, "input_kind": input_kind}
    model.check_lengths(X_train, y_train, [everything.names[i] for i in train])
    model.check_lengths(X_val, y_val, [everything.names[i] for i in held])
    result = fit_sequence_model(model, X_train, y_train, X_val=X_val, y_val=y_val, train_config=train_config)
    model.cpu().eval()
    save_model(model, out / "model", overwrite=True)
    if test is not None:
        scored = read_recognition_data(test, **columns)
        scored_on = f"test ({Path(test).name})"
    else:
        names = [everything.names[i] for i in held]
        scored, scored_on = RecognitionData(X_val, y_val, names), "validation split"
    sizes = {"scored_on": scored_on, "train_sequences": len(X_train), "validation_sequences": len(X_val),
             "alphabet": "".join(model.alphabet), "best_epoch": result.best_epoch, "stopped": result.stopped_reason}
    metrics, report = recognition_report(model, scored.X, scored.y, beam=beam, history=result.history,
                                         names=scored.names, title=f"Sequence recognition: {Path(data).name}",
                                         extra=sizes)
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    (out / "history.json").write_text(json.dumps(result.history, indent=1) + "\n", encoding="utf-8")
    return metrics


def load_recognizer(model_dir: str | Path) -> SequenceRecognizer:
    """The model in ``model_dir``: a ``train_recognizer`` output folder or its ``model/``."""
    return load_model_of(model_dir, SequenceRecognizer, "a sequence recognizer (`rnnkit recognize train`)")


def transcribe(model_dir: str | Path, inputs: list[str | Path], *, beam: int = 1,
               out: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Names and transcripts of ``inputs`` (sequence files, folders, long tables). With ``out``: also
    ``transcripts.csv`` (name, transcript), ``metrics.json`` and ``report.html`` there (scored when every input
    came with a transcript)."""
    model = load_recognizer(model_dir)
    data = read_inputs(inputs, **model.metadata.get("columns", {}))
    decoded = model.recognize(data.X, beam=beam)
    if out is not None:
        out = Path(out)
        with open(out / "transcripts.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "transcript"])
            writer.writerows(zip(data.names, decoded))
        metrics, report = recognition_report(model, data.X, data.y, beam=beam, names=data.names,
                                             title="Transcripts")
        write_metrics(out / "metrics.json", metrics)
        report.write(out / "report.html")
    return data.names, decoded


def evaluate_recognizer(model_dir: str | Path, data: str | Path, out: str | Path, *, beam: int = 1) -> dict[str, Any]:
    """CER, WER and sequence accuracy of the model on ``data`` (with transcripts): ``metrics.json`` and
    ``report.html`` in ``out``."""
    model = load_recognizer(model_dir)
    scored = read_recognition_data(data, **model.metadata.get("columns", {}))
    metrics, report = recognition_report(model, scored.X, scored.y, beam=beam, names=scored.names,
                                         title=f"Sequence recognition: {Path(data).name}",
                                         extra={"scored_on": str(data)})
    out = Path(out)
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    return metrics
