"""Rolling-origin folds inside the training span, and the forecasts every candidate is scored on.

``folds * windows`` forecast origins per series, ``step = ceil(horizon / windows)`` rows apart, the last one
``horizon`` rows before the series' end (``rnnkit.data.timeseries.rolling_origins``). They are grouped by
``windows``: fold ``k`` fits its model once on the rows before its first origin (its cut-off) and forecasts from
each of its origins, reading the rows before the origin as inputs, so a fold costs one fit and yields
``windows`` forecasts. With the defaults (3 folds, 4 windows) a monthly series gives 12 forecasts of 12 months.
Nothing after the training data given to ``plan_folds`` is read.

Forecast arrays are (S, W, H, N): series, windows (all folds), steps, targets. Scores are MASE: the absolute
error over the in-sample seasonal naive MAE of the rows before each window's origin (Hyndman & Koehler 2006).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from rnnkit.data.timeseries import Panel, rolling_origins, seasonal_mae
from rnnkit.errors import UserError


@dataclasses.dataclass
class Folds:
    horizon: int
    windows: int  # per fold
    origins: list[list[int]]  # per series, every window's origin, oldest first
    actual: np.ndarray  # (S, W, H, N)
    scale: np.ndarray  # (S, W, 1, N): MASE's denominator per window

    @property
    def count(self) -> int:
        return len(self.origins[0]) // self.windows

    def cut(self, k: int) -> list[int]:
        """Fold ``k``'s cut-off in each series (the rows its model is fitted on)."""
        return [origins[k * self.windows] for origins in self.origins]

    def fold_origins(self, k: int) -> list[list[int]]:
        return [origins[k * self.windows:(k + 1) * self.windows] for origins in self.origins]

    def backtest(self, panel: Panel, make: Callable[[], Any]) -> np.ndarray:
        """(S, W, H, N) forecasts of a member made by ``make()``, refitted once per fold."""
        per_fold = []
        for k in range(self.count):
            member = make().fit(panel.cut(self.cut(k)))
            flat = member.forecast_from(panel, self.fold_origins(k))
            per_fold.append(np.stack(flat).reshape(len(panel.series), self.windows, self.horizon, -1))
        return np.concatenate(per_fold, axis=1)

    def score(self, forecasts: np.ndarray) -> float:
        """Mean absolute scaled error of (S, W, H, N) forecasts, each series weighing the same."""
        return float(np.mean(np.abs(self.actual - forecasts) / self.scale))


def plan_folds(panel: Panel, horizon: int, season: int, need: int, folds: int = 3, windows: int = 4) -> Folds:
    """Folds whose earliest cut-off leaves each series ``need`` rows to fit on; fewer windows, then fewer folds,
    for short series. A ``UserError`` when not even one window fits."""
    for count, per in [(f, w) for f in range(folds, 0, -1) for w in range(windows, 0, -1)]:
        step = math.ceil(horizon / per)
        try:
            origins = [rolling_origins(len(s), horizon, count * per, step, min_history=need, what=f"series {s.id!r}")
                       for s in panel.series]
        except UserError:
            continue
        actual = np.stack([np.stack([s.target[o:o + horizon] for o in wanted]) for s, wanted in
                           zip(panel.series, origins)])
        scale = np.stack([np.stack([seasonal_mae(s.target[:o], season) for o in wanted]) for s, wanted in
                          zip(panel.series, origins)])[:, :, None, :]
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)  # a constant history: absolute errors
        return Folds(horizon, per, origins, actual, scale)
    shortest = min(len(s) for s in panel.series)
    raise UserError(f"the selection needs at least {need + horizon} rows per series for one backtest window "
                    f"(a fit on {need} rows, then a horizon of {horizon}); the shortest series has {shortest}: "
                    f"pass a shorter horizon or lookback")
