"""``rnnkit forecast train`` and ``rnnkit forecast predict``: argument parsing over ``rnnkit.Forecaster``.

    rnnkit forecast train --out runs/air                               # the shipped airline series
    rnnkit forecast train sales.csv --target sales --time date --id store --horizon 14 --covariates promo --out DIR
    rnnkit forecast predict DIR --data new.csv --horizon 7 --out DIR/next
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnnkit.cli import common


def register(subparsers) -> None:
    parser = subparsers.add_parser("forecast", help="forecast time series (CSV/Parquet) with a recurrent network",
                                   description="Train, backtest against classical baselines, and forecast.")
    commands = parser.add_subparsers(dest="forecast_command", metavar="{train,predict}", required=True)

    train = commands.add_parser("train", help="backtest, fit and forecast; writes the model folder",
                                description="Backtest (rolling origins, beside the baselines), fit on all the data, "
                                "forecast the horizon after it. Writes model/, forecast.csv, backtest.csv, "
                                "metrics.json and report.html into --out.")
    train.add_argument("data", nargs="?", type=Path, metavar="DATA",
                       help="CSV or Parquet file (default: the shipped monthly airline passengers, 1949-1960)")
    columns = train.add_argument_group("columns")
    columns.add_argument("--target", nargs="+", metavar="COL", help="target column(s) (required with DATA)")
    columns.add_argument("--time", metavar="COL", help="time column (default: rows are consecutive steps)")
    columns.add_argument("--id", metavar="COL", help="series id column: many series in long format, one model")
    columns.add_argument("--covariates", nargs="+", default=[], metavar="COL",
                         help="known-future covariates (temperature forecast, holidays): give their values in "
                         "rows after the last target value to forecast with them")
    columns.add_argument("--past-covariates", nargs="+", default=[], metavar="COL",
                         help="covariates known only up to the forecast origin")
    checks = train.add_argument_group("time index")
    checks.add_argument("--freq", help="pandas frequency alias ('MS', 'D', '30min'); default: inferred")
    checks.add_argument("--fill", choices=["interpolate", "ffill", "zero"],
                        help="fill gaps and missing values this way (default: report them as errors)")
    checks.add_argument("--sort", action="store_true", help="sort unsorted timestamps instead of refusing them")
    model = train.add_argument_group("model")
    model.add_argument("--horizon", type=common.positive_int, help="steps to forecast (default: one season)")
    model.add_argument("--lookback", type=common.positive_int, help="steps read (default: 2 x max(horizon, season))")
    model.add_argument("--transform", choices=["none", "log"], default="none",
                       help="log: model log(y), for growth and multiplicative seasons (default: none)")
    model.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    model.add_argument("--hidden-size", type=common.positive_int, default=64)
    model.add_argument("--num-layers", type=common.positive_int, default=1)
    model.add_argument("--decoder", choices=["direct", "autoregressive"], default="direct")
    model.add_argument("--output", choices=["quantile", "normal", "point"], default="quantile")
    model.add_argument("--quantiles", nargs="+", type=float, default=[0.1, 0.5, 0.9], metavar="Q")
    model.add_argument("--no-calendar", action="store_true", help="no calendar features from the time column")
    fit = train.add_argument_group("training")
    fit.add_argument("--steps", type=common.positive_int, default=1000, help="optimizer steps (default: 1000)")
    fit.add_argument("--batch-size", type=common.positive_int, default=32)
    fit.add_argument("--lr", type=float, default=3e-3)
    fit.add_argument("--validation", type=common.non_negative_int, default=0,
                     help="rows at each series' end held out to keep the best epoch (default: 0)")
    fit.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="none")
    backtest = train.add_argument_group("backtest")
    backtest.add_argument("--folds", type=common.non_negative_int, default=3, help="origins (0: no backtest)")
    backtest.add_argument("--stride", type=common.positive_int, help="steps between origins (default: horizon)")
    backtest.add_argument("--no-retrain", action="store_true", help="fit once before the first origin")
    backtest.add_argument("--baselines", nargs="*", default=["seasonal_naive", "holt_winters", "sarima"],
                          choices=["naive", "seasonal_naive", "holt_winters", "sarima"], metavar="NAME",
                          help="naive, seasonal_naive, holt_winters, sarima (default: the last three)")
    backtest.add_argument("--max-history", type=common.positive_int,
                          help="rows before each origin the baselines fit on (default: all)")
    common.add_run_options(train)
    train.set_defaults(func=run_train)

    predict = commands.add_parser("predict", help="forecast with a trained model; writes forecast.csv",
                                  description="Forecast after the end of the training data, or of --data.")
    predict.add_argument("model", type=Path, metavar="DIR", help="a `forecast train` --out folder, or its model/")
    predict.add_argument("--data", type=Path, metavar="NEWDATA", help="recent history (and future covariate rows)")
    predict.add_argument("--horizon", type=common.positive_int, help="steps (at most the model's horizon)")
    common.add_run_options(predict)
    predict.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    from rnnkit.datasets.airline import PATH, TARGET, TIME
    from rnnkit.errors import UserError
    from rnnkit.eval.forecast_metrics import format_table
    from rnnkit.eval.reports import write_metrics
    from rnnkit.eval.reports.forecast import compare, forecast_report
    from rnnkit.integrations.forecaster import Forecaster

    if args.data is None:  # the shipped default: airline passengers, monthly
        args.data, args.target, args.time = PATH, args.target or [TARGET], args.time or TIME
    if not args.target:
        raise UserError("--target COL is required with DATA")
    out = common.prepare_out_dir(args.out, args.force)
    forecaster = Forecaster(
        target=tuple(args.target), time=args.time, id=args.id, future_covariates=tuple(args.covariates),
        past_covariates=tuple(args.past_covariates), freq=args.freq, fill=args.fill, sort=args.sort,
        horizon=args.horizon, lookback=args.lookback, transform=args.transform, calendar=not args.no_calendar,
        validation=args.validation,
        model={"rnn": common.recurrent_config(args), "decoder": args.decoder, "output": args.output,
               "quantiles": tuple(args.quantiles)},
        train={"max_steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
               "progress": args.progress})
    panel = forecaster.read(args.data)
    table, scores = None, []
    if args.folds:
        print(f"backtest: {args.folds} origins, horizon {forecaster.config.horizon}", flush=True)
        table, scores = compare(forecaster, panel, args.folds, args.stride, baselines=args.baselines,
                                retrain=not args.no_retrain, max_history=args.max_history)
        table.to_csv(out / "backtest.csv", index=False)
        print(format_table(scores), flush=True)
    forecaster.fit_panel(panel)
    forecaster.save(out / "model", overwrite=True)
    forecasts = forecaster.predict(panel)
    forecasts.to_csv(out / "forecast.csv", index=False)
    write_metrics(out / "metrics.json", {
        "backtest": {row["model"]: {k: v for k, v in row.items() if k != "model"} for row in scores},
        "folds": args.folds, "horizon": forecaster.config.horizon, "series": len(panel.series),
        "final_train_loss": forecaster.history[-1]["train_loss"] if forecaster.history else None,
        "config": dataclasses.asdict(forecaster.config)})
    forecast_report(forecaster, panel, forecasts, table, scores, title=f"Forecast: {', '.join(args.target)}").write(
        out / "report.html")
    print(f"wrote {out}/: model/, forecast.csv, {'backtest.csv, ' if table is not None else ''}metrics.json, "
          f"report.html")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from rnnkit.eval.reports import write_metrics
    from rnnkit.eval.reports.forecast import forecast_report
    from rnnkit.integrations.forecaster import Forecaster

    from rnnkit.train.model_folder import model_folder_in

    folder = model_folder_in(args.model)
    forecaster = Forecaster.load(folder)
    out = common.prepare_out_dir(args.out, args.force)
    panel = forecaster.tail if args.data is None else forecaster.read(args.data)
    forecasts = forecaster.predict(panel, horizon=args.horizon)
    forecasts.to_csv(out / "forecast.csv", index=False)
    write_metrics(out / "metrics.json", {"model": str(folder), "horizon": args.horizon or forecaster.config.horizon,
                                         "series": len(panel.series), "rows": len(forecasts)})
    forecaster.history = []
    forecast_report(forecaster, panel, forecasts, None, [], title="Forecast").write(out / "report.html")
    print(f"wrote {out}/: forecast.csv, metrics.json, report.html")
    return 0
