"""Training speed: rnnkit's Forecaster against a bare PyTorch loop (and Darts' RNNModel when installed).

    .venv/bin/python bench/forecast_speed.py            # elecdemand demand, lookback 96 -> horizon 48, 2 epochs

The same windows (every lookback -> horizon window of the series), batch size, epochs, optimizer (Adam, lr 1e-3)
and one thread for all. rnnkit and the bare loop train the very same network (``ForecastModel``: LSTM 64 and a
direct multi-horizon head): the bare loop stacks every window into one tensor up front and runs
``zero_grad / loss / backward / clip / step`` over shuffled slices, nothing else, so the ratio is rnnkit's
overhead (reading and checking the table, scalers, windows, the trainer's checks and bookkeeping). Darts'
RNNModel (LSTM 64, its own head, ``input_chunk_length`` = 96, ``training_length`` = 144) is timed on the same
series and epochs when the package is importable; its ratio is reported, not judged. Wall-clock seconds of
fitting, data preparation included.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rnnkit.datasets import load_elecdemand
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.tasks.models.forecasting import ForecastModel

LOOKBACK, HORIZON, HIDDEN, BATCH, LR = 96, 48, 64, 32, 1e-3
OPTIONS = dict(target="demand", time="time", horizon=HORIZON, lookback=LOOKBACK, calendar=False,
               model={"rnn": {"hidden_size": HIDDEN}, "output": "point"},
               train={"batch_size": BATCH, "lr": LR, "progress": "none"})


def fit_rnnkit(frame, epochs: int) -> tuple[float, ForecastModel]:
    windows = len(frame) - LOOKBACK - HORIZON + 1
    steps = epochs * -(-windows // BATCH)
    started = time.perf_counter()
    forecaster = Forecaster(**{**OPTIONS, "train": {**OPTIONS["train"], "max_steps": steps}}).fit(frame)
    return time.perf_counter() - started, forecaster.model


def fit_bare(frame, epochs: int, like: ForecastModel) -> float:
    """The same network trained by a hand-written loop; windows gathered once, up front."""
    started = time.perf_counter()
    y = frame["demand"].to_numpy(np.float32)
    y = (y - y.mean()) / y.std()
    starts = np.arange(len(y) - LOOKBACK - HORIZON + 1)
    series = torch.from_numpy(y)
    past = series[starts[:, None] + np.arange(LOOKBACK)].unsqueeze(-1)  # (W, L, 1)
    target = series[starts[:, None] + LOOKBACK + np.arange(HORIZON)].unsqueeze(-1)  # (W, H, 1)
    future = torch.zeros(len(starts), HORIZON, 0)
    torch.manual_seed(0)
    model = ForecastModel(like.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(epochs):
        order = torch.randperm(len(starts))
        for i in range(0, len(order), BATCH):
            index = order[i:i + BATCH]
            optimizer.zero_grad()
            loss = model.loss_from_output(model(past[index], future[index]), target[index])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # as rnnkit's default: same training
            optimizer.step()
    return time.perf_counter() - started


def fit_darts(frame, epochs: int) -> float | None:
    try:
        from darts import TimeSeries
        from darts.models import RNNModel
    except ImportError:
        return None
    started = time.perf_counter()
    series = TimeSeries.from_dataframe(frame, "time", "demand").astype(np.float32)
    model = RNNModel(model="LSTM", hidden_dim=HIDDEN, input_chunk_length=LOOKBACK,
                     training_length=LOOKBACK + HORIZON, batch_size=BATCH, n_epochs=epochs,
                     optimizer_kwargs={"lr": LR}, random_state=0,
                     pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "logger": False,
                                        "enable_checkpointing": False, "enable_model_summary": False})
    model.fit(series, verbose=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=17520, help="rows of the series to use")
    args = parser.parse_args()
    torch.set_num_threads(1)
    frame = load_elecdemand().iloc[:args.rows][["time", "demand"]]
    rnnkit_seconds, model = fit_rnnkit(frame, args.epochs)
    bare_seconds = fit_bare(frame, args.epochs, model)
    rnnkit_seconds_2, _ = fit_rnnkit(frame, args.epochs)  # twice, interleaved: the machine is shared
    bare_seconds_2 = fit_bare(frame, args.epochs, model)
    darts_seconds = fit_darts(frame, args.epochs)
    rnnkit_best, bare_best = min(rnnkit_seconds, rnnkit_seconds_2), min(bare_seconds, bare_seconds_2)
    windows = len(frame) - LOOKBACK - HORIZON + 1
    print(f"{windows} windows x {args.epochs} epochs, batch {BATCH}, LSTM {HIDDEN}, 1 thread")
    print(f"bare PyTorch loop  {bare_best:7.2f} s  (runs: {bare_seconds:.2f}, {bare_seconds_2:.2f})")
    print(f"rnnkit Forecaster  {rnnkit_best:7.2f} s  (runs: {rnnkit_seconds:.2f}, {rnnkit_seconds_2:.2f})  "
          f"ratio {rnnkit_best / bare_best:.3f}")
    if darts_seconds is None:
        print("darts RNNModel     not installed (pip install 'darts[torch]' beside torch to time it)")
    else:
        print(f"darts RNNModel     {darts_seconds:7.2f} s  ratio to the bare loop {darts_seconds / bare_best:.3f}")


if __name__ == "__main__":
    main()
