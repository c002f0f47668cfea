"""Data-parallel training on real process groups (gloo, 2 processes on loopback, started by torchrun).

N=2 with global batch B takes the optimizer steps of N=1 with batch B (weights equal to 1e-6) for a classifier
(padded sequences, an uneven last batch of one item), a forecaster (gradient accumulation) and a language model
(truncated BPTT, 5 streams split 3 + 2); a run whose rank 1 is SIGKILLed resumes bit-identically; a rank that
raises ends the job with its rank named and the last checkpoint intact.

This file is also the workers' script: ``torchrun ... tests/test_distributed.py OUT CASE... [options]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from rnnkit.data.sequences import pad_collate
from rnnkit.data.streams import TokenStreams, first_item
from rnnkit.data.timeseries import WindowDataset
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import (EncoderConfig, ForecastConfig, ForecastModel, ForecastNetworkConfig, LanguageModel,
                          LanguageModelConfig, SequenceClassifier, SequenceClassifierConfig)
from rnnkit.train import Callback, TrainConfig, Trainer, latest_checkpoint, seed_everything
from rnnkit.train.distributed import ENVIRONMENT, World, launch, torchrun_command

CASES = ("classifier", "forecaster", "language_model")


def build(case: str) -> tuple[torch.nn.Module, Any, Any, Any, dict[str, Any]]:
    """(model, train data, validation data, collate_fn, TrainConfig settings): the one place building models."""
    seed_everything(0)
    rng = np.random.default_rng(0)
    if case == "classifier":  # 41 padded sequences of 3-9 steps: batches of 8, the last of 1 (rank 1 idle)
        X = [rng.standard_normal((int(rng.integers(3, 10)), 2)).astype(np.float32) for _ in range(53)]
        y = [int(x[:, 0].sum() > 0) for x in X]
        model = SequenceClassifier.for_data(
            X[:41], y[:41], SequenceClassifierConfig(EncoderConfig(rnn=RecurrentConfig(hidden_size=8))))
        settings = dict(batch_size=8, max_epochs=6, lr=0.02, schedule="plateau", plateau_patience=1, patience=4)
        return model, model.dataset(X[:41], y[:41]), model.dataset(X[41:], y[41:]), pad_collate, settings
    if case == "forecaster":  # a noisy sine, lookback 8, horizon 3: 45 windows, batches of 6, 2 per step
        series = np.sin(np.arange(70) / 3.0) + 0.1 * rng.standard_normal(70)
        encoded = [(series[:, None], np.zeros((70, 0)), series[:, None])]
        train = WindowDataset(encoded, [list(range(8, 53))], lookback=8, horizon=3)
        val = train.view([list(range(53, 68))])
        model = ForecastModel(ForecastConfig(input_size=1, future_size=0, num_targets=1, lookback=8, horizon=3,
                                             network=ForecastNetworkConfig(rnn=RecurrentConfig(hidden_size=8))))
        settings = dict(batch_size=6, accumulate_steps=2, max_epochs=6, lr=0.01, schedule="cosine")
        return model, train, val, train.collate, settings
    ids = torch.as_tensor(rng.integers(0, 12, 1200))  # 5 streams of 239 tokens: 23 windows of 10
    model = LanguageModel(LanguageModelConfig(vocab_size=12, embedding_size=8,
                                              rnn=RecurrentConfig(hidden_size=16, num_layers=1), streams=5))
    settings = dict(batch_size=1, shuffle=False, max_epochs=3, lr=0.01, checkpoint_every_steps=7)
    return model, TokenStreams(ids[:1000], 5, 10), TokenStreams(ids[1000:], 3, 10), first_item, settings


def train(case: str, out: Path | None, *, distributed: bool, resume: bool = False,
          callbacks: tuple = ()) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Train ``case`` (checkpoints in ``out/<case>`` when ``out`` is given); the final weights and the history."""
    model, train_data, val_data, collate, settings = build(case)
    config = TrainConfig(progress="none", seed=3, **settings,
                         checkpoint_dir=str(out / case) if out else None)
    if out is None:
        config.checkpoint_every_steps = None
    trainer = Trainer(model, config, callbacks, distributed=distributed)
    result = trainer.fit(train_data, val_data, collate, resume=resume)
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    history = [{k: v for k, v in record.items() if k not in ("seconds", "sequences_per_s")}
               for record in result.history]
    return weights, history


