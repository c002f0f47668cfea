"""Shared by the CTC recognition benches: train candidates, pick one and the beam width on validation, score test
once (greedy and beam), write ``metrics.json``, ``model/`` and ``report.html``.

Not a script: ``bench/recognize_handwriting.py`` and ``bench/recognize_digit_strings.py`` call ``run`` (and
``refit``: the chosen settings trained again on training and validation data together).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from rnnkit._config import config_from_dict
from rnnkit.eval.sequence_metrics import error_rate, exact_match
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.tasks.models.recognition import SequenceRecognizer, SequenceRecognizerConfig
from rnnkit.train import TrainConfig, save_model, seed_everything


class TimeBudget:
    """Stop after the epoch that would leave less than one more epoch's time in the budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = seconds, time.monotonic()

    def on_epoch_end(self, trainer) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed + elapsed / trainer.epoch > self.seconds:
            trainer.should_stop = True


def scores(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    return {"cer": error_rate(references, hypotheses), "wer": error_rate(references, hypotheses, unit="word"),
            "sequence_accuracy": exact_match(references, hypotheses)}


def candidate(hidden_size: int, num_layers: int, conv_stride: int, dropout: float, **task: Any) -> dict[str, Any]:
    """``SequenceRecognizerConfig`` settings: a bidirectional LSTM over a 64-channel, kernel-5 convolution."""
    rnn = {"cell": "lstm", "hidden_size": hidden_size, "num_layers": num_layers, "bidirectional": True,
           "dropout": dropout}
    return {"encoder": {"rnn": rnn, "conv_channels": 64, "conv_kernel": 5, "conv_stride": conv_stride}, **task}


def options(description: str, candidates: dict[str, Any], default_out: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path(default_out))
    parser.add_argument("--candidates", nargs="+", default=[next(iter(candidates))], choices=sorted(candidates))
    parser.add_argument("--minutes", type=float, default=60.0, help="training time budget per candidate")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 8], help="beam widths tried on validation")
    parser.add_argument("--threads", type=int, default=1)
    return parser


def train(candidate: dict[str, Any], data: Any, args: argparse.Namespace, input_kind: str,
          epochs: int | None = None, checkpoint_dir: Path | None = None) -> tuple[SequenceRecognizer, Any]:
    """One candidate trained on ``data.train``: early stopping on ``data.valid`` within the time budget, or, with
    ``epochs``, exactly that many epochs (a refit: ``data.valid`` is then only watched). With ``checkpoint_dir``
    a checkpoint is written every epoch, and a run interrupted there continues from it."""
    seed_everything(0)
    model = SequenceRecognizer.for_data(data.train.X, data.train.y,
                                        config_from_dict(SequenceRecognizerConfig, candidate))
    model.metadata = {"input_kind": input_kind}
    config = TrainConfig(max_epochs=epochs or args.epochs, batch_size=32, lr=args.lr,
                         patience=epochs or 6, monitor="val_cer", mode="min", schedule="plateau", plateau_patience=2,
                         seed=0, progress="lines", restore_best=epochs is None,
                         checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None, keep_last=1)
    result = fit_sequence_model(model, data.train.X, data.train.y, X_val=data.valid.X, y_val=data.valid.y,
                                train_config=config, callbacks=[] if epochs else [TimeBudget(args.minutes * 60)],
                                resume=checkpoint_dir is not None)
    return model.cpu().eval(), result


