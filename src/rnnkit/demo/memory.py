"""The memory demo: Elman RNN against LSTM (and GRU) on the long-time-lag problems of Hochreiter & Schmidhuber.

For every problem x lag x cell one model of (nearly) equal parameter count is trained under the same budget
(optimizer steps of fresh sequences), stopping early once it solves the problem on a validation set. Then:

- solved: on 2,560 fresh test sequences, >= 99% processed correctly (adding: absolute error < 0.04;
  temporal order: the right class), as in the paper;
- the gradient through time: mean ``||dL/dh_t||`` against the distance from the loss, at initialisation and
  after training (``rnnkit.eval.gradients``).

The models are the sequence classifier (temporal order) and regressor (adding, with the paper's tolerance as its
"accuracy"), reading each sequence's final state. Gated cells start with chrono initialisation for the lag at
hand (``RecurrentConfig.chrono_lag``); the Elman RNN has no gate to set and starts with orthogonal recurrent
weights, its best-known start. The min cells (``--cells mingru minlstm``, Feng et al. 2024) are stacked
``MIN_CELL_LAYERS`` deep, as in their paper (a min cell's gates read its input only, not its state), and train
at ``MIN_CELL_LR``; their hidden size matches the LSTM's parameter count over the whole stack. Jobs run in parallel
processes, one thread each, and are seeded from (seed, job), so a seed fixes every number whatever the schedule.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Optional

import torch

from rnnkit import _smoke
from rnnkit.data.long_lag import PAPER_TEST_SIZE, LongLagProblem
from rnnkit.eval.gradients import state_gradient_norms
from rnnkit.nn.config import MIN_CELLS, RecurrentConfig, make_recurrent
from rnnkit.tasks.blocks.encoder import EncoderConfig
from rnnkit.tasks.models.classification import (SequenceClassifier, SequenceClassifierConfig, SequenceRegressor,
                                                SequenceRegressorConfig)
from rnnkit.train import Callback, TrainConfig, Trainer, save_model

PROBLEMS = {"adding": "adding", "temporal-order": "temporal_order_6a"}
SOLVED_ACCURACY = 0.99  # the paper's criterion, judged on the test sequences
# Training stops at a margin above it on validation: 99% on 1,024 validation sequences is still 98.6% on a test
# set one time in ten, so a run that stopped exactly at the line would often fail the test by noise.
STOP_ACCURACY = 0.995
MIN_CELL_LAYERS = 3
MIN_CELL_LR = 1e-2  # chosen on validation at lag 100 over the others' 3e-3 (bench/check_precision.py --min-cells)


@dataclass(frozen=True)
class MemoryDemoConfig:
    problems: tuple[str, ...] = ("adding", "temporal-order")
    lags: tuple[int, ...] = (10, 50, 100, 200)
    cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    lstm_hidden_size: int = 32  # the others get the hidden size that matches the LSTM's parameter count
    batch_size: int = 64
    max_steps: int = 1500  # the training budget: optimizer steps of fresh batches
    eval_every: int = 50  # steps between validation checks (and points on the learning curves)
    lr: float = 3e-3
    validation_size: int = 1024
    test_size: int = PAPER_TEST_SIZE
    gradient_batch: int = 256
    seed: int = 0
    workers: int = 2



def smoke_config(config: MemoryDemoConfig) -> MemoryDemoConfig:
    """In smoke mode (``RNNKIT_SMOKE``, ``rnnkit._smoke``) a few steps per model, a few test sequences, one process."""
    if not _smoke.active():
        return config
    return replace(config, max_steps=_smoke.STEPS, eval_every=_smoke.STEPS, validation_size=64, test_size=64,
                   gradient_batch=16, workers=1)

class FreshBatches(torch.utils.data.Dataset):
    """Fresh training batches, as in the paper: item i of epoch e is a batch drawn from seed (seed, e, i).

    Each item is a whole batch (the trainer runs with ``batch_size=1`` and ``collate_fn=first``); the epoch is
    set by ``NextEpoch`` so no batch repeats, and every batch can be rebuilt from its index (exact resume).
    """

    def __init__(self, problem: LongLagProblem, batch_size: int, batches: int, seed: int) -> None:
        self.problem, self.batch_size, self.batches, self.seed, self.epoch = problem, batch_size, batches, seed, 0

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(hash((self.seed, self.epoch, index)) & 0x7FFF_FFFF_FFFF)
        return self.problem.sample(self.batch_size, generator)


def first(items: list) -> Any:
    return items[0]


class NextEpoch(Callback):
    def __init__(self, data: FreshBatches) -> None:
        self.data = data

    def on_epoch_start(self, trainer: Trainer) -> None:
        self.data.epoch = trainer.epoch


class StopWhenSolved(Callback):
    """Stops once the validation accuracy reaches ``STOP_ACCURACY`` and remembers the step."""

    def __init__(self) -> None:
        self.solved_at: Optional[int] = None

    def on_epoch_end(self, trainer: Trainer) -> None:
        if trainer.history[-1].get("val_accuracy", 0.0) >= STOP_ACCURACY:
            self.solved_at = trainer.step
            trainer.should_stop = True


def recurrent_config(cell: str, hidden_size: int, lag: int = 0) -> RecurrentConfig:
    """The recurrent stack of a ``cell`` model; gated cells get chrono initialisation for ``lag``."""
    chrono = lag + lag // 10 if cell != "rnn" and lag else 0
    return RecurrentConfig(cell=cell, hidden_size=hidden_size, num_layers=MIN_CELL_LAYERS if cell in MIN_CELLS else 1,
                           chrono_lag=chrono)


def parameter_count(cell: str, input_size: int, hidden_size: int, output_size: int) -> int:
    """The model's parameters: the recurrent stack and the output layer on its last state."""
    stack = make_recurrent(recurrent_config(cell, hidden_size), input_size)
    return sum(p.numel() for p in stack.parameters()) + (hidden_size + 1) * output_size


