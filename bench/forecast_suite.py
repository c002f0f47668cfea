"""rnnkit's default (``AutoForecaster`` at one budget) on a suite of 22 monthly and quarterly series, beside
statsforecast's AutoETS, AutoARIMA and AutoTheta, and Darts' RNNModel and NeuralForecast's LSTM given the same wall
time: one table of mean MASE, sMAPE and 80% interval coverage.

    /tmp/benchenv/bin/python bench/forecast_suite_stats.py --out runs/suite_stats.json     # the statistical side
    /tmp/peerenv/bin/python bench/forecast_suite_peers.py --rnnkit runs/suite.json --out runs/suite_peers.json  # the
        # deep-learning peers, each capped at the seconds rnnkit took per series in an earlier run's JSON
    .venv/bin/python bench/forecast_suite.py --stats runs/suite_stats.json runs/suite_peers.json --out runs/suite.json
    .venv/bin/python bench/forecast_suite.py --dev ...     # the span before the test span (design decisions)
    .venv/bin/python bench/forecast_suite.py --merge A.json B.json --out all.json  # one table from runs that
        # split the series with --only (one per core)

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

from suite_data import mase, suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dev", action="store_true", help="score on the span before the test span")
    parser.add_argument("--stats", type=Path, nargs="*", default=[],
                        help="forecast_suite_stats.py's and forecast_suite_peers.py's JSON (same --dev)")
    parser.add_argument("--only", nargs="*", help="series names (package/item) to run")
    parser.add_argument("--out", type=Path, help="write per-series results and the table as JSON here")
    parser.add_argument("--merge", type=Path, nargs="+", help="--out JSONs of runs over parts of the suite: their "
                        "table together (nothing is run)")
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        per_series = {name: result for part in parts for name, result in part["series"].items()}
        report(per_series, parts[0]["budget"], parts[0]["dev"], parts[0]["seed"], args.out,
               f"parts {', '.join(map(str, args.merge))}")
        return
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
    report(per_series, args.budget, args.dev, args.seed, args.out, f"wall time {time.time() - started:.0f} s")


def report(per_series: dict, budget: str, dev: bool, seed: int, out: Path | None, note: str) -> None:
    """The table of every model's mean and median MASE, mean sMAPE and 80% coverage over ``per_series``."""
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
    print(f"budget {budget}, {'dev span' if dev else 'test span'}, {note}")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"budget": budget, "dev": dev, "seed": seed, "table": table,
                                   "series": per_series}, indent=1))


if __name__ == "__main__":
    main()
