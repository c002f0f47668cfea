"""Every `rnnkit <task> train` continues a killed run exactly, and never resumes into a folder it did not make.

Each task trains a tiny model three times into one folder: killed right after an optimizer step, resumed and
killed again while a checkpoint is being written, then resumed to the end (a half-written model folder from a
killed save lying there too). The final weights, history and metrics equal those of one uninterrupted run, bit for
bit (CPU, one thread).
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from captioning_data import make_shapes
from safetensors.torch import load_file
from test_recognition import synthetic

import rnnkit
from rnnkit.cli.main import main
from rnnkit.data.images import encode_png

SCRIPT = Path(__file__).with_name("_kill_cli.py")
SRC = str(Path(rnnkit.__file__).parents[1])


@dataclasses.dataclass
class Task:
    name: str
    arguments: Callable[[Path], list[str]]  # writes the task's data into a folder: the train arguments, no --out
    after_step: int  # kill right after this optimizer step (mid-epoch)
    in_checkpoint: int | None = None  # then resume, and kill while writing this step's checkpoint (an epoch end)
    report: bool = False  # score and report each run (slow: the figures), and compare the metrics


def classify_arguments(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    words = ["the", "car", "is", "on", "road"]
    rows = [{"text": " ".join(rng.permutation([*rng.choice(words, 3), label])), "label": label}
            for label in rng.choice(["good", "bad"], 40)]
    pd.DataFrame(rows).to_csv(folder / "texts.csv", index=False)
    # 32 training texts, batch 8: 4 steps an epoch
    return ["classify", "train", str(folder / "texts.csv"), "--label", "label", "--text", "text", "--hidden-size", "8",
            "--embedding-dim", "8", "--dropout", "0.2", "--epochs", "3", "--batch-size", "8", "--lr", "0.01",
            "--budget", "none"]


def seq2seq_arguments(folder: Path) -> list[str]:
    rng = random.Random(0)
    words = ["".join(rng.choice("abcd") for _ in range(rng.randint(2, 4))) for _ in range(40)]
    (folder / "pairs.tsv").write_text("".join(f"{word}\t{word.upper()}\n" for word in words), encoding="utf-8")
    # 36 training pairs, batch 8: 5 steps an epoch
    return ["seq2seq", "train", str(folder / "pairs.tsv"), "--no-lowercase", "--hidden-size", "8", "--embedding-dim",
            "8", "--dropout", "0.2", "--epochs", "3", "--batch-size", "8", "--beam", "1"]


def caption_arguments(folder: Path) -> list[str]:
    images, captions = make_shapes(20)
    (folder / "img").mkdir()
    for i, image in enumerate(images):
        (folder / "img" / f"{i}.png").write_bytes(encode_png(image))
    pd.DataFrame({"file": [f"{i}.png" for i in range(20)], "caption": captions}).to_csv(folder / "captions.csv",
                                                                                        index=False)
    # 18 training images, batch 6: 3 steps an epoch (and batch norm's running statistics in the checkpoints); killed
    # in the first of two members, the second trains after the resumed first
    return ["caption", "train", str(folder / "img"), str(folder / "captions.csv"), "--image-size", "16",
            "--channels", "4", "8", "--hidden-size", "8", "--embedding-dim", "8", "--epochs", "3", "--batch-size",
            "6", "--beam", "1", "--ensemble", "2"]


def recognize_arguments(folder: Path) -> list[str]:
    X, y = synthetic(30, 0)
    (folder / "data").mkdir()
    for i, x in enumerate(X):
        np.save(folder / "data" / f"s{i:02d}.npy", x)
    pd.DataFrame({"file": [f"s{i:02d}.npy" for i in range(30)], "transcript": y}).to_csv(
        folder / "data" / "transcripts.csv", index=False)
    # 24 training sequences, batch 8: 3 steps an epoch
    return ["recognize", "train", str(folder / "data"), "--hidden-size", "8", "--num-layers", "1", "--conv-channels",
            "4", "--conv-kernel", "3", "--epochs", "3", "--batch-size", "8", "--lr", "0.01"]


def generate_arguments(folder: Path) -> list[str]:
    (folder / "plays").mkdir()
    for name in "abcde":
        (folder / "plays" / f"{name}.txt").write_text(f"{name.upper()}:\nGood morrow, {name}.\n\n" * 20)
    # 3 training plays of ~440 characters in 4 streams of 16 steps: 6 steps an epoch
    return ["generate", "train", str(folder / "plays"), "--hidden-size", "16", "--num-layers", "1",
            "--embedding-size", "8", "--streams", "4", "--seq-len", "16", "--dropout", "0.1", "--epochs", "3",
            "--validation", "0.2", "--test", "0.2", "--progress", "none"]


def forecast_arguments(folder: Path) -> list[str]:
    # the airline series: 109 windows, batch 32: 4 steps an epoch
    return ["forecast", "train", "--max-steps", "12", "--hidden-size", "8", "--folds", "0", "--budget", "none"]


TASKS = [Task("classify", classify_arguments, after_step=6, in_checkpoint=8, report=True),  # 4 steps an epoch
         Task("seq2seq", seq2seq_arguments, after_step=7),
         Task("caption", caption_arguments, after_step=4),
         Task("recognize", recognize_arguments, after_step=4),
         Task("generate", generate_arguments, after_step=8),
         Task("forecast", forecast_arguments, after_step=6)]


def rnnkit_cli(*args: str, after_step: int | None = None, in_checkpoint: int | None = None, report: bool = True
               ) -> subprocess.CompletedProcess:
    kill = [f"--after-step={after_step}"] * (after_step is not None)
    kill += [f"--in-checkpoint={in_checkpoint}"] * (in_checkpoint is not None) + ["--no-report"] * (not report)
    return subprocess.run([sys.executable, str(SCRIPT), *kill, "--", *args], capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})


def results(out: Path) -> tuple[dict[str, torch.Tensor], list[dict], dict]:
    weights = load_file(out / "model" / "model.safetensors")
    history = [{k: v for k, v in record.items() if k not in ("seconds", "sequences_per_s")}  # the clock's
               for record in json.loads((out / "history.json").read_text())]
    metrics = json.loads((out / "metrics.json").read_text())
    if "history" in metrics:  # the language model's
        metrics["history"] = history
    return weights, history, metrics


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_a_killed_run_resumes_to_the_same_weights(task, tmp_path, capsys):
    arguments = [*task.arguments(tmp_path), "--threads", "1"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    done = rnnkit_cli(*arguments, "--out", str(whole), report=task.report)
    assert done.returncode == 0, done.stderr

    killed = rnnkit_cli(*arguments, "--out", str(parts), after_step=task.after_step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if task.in_checkpoint is not None:
        killed = rnnkit_cli(*arguments, "--out", str(parts), "--resume", in_checkpoint=task.in_checkpoint)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert list((parts / "checkpoints").glob(f".ckpt-{task.in_checkpoint:08d}.tmp-*"))  # half written
    capsys.readouterr()
    assert main([*arguments, "--out", str(parts)]) == 2 and "--resume" in capsys.readouterr().err
    (parts / ".model.tmp-0badf00d").mkdir()  # what a save killed half-way leaves
    (parts / ".model.tmp-0badf00d" / "model.safetensors").write_bytes(b"half")

    done = rnnkit_cli(*arguments, "--out", str(parts), "--resume", report=task.report)
    assert done.returncode == 0, done.stderr
    assert not list(parts.glob(".*.tmp-*")) and not list((parts / "checkpoints").glob(".*"))
    (weights, history, metrics), (expected_weights, expected_history, expected_metrics) = results(parts), results(whole)
    assert weights.keys() == expected_weights.keys()
    assert all(torch.equal(weights[name], expected_weights[name]) for name in weights)
    assert history == expected_history and metrics == expected_metrics

    capsys.readouterr()
    assert main([*arguments, "--out", str(parts), "--resume", "--lr", "0.02"]) == 2
    err = capsys.readouterr().err
    assert "train.lr was" in err and "in the run, now 0.02" in err


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_resume_refuses_a_folder_it_did_not_make(task, tmp_path, capsys):
    arguments = task.arguments(tmp_path)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*arguments, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not made by rnnkit" in err
    assert [path.name for path in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
