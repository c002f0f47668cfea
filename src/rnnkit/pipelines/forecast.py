"""Forecasting tables to a run folder: what ``rnnkit forecast train`` runs (``rnnkit.Forecaster`` does the work).

    metrics = train(RECIPE, ForecastSettings("sales.csv", ForecasterConfig(target=("sales",), time="date")), "runs/s")

With a ``budget`` (the default), ``AutoForecaster`` (``rnnkit.pipelines.select``) chooses and fits the model
within that wall time on rolling-origin folds inside the data, and the folds are the backtest: the chosen model,
the recurrent ensemble alone and the baselines side by side, the candidates table in ``metrics.json`` and
``report.html``. With ``budget=None`` the one forecaster the settings describe is fitted on all the data
(checkpoints in the run folder: a killed run resumes), then backtested on rolling origins beside the classical
baselines. Either way the run forecasts the horizon after the data's end; besides the driver's files it writes
``forecast.csv`` and ``backtest.csv``. Without a data file: the shipped monthly airline passengers, 1949-1960.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import _fs
from rnnkit.datasets import airline
from rnnkit.errors import UserError
from rnnkit.eval import baselines as classical
from rnnkit.eval.forecast_metrics import format_table
from rnnkit.eval.forecast_metrics import score_table
from rnnkit.eval.reports.forecast import compare, forecast_report
from rnnkit.eval.reports.selection import add_selection_section
from rnnkit.eval.yardstick import Yardstick, calibration, versus
from rnnkit.pipelines.driver import Recipe, Splits, TrainedRun, write_results
from rnnkit.pipelines.forecaster import Forecaster, ForecasterConfig
from rnnkit.pipelines.select.auto_folder import is_auto_folder
from rnnkit.pipelines.select.forecast import BASELINES, DEFAULT_BUDGET, RNN_ALONE, AutoForecaster
from rnnkit.train import FitResult, TrainConfig
from rnnkit.train.model_folder import model_folder_in

@dataclass
class ForecastSettings:
    """A ``forecast train`` run: the table, the forecaster, and the backtest."""

    data: str | None = field(default=None, metadata={
        "help": "CSV or Parquet file (none: the shipped monthly airline passengers, 1949-1960)", "positional": True})
    forecaster: ForecasterConfig = field(default_factory=lambda: ForecasterConfig(target=()))
    budget: str | None = field(default=DEFAULT_BUDGET, metadata={
        "help": "wall time for the automatic selection ('90s', '5m', '1h'): candidates scored on rolling-origin "
                "folds inside the data, an ensemble, combined with the two baselines the folds rank best; the network "
                "flags are its starting point (none: train the one forecaster the flags describe)"})
    folds: int = field(default=3, metadata={"help": "backtest origins (0: no backtest)"})
    stride: int | None = field(default=None, metadata={"help": "steps between origins (none: the horizon)"})
    retrain: bool = field(default=True, metadata={
        "help": "fit a model at every origin (--no-retrain: once, before the first)"})
    baselines: tuple[str, ...] = field(default=BASELINES, metadata={
        "help": "classical forecasts backtested beside the model (and combined with it by the selection)",
        "choices": tuple(classical.BASELINES), "metavar": "NAME"})
    max_history: int | None = field(default=None, metadata={
        "help": "rows before each origin the baselines fit on (none: the last 20 seasons, at least 200; 0: all)"})


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
    panel = forecaster.read(path)
    for s in panel.series:  # the forecast after the data's end needs them: refused now, not after training
        forecaster.check_future(s, forecaster.config.horizon)
    return forecaster, panel


def split(read_back: tuple[Forecaster, Any], settings: ForecastSettings) -> Splits:
    # validation rows, when asked for, are each series' last rows: the forecaster holds them out itself
    return Splits(read_back, None, read_back[1], "backtest")


def fit(splits: Splits, settings: ForecastSettings, config: TrainConfig, resume: bool
        ) -> tuple[Forecaster | AutoForecaster, FitResult]:
    """The selection within ``settings.budget`` (started again by ``resume``), or the one forecaster."""
    forecaster, panel = splits.train
    # the driver's length of training (RNNKIT_SMOKE shortens it) also holds for the backtest's refits
    forecaster.config.train = dataclasses.replace(forecaster.config.train, max_epochs=config.max_epochs,
                                                  max_steps=config.max_steps)
    if settings.budget is not None:
        auto = AutoForecaster(forecaster.config, budget=settings.budget, baselines=settings.baselines,
                              progress="auto").fit(panel)
        return auto, FitResult([], auto.summary["fold_mase"]["chosen"], None, "selection")
    forecaster.fit_panel(panel, resume=resume, checkpoint_dir=config.checkpoint_dir, keep_last=config.keep_last,
                         log_path=config.log_path)
    return forecaster, forecaster.result


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    if isinstance(run.model, AutoForecaster):
        return _score_selection(run)
    forecaster, panel, settings, out = run.model, run.splits.scored, run.settings, run.out
    table, scores = None, []
    if settings.folds:
        print(f"backtest: {settings.folds} origins, horizon {forecaster.config.horizon}", flush=True)
        table, scores = compare(forecaster, panel, settings.folds, settings.stride, baselines=settings.baselines,
                                retrain=settings.retrain, max_history=settings.max_history,
                                announce=lambda line: print(line, flush=True))
        _fs.atomic_write(out / "backtest.csv", table.to_csv(index=False).encode("utf-8"))
    forecasts = finite_forecasts(forecaster.predict(panel))
    _fs.atomic_write(out / "forecast.csv", forecasts.to_csv(index=False).encode("utf-8"))
    metrics = {"backtest": {row["model"]: {k: v for k, v in row.items() if k != "model"} for row in scores},
               "folds": settings.folds, "horizon": forecaster.config.horizon, "series": len(panel.series),
               "final_train_loss": forecaster.history[-1]["train_loss"] if forecaster.history else None,
               "config": dataclasses.asdict(forecaster.config)}
    title = f"Forecast: {', '.join(forecaster.config.target)}"
    return metrics, forecast_report(forecaster, panel, forecasts, table, scores, title=title)


BASELINE_NAMES = {"seasonal_naive": "seasonal naive", "holt_winters": "Holt-Winters", "ets": "ETS", "sarima": "SARIMA"}


def yardsticks(metrics: dict[str, Any]) -> list[Yardstick]:
    """The network's backtest MASE beside each baseline's, and each interval's coverage beside its nominal."""
    rows = dict(metrics["backtest"])
    if not rows:
        return []
    model = rows.pop("rnnkit", None)
    if model is None:
        return []
    alone = rows.pop(RNN_ALONE, None)  # a part of the chosen model, shown beside it, not a yardstick to beat: its
    # fold MASE is often the lower, yet it forecast worse on the suite's development spans
    sticks = [Yardstick(f"MASE {model['MASE']:.4f} ({RNN_ALONE} {alone['MASE']:.4f})")] if alone else []
    sticks += [versus("MASE", model["MASE"], BASELINE_NAMES.get(name, name), scores["MASE"], higher_is_better=False)
               for name, scores in rows.items() if "MASE" in scores]
    for key, value in model.items():
        if key.startswith("coverage_"):
            nominal = int(key.removeprefix("coverage_"))
            sticks.append(calibration(f"{nominal}% interval covered", value, nominal / 100))
    return sticks