def run(args: argparse.Namespace, data: Any, candidates: dict[str, Any], *, input_kind: str, title: str,
        target: dict[str, float], extra: dict[str, Any]) -> dict[str, Any]:
    """``data`` has ``train``, ``valid`` and ``test``, each with ``X`` and ``y``. ``target``: {metric: bound},
    a CER is met at or below it, an accuracy at or above."""
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    best, rows, models = None, [], {}
    for name in args.candidates:
        start = time.time()
        model, result = train(candidates[name], data, args, input_kind)
        row = {"candidate": name, **candidates[name], "epochs": len(result.history), "best_epoch": result.best_epoch,
               "train_seconds": round(time.time() - start), "stopped": result.stopped_reason}
        for beam in args.beams:
            decoded = model.recognize(data.valid.X, beam=beam)
            row[f"valid_cer_beam{beam}"] = error_rate(data.valid.y, decoded)
            row[f"valid_sequence_accuracy_beam{beam}"] = exact_match(data.valid.y, decoded)
        rows.append(row)
        print(json.dumps(row), flush=True)
        valid_cer = min(row[f"valid_cer_beam{b}"] for b in args.beams)
        models[name] = model
        if best is None or valid_cer < best[0]:
            best = (valid_cer, name, model, result)
    _, name, model, result = best
    for row in rows:  # for the record only: the choice above saw validation figures alone
        if row["candidate"] != name and len(rows) > 1:
            row["test_greedy"] = scores(data.test.y, models[row["candidate"]].recognize(data.test.X))
    row = next(r for r in rows if r["candidate"] == name)
    beam = min(args.beams, key=lambda b: (row[f"valid_cer_beam{b}"], b))
    summary = {**extra, "candidates": rows, "chosen": name, "chosen_beam": beam}
    return score_and_save(args.out, model, result, data, beams=sorted({1, max(args.beams)}), beam=beam,
                          target=target, title=title, summary=summary)


def refit(args: argparse.Namespace, chosen_in: Path, data: Any, candidates: dict[str, Any], *, input_kind: str,
          title: str, target: dict[str, float], extra: dict[str, Any]) -> dict[str, Any]:
    """Train the candidate a finished ``run`` chose (its ``metrics.json`` in ``chosen_in``) again, on ``data.train``
    (train and validation data together), for as many epochs as validation chose, with the beam it chose; score
    ``data.test`` once. Nothing is chosen here: the settings all come from the earlier run's validation."""
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = json.loads((chosen_in / "metrics.json").read_text())
    row = next(r for r in chosen["candidates"] if r["candidate"] == chosen["chosen"])
    model, result = train(candidates[chosen["chosen"]], data, args, input_kind, epochs=row["best_epoch"],
                          checkpoint_dir=args.out / "ckpt")  # the same command continues an interrupted refit
    summary = {**extra, "refit_of": str(chosen_in), "chosen": chosen["chosen"], "chosen_beam": chosen["chosen_beam"],
               "epochs": row["best_epoch"], "train_sequences": len(data.train.y)}
    return score_and_save(args.out, model, result, data, beams=sorted({1, chosen["chosen_beam"]}),
                          beam=chosen["chosen_beam"], target=target, title=title, summary=summary)


def score_and_save(out: Path, model: SequenceRecognizer, result: Any, data: Any, *, beams: list[int], beam: int,
                   target: dict[str, float], title: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Write ``model/`` and ``history.json``, score the test set at each of ``beams``, report the chosen ``beam``
    against ``target`` in ``metrics.json``, then ``report.html``."""
    save_model(model, out / "model", overwrite=True)
    (out / "history.json").write_text(json.dumps(result.history, indent=1) + "\n")
    metrics: dict[str, Any] = {**summary, "test_sequences": len(data.test.y), "target": target}
    for width in beams:
        start = time.time()
        decoded = model.recognize(data.test.X, beam=width)
        metrics[f"test_beam{width}"] = {**scores(data.test.y, decoded), "decode_seconds": round(time.time() - start, 1)}
    chosen = metrics[f"test_beam{beam}"]
    metrics["test"] = chosen
    metrics["passed"] = all(chosen[k] <= v if k == "cer" else chosen[k] >= v for k, v in target.items())
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if k != "candidates"}, indent=1), flush=True)

    from rnnkit.eval.reports.recognition import recognition_report  # last: the figures above are already safe

    _, report = recognition_report(model, data.test.X, data.test.y, history=result.history, beam=beam, title=title)
    report.write(out / "report.html")
    return metrics