def matched_hidden_size(cell: str, input_size: int, output_size: int, budget: int) -> int:
    """The hidden size (1-1024) whose parameter count is closest to ``budget`` (the count grows with it)."""
    low, high = 1, 1024
    while low < high:  # the smallest size with at least ``budget`` parameters
        middle = (low + high) // 2
        low, high = (middle + 1, high) if parameter_count(cell, input_size, middle, output_size) < budget else (
            low, middle)
    return min({max(low - 1, 1), low}, key=lambda h: abs(parameter_count(cell, input_size, h, output_size) - budget))


def build_model(problem: LongLagProblem, cell: str,
                config: MemoryDemoConfig) -> SequenceClassifier | SequenceRegressor:
    """The model for one job: ``cell`` with the LSTM's parameter count, the classifier or the regressor."""
    budget = parameter_count("lstm", problem.input_size, config.lstm_hidden_size, problem.output_size)
    hidden = matched_hidden_size(cell, problem.input_size, problem.output_size, budget)
    encoder = EncoderConfig(input_size=problem.input_size, rnn=recurrent_config(cell, hidden, problem.lag),
                            pooling="last")
    if problem.kind == "adding":  # solved: absolute error < 0.04 (the paper's criterion)
        return SequenceRegressor(SequenceRegressorConfig(encoder, output_size=problem.output_size, tolerance=0.04))
    return SequenceClassifier(SequenceClassifierConfig(encoder, num_classes=problem.output_size))


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and test one cell on one problem at one lag (runs in a worker process)."""
    torch.set_num_threads(1)
    config = MemoryDemoConfig(**job["config"])
    problem = LongLagProblem(PROBLEMS[job["problem"]], job["lag"])
    seed = config.seed * 1000 + job["index"]
    torch.manual_seed(seed)
    model = build_model(problem, job["cell"], config)
    validation = [problem.sample(config.validation_size, torch.Generator().manual_seed(seed + 10**6))]
    test = problem.sample(config.test_size, torch.Generator().manual_seed(seed + 2 * 10**6))
    probe = tuple(t[: config.gradient_batch] for t in validation[0])
    traced = job["cell"] not in MIN_CELLS  # state_gradient_norms follows one layer's states step by step
    gradients_at_init = state_gradient_norms(model, *probe) if traced else None

    train = FreshBatches(problem, config.batch_size, config.eval_every, seed)
    solved = StopWhenSolved()
    trainer = Trainer(model, TrainConfig(
        max_epochs=config.max_steps // config.eval_every, batch_size=1, shuffle=False,
        lr=MIN_CELL_LR if job["cell"] in MIN_CELLS else config.lr,
        weight_decay=0.0, monitor="val_accuracy", mode="max", seed=seed, progress="none", device="cpu",
    ), callbacks=[NextEpoch(train), solved])
    started = time.perf_counter()
    result = trainer.fit(train, validation, collate_fn=first)
    seconds = time.perf_counter() - started

    test_metrics = trainer.evaluate([test], collate_fn=first)
    if job.get("models_dir"):
        save_model(model, Path(job["models_dir"]) / f"{job['problem']}-{job['cell']}-{job['lag']}", overwrite=True)
    return {
        "problem": job["problem"], "lag": job["lag"], "cell": job["cell"],
        "hidden_size": model.config.encoder.rnn.hidden_size, "parameters": sum(p.numel() for p in model.parameters()),
        "solved": test_metrics["accuracy"] >= SOLVED_ACCURACY,
        "test_accuracy": test_metrics["accuracy"], "test_loss": test_metrics["loss"],
        "test_mae": test_metrics.get("mae"),
        "steps_to_solve": solved.solved_at, "steps": trainer.step, "seconds": seconds,
        "stopped": result.stopped_reason,
        "history": [{k: v for k, v in row.items() if k in ("step", "train_loss", "val_loss", "val_accuracy")}
                    for row in result.history],
        "gradient_norms_init": gradients_at_init.tolist() if traced else [],
        "gradient_norms_trained": state_gradient_norms(model, *probe).tolist() if traced else [],
    }


def run_memory_demo(config: MemoryDemoConfig, models_dir: Optional[Path] = None, on_result=None) -> list[dict]:
    """Run every problem x lag x cell; ``on_result(result)`` is called as each finishes (for progress)."""
    jobs = [
        {"config": asdict(config), "problem": problem, "lag": lag, "cell": cell, "index": index,
         "models_dir": str(models_dir) if models_dir else None}
        for index, (problem, lag, cell) in enumerate(
            (p, lag, c) for p in config.problems for lag in config.lags for c in config.cells)
    ]
    # Longest jobs first keeps both workers busy to the end.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i]["lag"])
    results: list[Optional[dict]] = [None] * len(jobs)
    if config.workers <= 1:
        for i in order:
            results[i] = run_job(jobs[i])
            if on_result:
                on_result(results[i])
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(config.workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_job, jobs[i]): i for i in order}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result:
                on_result(results[futures[future]])
    return results  # type: ignore[return-value]

