"""Run the ``rnnkit`` command and SIGKILL it at a chosen point, like a power cut; test_cli_resume.py uses it.

usage: python tests/_kill_cli.py [--after-step K] [--in-checkpoint K] [--no-report] -- ARGS...

``--after-step K``: right after optimizer step K. ``--in-checkpoint K``: while the checkpoint of step K is being
written (its tensors written, its state.json not yet), leaving a half-written temporary checkpoint folder.
No cleanup, no finally blocks run. Without either option the command runs to its end; the exit code is its own.
``--no-report``: the task's scoring and report are skipped (metrics.json holds the epoch count): the figures take
most of a tiny run's time, and the resume tests compare the weights.
Every run of a comparison goes through here, each in a process of its own, as a user's runs are (runs in one
long-lived process may differ in the last bits: its kernels' state is not a fresh process's).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import signal
import sys
from pathlib import Path

import torch

from rnnkit import _fs
from rnnkit.cli.main import main
from rnnkit.eval.reports import Report
from rnnkit.pipelines.driver import TrainedRun
from rnnkit.train import checkpoint
from rnnkit.train.trainer import Trainer


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after_step(step: int) -> None:
    original = Trainer._optimizer_step

    def optimizer_step(self: Trainer) -> None:
        original(self)
        if self.step == step:
            kill()

    Trainer._optimizer_step = optimizer_step


def no_report() -> None:
    def score(run: TrainedRun) -> tuple[dict, Report]:
        return {"epochs": len(run.result.history)}, Report("not scored")

    for name in ("classify", "seq2seq", "caption", "recognize", "generate", "forecast"):
        module = importlib.import_module(f"rnnkit.pipelines.{name}")
        module.RECIPE = dataclasses.replace(module.RECIPE, score=score, summary=lambda metrics: "")


def in_checkpoint(step: int) -> None:
    original = _fs.write_file

    def write_file(path: Path, data: bytes) -> None:
        if path.name == checkpoint.STATE and path.parent.name.startswith(f".ckpt-{step:08d}.tmp-"):
            kill()
        original(path, data)

    _fs.write_file = write_file


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--after-step", type=int)
    parser.add_argument("--in-checkpoint", type=int)
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    torch.use_deterministic_algorithms(True)  # as the test suite's conftest
    if options.after_step is not None:
        after_step(options.after_step)
    if options.in_checkpoint is not None:
        in_checkpoint(options.in_checkpoint)
    if options.no_report:
        no_report()
    sys.exit(main(options.args[1:] if options.args[:1] == ["--"] else options.args))
