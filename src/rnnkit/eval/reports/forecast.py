"""Forecasting runs evaluated and reported: the backtest beside the baselines, figures, and the HTML report.

    table, scores = compare(forecaster, panel, folds=3, baselines=("seasonal_naive", "holt_winters"))
    print(format_table(scores))
    forecast_report(forecaster, panel, forecasts, table, scores).write(out / "report.html")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rnnkit.data.timeseries import Panel, pandas
from rnnkit.eval.baselines import backtest_baselines
from rnnkit.eval.forecast_metrics import score_table
from rnnkit.eval.reports.document import Report, add_training_section

MAX_PLOTTED_SERIES = 4


def compare(forecaster: Any, panel: Panel, folds: int = 3, stride: int | None = None, *,
            baselines: Sequence[str] = ("seasonal_naive", "holt_winters", "sarima"), retrain: bool = True,
            max_history: int | None = None, announce: Any = None) -> tuple[Any, list[dict[str, Any]]]:
    """Backtest ``forecaster`` (a ``rnnkit.Forecaster``) and the ``baselines`` on the same origins; returns the
    combined backtest table and one row of metrics per model (rnnkit first)."""
    table = forecaster.backtest(panel, folds, stride, retrain=retrain)
    if baselines:
        others = backtest_baselines(panel, forecaster.config.horizon, folds, stride, baselines,
                                    max_history=max_history, announce=announce)
        table = pandas().concat([table, others], ignore_index=True)
    network = forecaster.config.model
    quantiles = () if network.output == "point" else network.quantiles
    return table, score_table(table, quantiles)


def forecast_figure(panel: Panel, forecasts: Any, *, history: int | None = None, title: str | None = None) -> Figure:
    """History and forecast with the widest quantile band, one panel per (series, target), at most 4."""
    pairs = [(s, j) for s in panel.series for j in range(s.target.shape[1])][:MAX_PLOTTED_SERIES]
    bands = sorted(c for c in forecasts.columns if c.startswith("q"))
    fig = Figure(figsize=(7.5, 2.8 * len(pairs)), layout="constrained")
    axes = fig.subplots(len(pairs), 1, squeeze=False)[:, 0]
    for ax, (s, j) in zip(axes, pairs):
        name = panel.columns.target[j]
        start = 0 if history is None else max(0, len(s) - history)
        ax.plot(s.index[start:len(s)], s.target[start:, j], color="black", linewidth=1, label="history")
        rows = forecasts[(forecasts["id"] == s.id) & (forecasts["target"] == name)]
        ax.plot(rows["time"], rows["forecast"], color="tab:blue", label="forecast")
        if len(bands) >= 2:
            low, high = _band(bands)
            ax.fill_between(rows["time"], rows[low], rows[high], color="tab:blue", alpha=0.25,
                            label=f"{low}-{high}")
        ax.set_title(f"{s.id}: {name}" if len(panel.series) > 1 else name, fontsize="medium")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def backtest_figure(panel: Panel, table: Any, *, context: int | None = None) -> Figure:
    """Actual values and every model's backtest forecasts for the first series and target."""
    s, name = panel.series[0], panel.columns.target[0]
    rows = table[(table["id"] == s.id) & (table["target"] == name)]
    first = rows["time"].min()
    start = int(np.searchsorted(np.asarray(s.index[:len(s)]), np.asarray(first)))
    start = max(0, start - (context if context is not None else len(rows[rows["model"] == "rnnkit"]) // 2))
    fig = Figure(figsize=(8.0, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(s.index[start:len(s)], s.target[start:, 0], color="black", linewidth=1.2, label="actual")
    for k, model in enumerate(dict.fromkeys(rows["model"])):
        part = rows[rows["model"] == model]
        for i, (_, fold) in enumerate(part.groupby("origin_time")):
            ax.plot(fold["time"], fold["forecast"], color=f"C{k}", linewidth=1.0,
                    label=model if i == 0 else None, alpha=0.9)
    ax.set_title(f"rolling-origin backtest: {s.id} {name}" if len(panel.series) > 1 else "rolling-origin backtest",
                 fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def forecast_report(forecaster: Any, panel: Panel, forecasts: Any, table: Any | None,
                    scores: Sequence[dict[str, Any]], *, title: str = "Forecast", model: str | None = None) -> Report:
    """History + forecast + intervals, the backtest plot and table beside the baselines, training curves.
    ``model`` describes the model (default: the forecaster's network)."""
    c, rnn = forecaster.config, forecaster.config.model.rnn
    report = Report(title)
    model = model or (f"{rnn.cell.upper()} {rnn.hidden_size} x {rnn.num_layers}, {c.model.decoder} decoder, "
                      f"{c.model.output} output, transform {c.transform}")
    report.add_text(f"Targets {', '.join(c.target)}; {len(panel.series)} series; frequency {panel.freq or 'steps'}; "
                    f"horizon {c.horizon}; {model}.")
    report.add_section("Forecast")
    report.add_figure(forecast_figure(panel, forecasts, history=8 * c.horizon), caption="History and forecast")
    report.add_table(forecasts.head(200), caption="Forecasts (first 200 rows)")
    if table is not None:
        report.add_section("Backtest")
        report.add_text("Rolling-origin evaluation: every model forecasts from the same origins with the rows "
                        "before them only. MASE below 1 beats the in-sample seasonal naive error.")
        report.add_table(list(scores), caption="Metrics by model (all origins, steps, series and targets)")
        report.add_figure(backtest_figure(panel, table), caption="Backtest forecasts against the actual values")
    add_training_section(report, forecaster.history, ("train_loss", "val_loss"), caption="Training curves")
    return report


def _band(columns: list[str]) -> tuple[str, str]:
    levels = sorted(columns, key=lambda c: float(c[1:]))
    return levels[0], levels[-1]


