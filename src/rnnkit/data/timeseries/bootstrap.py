"""Bootstrapped copies of seasonal series: more training windows for a network fitted on a short series.

For a series ``y_1 .. y_T`` with season ``m`` (Bergmeir, Hyndman & Benitez 2016, "Bagging exponential smoothing
methods using STL decomposition and Box-Cox transformation"; used to augment global recurrent forecasters by
Bandara, Hewamalage et al. 2021):

    z_t = log y_t  (y_t when any y <= 0)
    z_t = trend_t + season_t + remainder_t          STL, robust (Cleveland et al. 1990; statsmodels ``STL``)
    r*  = blocks of ``2 m`` consecutive remainders, drawn with replacement, joined, cut at a random offset
    y*_t = exp(trend_t + season_t + r*_t)           (no exp for a series with values <= 0)

A copy keeps the series' trend and seasonal pattern and redraws its noise in blocks, so its short-range
dependence survives. The copies join the training data under new ids; they never reach a forecast, a scaler kept in
a model file or a backtest score. A series shorter than two seasons and one row, or without a season (``m < 2``),
gets none: STL needs two whole seasons.
"""

from __future__ import annotations

import numpy as np

from rnnkit._optional import require
from rnnkit.data.timeseries.features import season_length
from rnnkit.data.timeseries.frame import Panel, Series


def bootstrapped(panel: Panel, copies: int, seed: int) -> Panel:
    """``panel`` with ``copies`` bootstrapped copies of each seasonal series after its own series (ids
    ``"<id> bootstrap <k>"``); the same ``seed`` draws the same copies."""
    season = season_length(panel.freq)
    if copies < 1 or season < 2:
        return panel
    rng = np.random.default_rng(seed)
    extra = []
    for s in panel.series:
        if len(s) <= 2 * season:
            continue
        for k in range(copies):
            target = np.stack([moving_block_copy(column, season, rng) for column in s.target.T], axis=1)
            extra.append(Series(f"{s.id} bootstrap {k}", s.index, target, s.past, s.future))
    return Panel([*panel.series, *extra], panel.columns, panel.freq)


def moving_block_copy(y: np.ndarray, season: int, rng: np.random.Generator) -> np.ndarray:
    """One copy of ``y`` (T,): its STL trend and season with a moving-block bootstrap of its remainder."""
    stl = require("statsmodels.tsa.seasonal", "forecast", package="statsmodels",
                  why="for bootstrapped training copies").STL
    positive = bool((y > 0).all())
    z = np.log(y) if positive else np.asarray(y, dtype=float)
    parts = stl(z, period=season, robust=True).fit()
    remainder = np.asarray(parts.resid)
    block = min(2 * season, len(z) // 2)
    starts = rng.integers(0, len(z) - block + 1, size=len(z) // block + 2)
    drawn = np.concatenate([remainder[start:start + block] for start in starts])
    offset = int(rng.integers(0, block))
    z_copy = np.asarray(parts.trend) + np.asarray(parts.seasonal) + drawn[offset:offset + len(z)]
    return np.exp(z_copy) if positive else z_copy
