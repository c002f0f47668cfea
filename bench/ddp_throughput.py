"""Data parallel on CPU: 2 processes x 1 thread (torchrun, gloo) against 1 process x 2 threads (and x 1 thread),
and the step's compute / communication split from which the scaling on a larger machine is estimated.

    .venv/bin/python bench/ddp_throughput.py                  # about 40 s: LSTM 64 classifier, 60 timed steps
    .venv/bin/python bench/ddp_throughput.py --steps 300 --hidden-size 128 --batch-size 128

The same model (a ``SequenceClassifier``, LSTM, last-step pooling), data (random sequences of 8 features), global
batch and steps in both; the first ``--warmup`` steps are not timed. The 2-process run is what ``--nproc 2
--threads 1`` does (``rnnkit.train.distributed.launch``). Rank 0 then times, in the same process group, an
all-reduce of the gradient's size and of one number (the trainer's three per-step scalars: the global loss and
weight, the stop flag): communication. The rest of a step is compute.

Estimate for N processes on N free cores (one thread each), ring all-reduce:
    step(N) = compute(B) / N + 2 (N-1) / N * bytes / bandwidth + 2 (N-1) * latency * (1 + 3 scalars)
with compute(B) the step of 1 process x 1 thread, bandwidth and latency read off the two measured all-reduces
(N = 2: 2 hops, 1 x bytes). Compute is taken as linear in the per-rank batch, which is optimistic for small
per-rank batches (less work per kernel call). On a machine busy with other work every figure is slowed by the
contention, the 2-process run and the 2-thread run most: read the ratios with the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.sequences import pad_collate
from rnnkit.tasks import SequenceClassifier
from rnnkit.train import Callback, TrainConfig, Trainer, seed_everything
from rnnkit.train.distributed import launch


class Clock(Callback):
    """Wall time from the end of step ``warmup`` to the end of the fit."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.started, self.seconds = warmup, 0.0, 0.0

    def on_batch_end(self, trainer: Trainer) -> None:
        if trainer.step == self.warmup:
            self.started = time.perf_counter()

    def on_fit_end(self, trainer: Trainer) -> None:
        self.seconds = time.perf_counter() - self.started


def fit(args: argparse.Namespace, distributed: bool) -> tuple[Trainer, float]:
    seed_everything(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.batch_size * 8, args.length, 8)).astype(np.float32)
    y = rng.integers(0, 4, len(X))
    model = SequenceClassifier.for_data(X, y, hidden_size=args.hidden_size)
    clock = Clock(args.warmup)
    config = TrainConfig(batch_size=args.batch_size, max_steps=args.warmup + args.steps, max_epochs=10**6,
                         progress="none")
    trainer = Trainer(model, config, [clock], distributed=distributed)
    trainer.fit(model.dataset(X, y), collate_fn=pad_collate)
    return trainer, args.steps * args.batch_size / clock.seconds


def all_reduce_seconds(numel: int, repeats: int = 50) -> float:
    tensor = torch.zeros(numel)
    torch.distributed.all_reduce(tensor)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.distributed.all_reduce(tensor)
    return (time.perf_counter() - started) / repeats


def worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    trainer, rate = fit(args, distributed=True)
    parameters = sum(p.numel() for p in trainer.model.parameters())
    gradient, scalar = all_reduce_seconds(parameters), all_reduce_seconds(1)
    if trainer.world.is_main:
        Path(args.worker).write_text(json.dumps({"rate": rate, "parameters": parameters, "gradient_s": gradient,
                                                 "scalar_s": scalar}))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # set by the launch: where rank 0 writes its figures
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    rates = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rates[threads] = fit(args, distributed=False)[1]
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "ddp.json"
        status = launch([__file__, *argv, "--worker", str(figures)], 2, threads=1)
        if status:
            sys.exit(f"the 2-process run failed (exit status {status})")
        ddp = json.loads(figures.read_text())
    step = args.batch_size / ddp["rate"]  # seconds per optimizer step, 2 processes
    communication = ddp["gradient_s"] + 3 * ddp["scalar_s"]
    compute = step - communication
    latency = ddp["scalar_s"] / 2  # two hops of a 2-rank ring
    bandwidth = 4 * ddp["parameters"] / max(ddp["gradient_s"] - 2 * latency, 1e-9)  # bytes/s
    print(f"LSTM {args.hidden_size} classifier, {ddp['parameters']} parameters, global batch {args.batch_size}, "
          f"{args.length} steps per sequence, {args.steps} timed optimizer steps")
    for threads, rate in rates.items():
        print(f"{f'1 process x {threads} thread(s)':<26}{rate:10.0f} sequences/s")
    print(f"{'2 processes x 1 thread':<26}{ddp['rate']:10.0f} sequences/s   ratio to 1 x 2 threads "
          f"{ddp['rate'] / rates[2]:.2f}, to 1 x 1 thread {ddp['rate'] / rates[1]:.2f}")
    print(f"2-process step {1e3 * step:.2f} ms = compute {1e3 * compute:.2f} ms + communication "
          f"{1e3 * communication:.2f} ms (gradient all-reduce {1e3 * ddp['gradient_s']:.2f} ms, "
          f"scalar all-reduce {1e3 * ddp['scalar_s']:.3f} ms x 3)")
    one = args.batch_size / rates[1]  # one process, one thread: the whole batch's step
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; speed-up over 1 process x 1 thread "
          f"estimated on N free cores (see the docstring):", end="")
    for n in (2, 4, 8, 16, 32):
        hops = 2 * (n - 1)
        estimate = one / n + hops / n * 4 * ddp["parameters"] / bandwidth + hops * latency * 4
        print(f"  N={n}: x{one / estimate:.1f}", end="")
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
