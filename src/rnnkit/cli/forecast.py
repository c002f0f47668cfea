"""``rnnkit forecast train`` and ``rnnkit forecast predict``: argument parsing over ``rnnkit.Forecaster``.

    rnnkit forecast train --out runs/air                               # the shipped airline series
    rnnkit forecast train sales.csv --target sales --time date --id store --horizon 14 --covariates promo --out DIR
    rnnkit forecast predict DIR --data new.csv --horizon 7 --out DIR/next
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli import common
from rnnkit.pipelines import forecast as pipeline

SKIP = ("forecaster.model.rnn.bidirectional",)  # the network's state carries the past forward


def register(subparsers) -> None:
    parser = subparsers.add_parser("forecast", help="forecast time series (CSV/Parquet) with a recurrent network",
                                   description="Train, backtest against classical baselines, and forecast.")
    commands = parser.add_subparsers(dest="forecast_command", metavar="{train,predict}", required=True)
    common.add_train_command(commands, pipeline.RECIPE, pipeline.ForecastSettings, skip=SKIP,
                             help="fit, backtest and forecast; writes the model folder",
                             description="Fit on all the data, backtest (rolling origins, beside the baselines), "
                             "forecast the horizon after it. Writes model/, forecast.csv, backtest.csv, "
                             "metrics.json and report.html into --out.")

    predict = commands.add_parser("predict", help="forecast with a trained model; writes forecast.csv",
                                  description="Forecast after the end of the training data, or of --data.")
    predict.add_argument("model", type=Path, metavar="DIR", help="a `forecast train` --out folder, or its model/")
    predict.add_argument("--data", type=Path, metavar="NEWDATA", help="recent history (and future covariate rows)")
    predict.add_argument("--horizon", type=common.positive_int, help="steps (at most the model's horizon)")
    common.add_run_options(predict)
    predict.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    pipeline.predict_forecaster(args.model, args.data, out, horizon=args.horizon)
    print(f"wrote {out}/: forecast.csv, metrics.json, report.html")
    return 0