def _score_selection(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    """The folds the selection scored on as the backtest (the chosen model's figures there are the ones it was
    chosen by), the candidates table, the forecast."""
    auto, panel, out = run.model, run.splits.scored, run.out
    _fs.atomic_write(out / "backtest.csv", auto.backtest.to_csv(index=False).encode("utf-8"))
    forecasts = auto.predict(panel)
    _fs.atomic_write(out / "forecast.csv", forecasts.to_csv(index=False).encode("utf-8"))
    scores = score_table(auto.backtest)
    metrics = {"backtest": {row["model"]: {k: v for k, v in row.items() if k != "model"} for row in scores},
               "selection": {**auto.summary, "candidates": auto.table}, "horizon": auto.config.horizon,
               "series": len(panel.series), "config": dataclasses.asdict(auto.config)}
    report = forecast_report(auto, panel, forecasts, auto.backtest, scores,
                             title=f"Forecast: {', '.join(auto.config.target)}",
                             model=f"chosen by a {auto.summary['budget_s']:.0f} s selection: {auto.summary['chosen']}")
    add_selection_section(report, auto.summary, auto.table, scored_on="rolling-origin folds inside the data (MASE)")
    return metrics, report


def summary(metrics: dict[str, Any]) -> str:
    rows = [{"model": name, **scores} for name, scores in metrics["backtest"].items()]
    chosen = f"chosen: {metrics['selection']['chosen']}\n" if "selection" in metrics else ""
    return format_table(rows) + ("\n" if rows else "") + chosen + f"forecast: {metrics['horizon']} steps"


RECIPE = Recipe(command="forecast train", read=read, split=split, fit=fit, score=score, summary=summary,
                yardsticks=yardsticks, train_config=lambda settings: settings.forecaster.train,
                save=lambda forecaster, folder: forecaster.save(folder, overwrite=True),
                outputs=("forecast.csv", "backtest.csv"))


def finite_forecasts(forecasts: Any) -> Any:
    """``forecasts`` when every number in it is finite; else a ``UserError`` naming the first series and time, so
    that no forecast.csv is ever written with NaN or inf in it."""
    numbers = forecasts.select_dtypes("number")
    bad = ~np.isfinite(numbers.to_numpy(dtype=float)).all(axis=1)
    if bad.any():
        row = forecasts.iloc[int(np.flatnonzero(bad)[0])]
        at = ", ".join(f"{k} {row[k]}" for k in ("id", "time", "target") if k in forecasts.columns)
        raise UserError(f"the forecast is not finite ({at}): the model's output overflowed for this input; nothing "
                        f"was written")
    return forecasts


def predict_forecaster(model_dir: str | Path, data: str | Path | None, out: str | Path, *,
                       horizon: int | None = None) -> dict[str, Any]:
    """Forecast with the model in ``model_dir`` (a ``forecast train`` run folder or its ``model/``) after the end
    of its training data, or of ``data``; write ``forecast.csv``, ``metrics.json`` and ``report.html``."""
    folder = model_folder_in(model_dir)
    folder = folder / "model" if is_auto_folder(folder / "model") else folder
    forecaster = AutoForecaster.load(folder) if is_auto_folder(folder) else Forecaster.load(folder)
    panel = forecaster.tail if data is None else forecaster.read(data)
    forecasts = finite_forecasts(forecaster.predict(panel, horizon=horizon))
    _fs.atomic_write(Path(out) / "forecast.csv", forecasts.to_csv(index=False).encode("utf-8"))
    metrics = {"model": str(folder), "horizon": horizon or forecaster.config.horizon, "series": len(panel.series),
               "rows": len(forecasts)}
    forecaster.history = []
    write_results(Path(out), metrics, forecast_report(forecaster, panel, forecasts, None, [], title="Forecast"))
    return metrics
