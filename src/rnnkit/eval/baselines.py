"""Classical baselines, backtested the same rolling-origin way as the network (same origins, horizon, table).

For a history ``y_1 .. y_T``, season ``m`` and horizon step ``h``:

    naive            y_T
    seasonal_naive   y_{T + h - m * ceil(h / m)}        the same season one cycle back
    holt_winters     additive trend, damped or not by the lower AICc (as R's forecast::ets chooses), multiplicative
                     season (additive if any y <= 0); statsmodels ``ExponentialSmoothing``, parameters and initial
                     states by maximum likelihood (Holt 1957, Winters 1960; damping: Gardner & McKenzie 1985)
    ets              the same with no trend as a third choice (as AutoETS may choose), for series without one; kept
                     apart from holt_winters, the published references' method: offered no trend, AICc takes it on
                     the airline's 1949-1959 (1960 MAPE 5.5 against Holt-Winters' 2.21)
    sarima           the "airline model" ARIMA(0,1,1)(0,1,1)_m on log y (on y if any y <= 0), statsmodels
                     ``SARIMAX`` (Box & Jenkins 1970); ARIMA(0,1,1) without a season
    theta            the Theta method (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah 2003: simple exponential
                     smoothing with half the linear trend), on the series seasonally adjusted by classical
                     decomposition when it tests seasonal; statsmodels ``ThetaModel``

Each target column is forecast on its own; covariates are not used. statsmodels is an optional dependency
(``rnnkit[forecast]``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnkit._optional import require
from rnnkit.data.timeseries import Panel, forecast_table, pandas, rolling_origins, season_length
from rnnkit.errors import UserError

Baseline = Callable[[np.ndarray, int, int], np.ndarray]
HISTORY_SEASONS = 20  # the baselines fit on the last 20 seasons before an origin by default
MIN_HISTORY = 200  # and on at least 200 rows


def naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    return np.full(horizon, history[-1], dtype=float)


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    if season <= 1 or len(history) < season:
        return naive(history, horizon, season)
    steps = np.arange(1, horizon + 1)
    return history[len(history) - season + (steps - 1) % season].astype(float)


def holt_winters(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    return _smoothing(history, horizon, season, (("add", False), ("add", True)), "Holt-Winters")


def ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    return _smoothing(history, horizon, season, ((None, False), ("add", False), ("add", True)), "ETS")


def _smoothing(history: np.ndarray, horizon: int, season: int, trends: tuple[tuple[str | None, bool], ...],
               baseline: str) -> np.ndarray:
    """Exponential smoothing with the (trend, damped) of ``trends`` that has the lowest AICc."""
    holtwinters = require("statsmodels.tsa.holtwinters", "forecast", package="statsmodels",
                          why=f"for the {baseline} baseline")
    values = history.astype(float).tobytes()
    fits = [_fit_smoothing(holtwinters, values, season, trend, damped) for trend, damped in trends]
    best = min(fits, key=lambda fit: fit.aicc if np.isfinite(fit.aicc) else np.inf)
    with _quiet():
        return np.asarray(best.forecast(horizon), dtype=float)


@functools.lru_cache(maxsize=64)  # ets repeats holt_winters' two fits on the same windows of a search
def _fit_smoothing(holtwinters: Any, values: bytes, season: int, trend: str | None, damped: bool) -> Any:
    history = np.frombuffer(values)
    seasonal = season > 1 and len(history) >= 2 * season
    positive = bool((history > 0).all())
    with _quiet():
        return holtwinters.ExponentialSmoothing(
            history, trend=trend, damped_trend=damped, seasonal=("mul" if positive else "add") if seasonal else None,
            seasonal_periods=season if seasonal else None, initialization_method="estimated").fit()


def sarima(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    sarimax = require("statsmodels.tsa.statespace.sarimax", "forecast", package="statsmodels",
                      why="for the SARIMA baseline")
    positive = bool((history > 0).all())
    y = np.log(history) if positive else history.astype(float)
    seasonal = (0, 1, 1, season) if season > 1 and len(history) >= 2 * season + 2 else (0, 0, 0, 0)
    model = sarimax.SARIMAX(y, order=(0, 1, 1), seasonal_order=seasonal)
    with _quiet():
        forecast = np.asarray(model.fit(disp=False).forecast(horizon), dtype=float)
    return np.exp(forecast) if positive else forecast


def theta(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    module = require("statsmodels.tsa.forecasting.theta", "forecast", package="statsmodels",
                     why="for the Theta baseline")
    seasonal = season > 1 and len(history) >= 2 * season
    method = "multiplicative" if (history > 0).all() else "additive"
    model = module.ThetaModel(history.astype(float), period=season if seasonal else None,
                              deseasonalize=seasonal, method=method)
    with _quiet():
        return np.asarray(model.fit().forecast(horizon), dtype=float)


BASELINES: dict[str, Baseline] = {"naive": naive, "seasonal_naive": seasonal_naive, "holt_winters": holt_winters,
                                  "ets": ets, "sarima": sarima, "theta": theta}


def affordable(name: str, season: int) -> bool:
    """Seasonal ARIMA over a season longer than two years of months, or Holt-Winters over more than a year of
    weeks, take minutes per fit in statsmodels (a half-hourly day is 48 steps): left out; so is ETS, three such fits
    per origin, over a season longer than two years of months."""
    return not ((name in ("sarima", "ets") and season > 24) or (name == "holt_winters" and season > 52))


def backtest_baselines(panel: Panel, horizon: int, folds: int, stride: int | None = None,
                       names: Sequence[str] = ("seasonal_naive", "holt_winters", "sarima"), *,
                       season: int | None = None, max_history: int | None = None,
                       announce: Callable[[str], Any] | None = None) -> Any:
    """The backtest table of each baseline in ``names``: the origins of ``Forecaster.backtest`` with the same
    ``horizon``, ``folds`` and ``stride``. ``max_history`` keeps only the last rows before each origin (default:
    ``HISTORY_SEASONS`` seasons, at least ``MIN_HISTORY`` rows; 0: all), so that long half-hourly series do not
    make the statistical fits take minutes; baselines not ``affordable`` at the season are left out; ``season``
    defaults to the frequency's. ``announce`` (e.g. ``print``)
    is told of each fit before it starts."""
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise UserError(f"unknown baseline(s) {unknown}; choose from {sorted(BASELINES)}")
    season = season or season_length(panel.freq)
    left_out = [name for name in names if not affordable(name, season)]
    if left_out and announce is not None:
        announce(f"baselines {', '.join(left_out)} left out: a season of {season} steps takes minutes per fit")
    names = [name for name in names if affordable(name, season)]
    if max_history is None:
        max_history = max(HISTORY_SEASONS * season, MIN_HISTORY)
    tables = []
    for s in panel.series:
        for origin in rolling_origins(len(s), horizon, folds, stride, what=f"series {s.id!r}"):
            start = 0 if not max_history else max(0, origin - max_history)
            times = s.index[origin:origin + horizon]
            for name in names:
                if announce is not None:
                    announce(f"baseline {name}: series {s.id!r}, origin {origin}, fitted on rows {start}-{origin}")
                forecast = np.stack([BASELINES[name](s.target[start:origin, j], horizon, season)
                                     for j in range(s.target.shape[1])], axis=1)
                tables.append(forecast_table(name, s, origin, panel.columns.target, times, forecast[:len(times)],
                                             season))
    return pandas().concat(tables, ignore_index=True)


class _quiet(warnings.catch_warnings):
    """statsmodels warns about convergence and frequencies on short series; the fit is still the baseline."""

    def __enter__(self) -> Any:
        result = super().__enter__()
        warnings.simplefilter("ignore")
        return result
