"""Forecasting tables to a run folder: what ``rnnkit forecast train`` runs (``rnnkit.Forecaster`` does the work).

    metrics = train(RECIPE, ForecastSettings("sales.csv", ForecasterConfig(target=("sales",), time="date")), "runs/s")

The forecaster is fitted on all the data (checkpoints in the run folder: a killed run resumes), then backtested
on rolling origins beside the classical baselines, and forecasts the horizon after the data's end. Besides the
driver's files the run writes ``forecast.csv`` and ``backtest.csv``. Without a data file: the shipped monthly
airline passengers, 1949-1960.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.datasets import airline
from rnnkit.errors import UserError
from rnnkit.eval.forecast_metrics import format_table
from rnnkit.eval.reports.forecast import compare, forecast_report
from rnnkit.pipelines.driver import Recipe, Splits, TrainedRun, write_results
from rnnkit.pipelines.forecaster import Forecaster, ForecasterConfig
from rnnkit.train import FitResult, TrainConfig
from rnnkit.train.model_folder import model_folder_in

BASELINES = ("naive", "seasonal_naive", "holt_winters", "sarima")


@dataclass
class ForecastSettings:
    """A ``forecast train`` run: the table, the forecaster, and the backtest."""

    data: str | None = field(default=None, metadata={
        "help": "CSV or Parquet file (none: the shipped monthly airline passengers, 1949-1960)", "positional": True})
    forecaster: ForecasterConfig = field(default_factory=lambda: ForecasterConfig(target=()))
    folds: int = field(default=3, metadata={"help": "backtest origins (0: no backtest)"})
    stride: int | None = field(default=None, metadata={"help": "steps between origins (none: the horizon)"})
    retrain: bool = field(default=True, metadata={
        "help": "fit a model at every origin (--no-retrain: once, before the first)"})
    baselines: tuple[str, ...] = field(default=("seasonal_naive", "holt_winters", "sarima"), metadata={
        "help": "classical forecasts backtested beside the model", "choices": BASELINES, "metavar": "NAME"})
    max_history: int | None = field(default=None, metadata={
        "help": "rows before each origin the baselines fit on (none: all)"})


def read(settings: ForecastSettings) -> tuple[Forecaster, Any]:
    """A forecaster for the settings and the checked series of the data (the horizon fixed from its season)."""
    config, path = settings.forecaster, settings.data
    if path is None:
        path = airline.PATH
        config = dataclasses.replace(config, target=config.target or (airline.TARGET,),
                                     time=config.time or airline.TIME)
    elif not config.target:
        raise UserError("--target COL is required with DATA")
    forecaster = Forecaster(copy.deepcopy(config))
    return forecaster, forecaster.read(path)


def split(read_back: tuple[Forecaster, Any], settings: ForecastSettings) -> Splits:
    # validation rows, when asked for, are each series' last rows: the forecaster holds them out itself
    return Splits(read_back, None, read_back[1], "backtest")


def fit(splits: Splits, settings: ForecastSettings, config: TrainConfig, resume: bool) -> tuple[Forecaster, FitResult]:
    forecaster, panel = splits.train
    forecaster.fit_panel(panel, resume=resume, checkpoint_dir=config.checkpoint_dir, keep_last=config.keep_last,
                         log_path=config.log_path)
    return forecaster, forecaster.result


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    forecaster, panel, settings, out = run.model, run.splits.scored, run.settings, run.out
    table, scores = None, []
    if settings.folds:
        print(f"backtest: {settings.folds} origins, horizon {forecaster.config.horizon}", flush=True)
        table, scores = compare(forecaster, panel, settings.folds, settings.stride, baselines=settings.baselines,
                                retrain=settings.retrain, max_history=settings.max_history)
        _fs.atomic_write(out / "backtest.csv", table.to_csv(index=False).encode("utf-8"))
    forecasts = forecaster.predict(panel)
    _fs.atomic_write(out / "forecast.csv", forecasts.to_csv(index=False).encode("utf-8"))
    metrics = {"backtest": {row["model"]: {k: v for k, v in row.items() if k != "model"} for row in scores},
               "folds": settings.folds, "horizon": forecaster.config.horizon, "series": len(panel.series),
               "final_train_loss": forecaster.history[-1]["train_loss"] if forecaster.history else None,
               "config": dataclasses.asdict(forecaster.config)}
    title = f"Forecast: {', '.join(forecaster.config.target)}"
    return metrics, forecast_report(forecaster, panel, forecasts, table, scores, title=title)


def summary(metrics: dict[str, Any]) -> str:
    rows = [{"model": name, **scores} for name, scores in metrics["backtest"].items()]
    return format_table(rows) + ("\n" if rows else "") + f"forecast: {metrics['horizon']} steps"


RECIPE = Recipe(command="forecast train", read=read, split=split, fit=fit, score=score, summary=summary,
                train_config=lambda settings: settings.forecaster.train,
                save=lambda forecaster, folder: forecaster.save(folder, overwrite=True),
                outputs=("forecast.csv", "backtest.csv"))


def predict_forecaster(model_dir: str | Path, data: str | Path | None, out: str | Path, *,
                       horizon: int | None = None) -> dict[str, Any]:
    """Forecast with the model in ``model_dir`` (a ``forecast train`` run folder or its ``model/``) after the end
    of its training data, or of ``data``; write ``forecast.csv``, ``metrics.json`` and ``report.html``."""
    folder = model_folder_in(model_dir)
    forecaster = Forecaster.load(folder)
    panel = forecaster.tail if data is None else forecaster.read(data)
    forecasts = forecaster.predict(panel, horizon=horizon)
    _fs.atomic_write(Path(out) / "forecast.csv", forecasts.to_csv(index=False).encode("utf-8"))
    metrics = {"model": str(folder), "horizon": horizon or forecaster.config.horizon, "series": len(panel.series),
               "rows": len(forecasts)}
    forecaster.history = []
    write_results(Path(out), metrics, forecast_report(forecaster, panel, forecasts, None, [], title="Forecast"))
    return metrics
