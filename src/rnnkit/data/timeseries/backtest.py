"""Rolling-origin backtests: where the cut-offs fall, and the one table every forecaster's backtest fills.

With ``folds`` cut-offs ``stride`` steps apart, the last forecast ends at the series' last row:

    origin_k = T - H - (folds - 1 - k) * stride,    k = 0 .. folds - 1

Each fold sees rows ``[0, origin_k)`` only and forecasts rows ``[origin_k, origin_k + H)``. The rnnkit model and
every baseline fill the same long table, one row per (series, origin, step, target)::

    model  id  origin_time  time  step  target  actual  forecast  scale  [q0.1  q0.5  q0.9 ...]

``scale`` is the in-sample seasonal naive MAE of the history before the origin (MASE's denominator,
Hyndman & Koehler 2006), so metrics need nothing but this table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.data.timeseries.frame import Series, pandas
from rnnkit.errors import UserError


def rolling_origins(length: int, horizon: int, folds: int, stride: int | None = None, *,
                    min_history: int = 1, what: str = "series") -> list[int]:
    """The ``folds`` forecast origins (rows known at each forecast) of a series of ``length`` rows, oldest first."""
    stride = horizon if stride is None else stride
    if folds < 1 or stride < 1:
        raise UserError(f"backtest: folds and stride must be >= 1, got {folds} and {stride}")
    origins = [length - horizon - (folds - 1 - k) * stride for k in range(folds)]
    if origins[0] < min_history:
        raise UserError(f"backtest: {what} has {length} rows; {folds} folds of horizon {horizon} every {stride} "
                        f"steps need at least {min_history + horizon + (folds - 1) * stride} "
                        f"(the model needs {min_history} rows of history): use fewer folds or a shorter horizon")
    return origins


def seasonal_mae(history: np.ndarray, season: int) -> np.ndarray:
    """Mean ``|y_t - y_{t-m}|`` per column of ``history`` (T, C); falls back to m = 1 for short histories."""
    m = season if len(history) > season else 1
    if len(history) <= m:
        return np.full(history.shape[1], np.nan)
    return np.abs(history[m:] - history[:-m]).mean(axis=0)


def forecast_table(model: str, series: Series, origin: int, targets: tuple[str, ...], times: Any,
                   forecast: np.ndarray, season: int, quantiles: tuple[float, ...] = (),
                   quantile_values: np.ndarray | None = None) -> Any:
    """The backtest rows of one forecast: ``forecast`` (H, N) point values, ``quantile_values`` (H, N, Q)."""
    pd = pandas()
    horizon, count = forecast.shape
    actual = np.full((horizon, count), np.nan)
    known = series.target[origin:origin + horizon]
    actual[:len(known)] = known
    scale = seasonal_mae(series.target[:origin], season)
    columns: dict[str, Any] = {
        "model": model,
        "id": series.id,
        "origin_time": series.index[origin - 1],
        "time": np.repeat(np.asarray(times), count),
        "step": np.repeat(np.arange(1, horizon + 1), count),
        "target": np.tile(np.asarray(targets, dtype=object), horizon),
        "actual": actual.reshape(-1),
        "forecast": forecast.reshape(-1),
        "scale": np.tile(scale, horizon),
    }
    for j, q in enumerate(quantiles):
        columns[quantile_column(q)] = quantile_values[:, :, j].reshape(-1)
    return pd.DataFrame(columns)


def quantile_column(q: float) -> str:
    return f"q{q:g}"
