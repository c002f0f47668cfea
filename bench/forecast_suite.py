"""rnnkit's default (``AutoForecaster`` at one budget) on a suite of 22 monthly and quarterly series, beside
statsforecast's AutoETS, AutoARIMA and AutoTheta, and Darts' RNNModel and NeuralForecast's LSTM given the same wall
time: one table of mean MASE, sMAPE and 80% interval coverage.

    /tmp/benchenv/bin/python bench/forecast_suite_stats.py --out runs/suite_stats.json     # the statistical side
    /tmp/peerenv/bin/python bench/forecast_suite_peers.py --rnnkit runs/suite.json --out runs/suite_peers.json  # the
        # deep-learning peers, each capped at the seconds rnnkit took per series in an earlier run's JSON
    .venv/bin/python bench/forecast_suite.py --stats runs/suite_stats.json runs/suite_peers.json --out runs/suite.json
    .venv/bin/python bench/forecast_suite.py --dev ...     # the span before the test span (design decisions)

Protocol: each series' held-out span (``bench/suite_data.py``: the last 12 months, or 8 quarters) is read only
after its model is fitted; the selection runs on the rest with the default settings and ``--budget``. MASE
divides by the in-sample seasonal naive MAE of the training span (as M4). One torch thread (small models run
fastest on one, and the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.eval.forecast_metrics import coverage, format_table, smape
from rnnkit.pipelines.select import AutoForecaster
from rnnkit.pipelines.select.forecast import DEFAULT_BUDGET

from suite_data import suite


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(train[season:] - train[:-season])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dev", action="store_true", help="score on the span before the test span")
    parser.add_argument("--stats", type=Path, nargs="*", default=[],
                        help="forecast_suite_stats.py's and forecast_suite_peers.py's JSON (same --dev)")
    parser.add_argument("--only", nargs="*", help="series names (package/item) to run")
    parser.add_argument("--out", type=Path, help="write per-series results and the table as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    stats = {}
    for path in args.stats:
        for name, models in json.loads(path.read_text()).items():
            stats.setdefault(name, {}).update(models)
    per_series, started = {}, time.time()
    for name, frame, season, horizon in suite(dev=args.dev):
        if args.only and name not in args.only:
            continue
        train, test = frame.iloc[:-horizon], frame["value"].to_numpy(float)[-horizon:]
        clock = time.time()
        auto = AutoForecaster(target="value", time="time", horizon=horizon, budget=args.budget, progress="none",
                              train={"seed": args.seed}).fit(train)
        forecast = auto.predict()
        seconds = time.time() - clock
        y = train["value"].to_numpy(float)
        rows = {"rnnkit": (forecast["forecast"], forecast["q0.1"], forecast["q0.9"]),
                "rnnkit RNN alone": (forecast["rnn"], None, None)}
        for model, result in stats.get(name, {}).items():
            rows[model] = (np.asarray(result["forecast"]), np.asarray(result["lo80"]), np.asarray(result["hi80"]))
        per_series[name] = {
            model: {"MASE": mase(test, np.asarray(f), y, season), "sMAPE": smape(test, np.asarray(f)),
                    "coverage_80": None if lo is None else coverage(test, np.asarray(lo), np.asarray(hi))}
            for model, (f, lo, hi) in rows.items()}
        per_series[name]["rnnkit"].update(seconds=round(seconds, 1), chosen=auto.summary["chosen"])
        print(f"{name}: {seconds:.0f} s, chosen {auto.summary['chosen']}; MASE "
              + ", ".join(f"{m} {r['MASE']:.3f}" for m, r in per_series[name].items()), flush=True)
    models = list(dict.fromkeys(model for result in per_series.values() for model in result))
    table = []
    for model in models:
        scored = [result[model] for result in per_series.values() if model in result]
        covered = [r["coverage_80"] for r in scored if r["coverage_80"] is not None]
        table.append({"model": model, "series": len(scored), "mean MASE": statistics.mean(r["MASE"] for r in scored),
                      "median MASE": statistics.median(r["MASE"] for r in scored),
                      "mean sMAPE": statistics.mean(r["sMAPE"] for r in scored),
                      "coverage 80%": statistics.mean(covered) if covered else None})
    print(format_table(table))
    print(f"budget {args.budget}, {'dev span' if args.dev else 'test span'}, wall time {time.time() - started:.0f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"budget": args.budget, "dev": args.dev, "seed": args.seed,
                                        "table": table, "series": per_series}, indent=1))


if __name__ == "__main__":
    main()
