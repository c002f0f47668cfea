"""Airline passengers: rnnkit's default (``AutoForecaster`` at one budget) forecasts 1960 from 1949-1959, beside
the classical baselines fitted on the same 132 months.

    .venv/bin/python bench/forecast_airline.py [--budget 3m] [--seeds 0 1 2 3 4] [--out FILE]

Protocol (1960 is never read before each model is fixed): for each seed, ``AutoForecaster(budget=...)`` with the
defaults runs its selection on 1949-1959 only (rolling-origin folds inside that span) and fits its final model;
then its 1960 forecast is scored. Reported: each seed's MAPE of the chosen model and of the recurrent ensemble
alone, their medians, the 80% interval coverage, and seasonal naive, the airline SARIMA, Holt-Winters and Theta.
One torch thread (small models run fastest on one, and the machine is shared). ``--dev``: the same on
1949-1958, scored on 1959 (a span of the training data, for design decisions; 1960 is not read).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.datasets import load_airline
from rnnkit.eval.baselines import backtest_baselines
from rnnkit.eval.forecast_metrics import coverage, format_table, mape, score
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.pipelines.select import AutoForecaster
from rnnkit.pipelines.select.forecast import DEFAULT_BUDGET

TRAIN_ROWS = 132  # 1949-01 .. 1959-12
BASELINES = ("seasonal_naive", "sarima", "holt_winters", "theta")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--dev", action="store_true", help="train on 1949-1958, score 1959")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = TRAIN_ROWS - 12 if args.dev else TRAIN_ROWS
    data = load_airline().iloc[:rows + 12]
    train = data.iloc[:rows]
    runs = []
    for seed in args.seeds:
        started = time.time()
        auto = AutoForecaster(target="passengers", time="month", horizon=12, budget=args.budget, progress="none",
                              train={"seed": seed}).fit(train)
        forecast = auto.predict()
        seconds = time.time() - started
        test = data["passengers"].to_numpy(float)[rows:]  # read once the model is fixed
        runs.append({"seed": seed, "chosen": auto.summary["chosen"],
                     "MAPE": mape(test, forecast["forecast"].to_numpy()),
                     "MAPE_rnn_alone": mape(test, forecast["rnn"].to_numpy()), "seconds": round(seconds, 1),
                     "coverage_80": coverage(test, forecast["q0.1"].to_numpy(), forecast["q0.9"].to_numpy()),
                     "fold_mase": auto.summary["fold_mase"], "table": auto.table})
        print(f"seed {seed}: MAPE {runs[-1]['MAPE']:.3f} (recurrent ensemble alone {runs[-1]['MAPE_rnn_alone']:.3f})"
              f", 80% coverage {runs[-1]['coverage_80']:.2f}, chosen {runs[-1]['chosen']}, {seconds:.0f} s",
              flush=True)
    panel = Forecaster(target="passengers", time="month", horizon=12).read(data)
    table = backtest_baselines(panel, 12, folds=1, names=BASELINES)
    year = "MAPE_1959" if args.dev else "MAPE_1960"
    table_rows = [{"model": f"rnnkit default, budget {args.budget} (median of {len(runs)} seeds)",
                   year: statistics.median(r["MAPE"] for r in runs)},
                  {"model": "rnnkit recurrent ensemble alone (median)",
                   year: statistics.median(r["MAPE_rnn_alone"] for r in runs)}]
    table_rows += [{"model": name, year: score(table[table["model"] == name])["MAPE"]} for name in BASELINES]
    print(format_table(table_rows))
    print(f"80% coverage per seed {[round(r['coverage_80'], 2) for r in runs]}; "
          f"wall time per seed {[r['seconds'] for r in runs]} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"budget": args.budget, "dev": args.dev, "runs": runs, "table": table_rows},
                                       indent=1,
                                       default=float))


if __name__ == "__main__":
    main()
