"""Airline passengers: forecast the 12 months of 1960 from 1949-1959, beside the classical baselines.

    .venv/bin/python bench/forecast_airline.py            # selection (~5 min on 1 core) + 5 final seeds
    .venv/bin/python bench/forecast_airline.py --quick    # a 2-config grid, to check the script

Protocol (1960 is never read before the configuration is fixed):
1. Selection on 1949-1959 only: every configuration of the grid is backtested with rolling origins at the ends
   of 1956, 1957 and 1958 (forecasting 1957, 1958 and 1959), for seeds 0-2; the lowest mean MAPE wins.
2. The winner is fitted on 1949-1959 with seeds 0-4; each forecasts 1960. Reported: every seed's MAPE and the
   median, beside seasonal naive, the airline SARIMA model and Holt-Winters fitted on the same 132 months.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.datasets import load_airline
from rnnkit.eval.baselines import backtest_baselines
from rnnkit.eval.forecast_metrics import format_table, mape, score
from rnnkit.pipelines.forecaster import Forecaster

BASE = dict(target="passengers", time="month", horizon=12)
GRID = {"transform": ["none", "log"], "steps": [300, 1000], "hidden_size": [16, 64], "weight_decay": [0.0, 0.1]}
QUICK = {"transform": ["log"], "steps": [300], "hidden_size": [16, 64], "weight_decay": [0.0]}
TRAIN_ROWS = 132  # 1949-01 .. 1959-12


def forecaster(options: dict, seed: int) -> Forecaster:
    """A forecaster with a grid point's ``options`` (transform; hidden_size; steps, weight_decay) and ``seed``."""
    return Forecaster(**BASE, transform=options["transform"], model={"rnn": {"hidden_size": options["hidden_size"]}},
                      train={"max_steps": options["steps"], "weight_decay": options["weight_decay"], "seed": seed})


def validation_mape(options: dict, train, seeds=(0, 1, 2)) -> float:
    scores = []
    for seed in seeds:
        table = forecaster(options, seed).backtest(train, folds=3)
        scores += [score(fold)["MAPE"] for _, fold in table.groupby("origin_time")]
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small recurrent models: one thread is fastest, and the machine is shared
    started = time.time()
    data = load_airline()
    train, test = data.iloc[:TRAIN_ROWS], data["passengers"].to_numpy(float)[TRAIN_ROWS:]

    grid = QUICK if args.quick else GRID
    ranked = []
    for values in itertools.product(*grid.values()):
        options = dict(zip(grid, values))
        ranked.append((validation_mape(options, train), options))
        print(f"validation MAPE {ranked[-1][0]:6.3f}  {options}", flush=True)
    best_score, best = min(ranked, key=lambda pair: pair[0])
    print(f"chosen on 1957-1959 (validation MAPE {best_score:.3f}): {best}", flush=True)

    results = []
    for seed in range(5):
        forecast = forecaster(best, seed).fit(train).predict()["forecast"].to_numpy()
        results.append(mape(test, forecast))
    print("rnnkit 1960 MAPE by seed:", [round(r, 3) for r in results], flush=True)

    panel = Forecaster(**BASE).read(data)
    table = backtest_baselines(panel, 12, folds=1, names=("seasonal_naive", "sarima", "holt_winters"))
    rows = [{"model": "rnnkit (median of 5 seeds)", "MAPE_1960": statistics.median(results)}]
    rows += [{"model": name, "MAPE_1960": score(table[table["model"] == name])["MAPE"]}
             for name in ("seasonal_naive", "sarima", "holt_winters")]
    print(format_table(rows))
    print(f"wall time {time.time() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps({"chosen": best, "validation_mape": best_score, "grid": [
            {"options": o, "validation_mape": s} for s, o in ranked], "seeds": results, "table": rows}, indent=2))


if __name__ == "__main__":
    main()
