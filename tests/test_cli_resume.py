"""Every `rnnkit <task> train` continues a killed run exactly, and never resumes into a folder it did not make.

Each task trains a tiny model three times into one folder: killed right after an optimizer step, resumed and
killed again while a checkpoint is being written, then resumed to the end (a half-written model folder from a
killed save lying there too). The final weights, history and metrics equal those of one uninterrupted run, bit for
bit (CPU, one thread).
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import rnnkit
from rnnkit.cli.main import main

SCRIPT = Path(__file__).with_name("_kill_cli.py")
SRC = str(Path(rnnkit.__file__).parents[1])


@dataclasses.dataclass
class Task:
    name: str
    arguments: Callable[[Path], list[str]]  # writes the task's data into a folder: the train arguments, no --out
    after_step: int  # kill right after this optimizer step (mid-epoch)
    in_checkpoint: int | None = None  # then resume, and kill while writing this step's checkpoint (an epoch end)


def classify_arguments(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    words = ["the", "car", "is", "on", "road"]
    rows = [{"text": " ".join(rng.permutation([*rng.choice(words, 3), label])), "label": label}
            for label in rng.choice(["good", "bad"], 40)]
    pd.DataFrame(rows).to_csv(folder / "texts.csv", index=False)
    # 32 training texts, batch 8: 4 steps an epoch
    return ["classify", "train", str(folder / "texts.csv"), "--label", "label", "--text", "text", "--hidden-size", "8",
            "--embedding-dim", "8", "--dropout", "0.2", "--epochs", "3", "--batch-size", "8", "--lr", "0.01"]


TASKS = [Task("classify", classify_arguments, after_step=6, in_checkpoint=8)]  # 4 steps an epoch, 12 in all


def rnnkit_cli(*args: str, after_step: int | None = None, in_checkpoint: int | None = None
               ) -> subprocess.CompletedProcess:
    kill = [f"--after-step={after_step}"] * (after_step is not None)
    kill += [f"--in-checkpoint={in_checkpoint}"] * (in_checkpoint is not None)
    return subprocess.run([sys.executable, str(SCRIPT), *kill, "--", *args], capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})


def results(out: Path) -> tuple[dict[str, torch.Tensor], list[dict], dict]:
    weights = load_file(out / "model" / "model.safetensors")
    history = [{k: v for k, v in record.items() if k not in ("seconds", "sequences_per_s")}
               for record in json.loads((out / "history.json").read_text())]
    metrics = json.loads((out / "metrics.json").read_text())
    return weights, history, metrics


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_a_killed_run_resumes_to_the_same_weights(task, tmp_path, capsys):
    arguments = [*task.arguments(tmp_path), "--threads", "1"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*arguments, "--out", str(whole)]) == 0

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

    assert main([*arguments, "--out", str(parts), "--resume"]) == 0
    assert not list(parts.glob(".*.tmp-*")) and not list((parts / "checkpoints").glob(".*"))
    (weights, history, metrics), (expected_weights, expected_history, expected_metrics) = results(parts), results(whole)
    assert weights.keys() == expected_weights.keys()
    assert all(torch.equal(weights[name], expected_weights[name]) for name in weights)
    assert history == expected_history and metrics == expected_metrics

    capsys.readouterr()
    assert main([*arguments, "--out", str(parts), "--resume", "--lr", "0.02"]) == 2
    assert "train.lr was 0.01 in the run, now 0.02" in capsys.readouterr().err


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