class Fail(Callback):
    """After optimizer step ``step`` on rank ``rank``: SIGKILL the process (``how="kill"``) or raise."""

    def __init__(self, rank: int, step: int, how: str) -> None:
        self.rank, self.step, self.how = rank, step, how

    def on_batch_end(self, trainer: Trainer) -> None:
        if trainer.world.rank == self.rank and trainer.step == self.step:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError(f"boom at step {self.step}")


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("cases", nargs="+", choices=CASES)
    parser.add_argument("--fail", nargs=3, metavar=("HOW", "RANK", "STEP"))
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    callbacks = (Fail(int(args.fail[1]), int(args.fail[2]), args.fail[0]),) if args.fail else ()
    for case in args.cases:
        weights, history = train(case, args.out, distributed=True, resume=args.resume, callbacks=callbacks)
        if int(os.environ["RANK"]) == 0:
            save_file(weights, str(args.out / f"{case}.safetensors"))
            (args.out / f"{case}.json").write_text(json.dumps(history))


# --standalone: a rendezvous on localhost at a free port; gloo on the loopback interface
ENV = dict(GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))


def run_workers(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(torchrun_command([__file__, str(out), *args], 2), capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, **ENV))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One torchrun job of 2 ranks training all three cases (one start-up for the three comparisons)."""
    out = tmp_path_factory.mktemp("ddp")
    done = run_workers(out, *CASES)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.parametrize("case", CASES)
def test_two_processes_take_the_steps_of_one(two_ranks: Path, case: str) -> None:
    expected, expected_history = train(case, None, distributed=False)
    actual = load_file(str(two_ranks / f"{case}.safetensors"))
    assert actual.keys() == expected.keys()
    for name in expected:
        assert torch.allclose(actual[name], expected[name], rtol=0, atol=1e-6), (name, (actual[name] - expected[name]).abs().max())
    history = json.loads((two_ranks / f"{case}.json").read_text())
    assert [record["step"] for record in history] == [record["step"] for record in expected_history]
    for record, reference in zip(history, expected_history):  # train loss and all-reduced validation metrics
        assert record.keys() == reference.keys()
        assert all(record[key] == pytest.approx(reference[key], rel=1e-5, abs=1e-6) for key in record)


def test_sigkill_of_one_rank_then_resume_is_bit_identical(two_ranks: Path, tmp_path: Path) -> None:
    # 23 steps per epoch, a checkpoint every 7 steps and at epoch ends: rank 1 dies after step 30 (epoch 2, its
    # carried stream state mid-row); the run resumes from step 28 and must end on the uninterrupted weights.
    crash = run_workers(tmp_path, "language_model", "--fail", "kill", "1", "30")
    assert crash.returncode != 0
    assert latest_checkpoint(tmp_path / "language_model").step == 28
    resumed = run_workers(tmp_path, "language_model", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected = load_file(str(two_ranks / "language_model.safetensors"))
    actual = load_file(str(tmp_path / "language_model.safetensors"))
    assert all(torch.equal(actual[name], expected[name]) for name in expected)
    assert json.loads((tmp_path / "language_model.json").read_text()) == \
        json.loads((two_ranks / "language_model.json").read_text())
    with pytest.raises(UserError, match=r"written by a run on 2 process\(es\): resume it with 2"):
        train("language_model", tmp_path, distributed=False, resume=True)


def test_a_failing_rank_ends_the_job_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert launch([__file__, str(tmp_path), "language_model", "--fail", "raise", "1", "9"], 2) != 0
    stderr = capfd.readouterr().err
    assert "rnnkit: rank 1 of 2 failed: ValueError: boom at step 9" in stderr
    assert "rank      : 1 (local_rank: 1)" in stderr  # torchrun's report names it the root cause too
    assert latest_checkpoint(tmp_path / "language_model").step == 7  # the last good one, intact
    assert not (tmp_path / "language_model.safetensors").exists()


def test_outside_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert Trainer(torch.nn.Linear(2, 1)).world == World()  # alone unless torchrun says otherwise
    with pytest.raises(UserError, match="needs the environment torchrun sets"):
        Trainer(torch.nn.Linear(2, 1), distributed=True)
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(UserError, match="already running under torchrun"):
        launch(["train.py"], 2)


def test_ranks_split_batches_into_contiguous_blocks() -> None:
    batch = torch.tensor([7, 3, 9, 1, 4])
    assert [World(rank, 2).split(batch) for rank in (0, 1)] == [([7, 3, 9], True), ([1, 4], True)]
    assert World(2, 3).split(torch.tensor([5, 6])) == ([5], False)  # past the end: a stand-in of weight 0
    streams = TokenStreams(torch.arange(61), 5, 4)
    shards = [streams.shard(rank, 2)[1] for rank in (0, 1)]
    assert [shard.rows for shard in shards] == [slice(0, 3), slice(3, 5)]
    assert torch.equal(torch.cat([shard.x for shard in shards]), streams[1].x)


if __name__ == "__main__":
    worker(sys.argv[1:])
