"""Electricity demand (Victoria 2014, half-hourly): day-ahead rolling backtest with the temperature covariate.

    .venv/bin/python bench/forecast_elecdemand.py                  # test: the last 28 days (~2 min on 1 core)
    .venv/bin/python bench/forecast_elecdemand.py --validation     # the 28 days before them, for choices

Every day of the window at midnight, each model forecasts the next 48 half-hours from the rows before. rnnkit
reads temperature and workday as known-future covariates (the recorded values: a perfect weather forecast) and the
calendar; it is fitted once on the rows before the window's first origin (retrain=False). The baselines refit at
every origin on the last 4 weeks: seasonal naive (yesterday, m = 48; and last week, m = 336) and Holt-Winters
(m = 48). MASE divides by the in-sample seasonal naive (m = 48) error, the same scale for every model.
Any configuration choice is made with ``--validation``, never on the test window.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from rnnkit.datasets import load_elecdemand
from rnnkit.eval.baselines import backtest_baselines
from rnnkit.eval.forecast_metrics import format_table, score_table
from rnnkit.pipelines.forecaster import Forecaster

DAY, DAYS = 48, 28
OPTIONS = dict(target="demand", time="time", future_covariates=("temperature", "workday"), horizon=DAY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", action="store_true", help="backtest the 28 days before the test window")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the score table as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small recurrent models: one thread is fastest, and the machine is shared
    started = time.time()
    data = load_elecdemand()
    if args.validation:
        data = data.iloc[:-DAYS * DAY]  # the test window is never read
    forecaster = Forecaster(**OPTIONS, model={"rnn": {"hidden_size": args.hidden_size}},
                            train={"max_steps": args.steps, "seed": args.seed})
    panel = forecaster.read(data)
    table = forecaster.backtest(panel, folds=DAYS, stride=DAY, retrain=False)
    fitted = time.time() - started
    baselines = backtest_baselines(panel, DAY, DAYS, DAY, ("seasonal_naive", "holt_winters"), max_history=28 * DAY)
    weekly = backtest_baselines(panel, DAY, DAYS, DAY, ("seasonal_naive",), season=7 * DAY, max_history=28 * DAY)
    weekly["model"] = "seasonal_naive_weekly"
    table = pd.concat([table, baselines, weekly], ignore_index=True)
    rows = score_table(table, forecaster.config.model.quantiles)
    window = f"{table['time'].min()} .. {table['time'].max()}"
    print(f"{'validation' if args.validation else 'test'} window {window}, {DAYS} day-ahead origins")
    print(format_table(rows))
    print(f"rnnkit fit + backtest {fitted:.0f} s; wall time {time.time() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps({"window": window, "rows": rows, "steps": args.steps,
                                        "hidden_size": args.hidden_size, "seed": args.seed}, indent=2))


if __name__ == "__main__":
    main()
