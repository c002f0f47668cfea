"""Combining forecasts: the recurrent ensemble (a median over members and seeds), its combination with the
classical baselines (a weighted mean), and the space the conformal intervals are measured in.

A ``Combination`` is ``rnn`` (candidate names whose forecasts are pooled by the median) and ``baselines`` (names),
with ``weights`` for [the recurrent median, *baselines] summing to 1, or the median of all of them:

    forecast = w_0 median(rnn members) + sum_i w_i baseline_i          (rule "mean")
    forecast = median(median(rnn members), baseline_1, ...)           (rule "median": folders of earlier versions)

Forecast combinations beat their parts on average (Bates & Granger 1969; the M4 competition's leaders were
combinations, Makridakis et al. 2020), and fixed, simple weights beat weights or picks estimated on few errors
(the "forecast combination puzzle", Smith & Wallis 2009; Claeskens et al. 2016). So every combination here is scored
on the folds and shown, but the one used is fixed in advance (``scored``): the recurrent ensemble with the
``SHARED`` baselines of lowest fold MASE, in equal shares. The folds choose the baselines, not the form. On the
suite's two development spans (``bench/forecast_combination_dev.py``: the horizon before the test span, and the one
before that; 22 series each) its mean MASE was 1.079 and 1.091 against 1.080 and 1.166 for the combination with the
lowest fold MASE (the ensemble alone, or with one baseline), lower on 26 of the 44 and higher on 18. Choosing
between it and the ensemble alone by the folds gave 1.089/1.148; weights 1 / fold MASE over all six parts
1.112/1.009 and their median 1.154/1.007 (better on the second span, worse on the first). On the airline's 1959
and 1958 (the same parts combined afterwards, mean of 3 seeds) its MAPE was 3.59 and 6.96 against 2.36 and 9.29.

Intervals: a series with positive training values is calibrated on ``log y`` (errors in proportion, as its
forecasts' errors grow with its level), any other on ``y / s`` with ``s`` its in-sample seasonal naive MAE.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rnnkit.data.timeseries import seasonal_mae

_TINY = 1e-9
SHARED = 2  # baselines in the combination used


@dataclasses.dataclass
class Combination:
    rnn: list[str]
    baselines: list[str] = dataclasses.field(default_factory=list)
    weights: list[float] = dataclasses.field(default_factory=lambda: [1.0])
    rule: str = "mean"

    @property
    def name(self) -> str:
        if not self.baselines:
            return f"rnn ensemble ({len(self.rnn)})"
        parts = ["rnn", *self.baselines]
        if self.rule == "median":
            return "median of " + " + ".join(parts)
        if len(set(np.round(self.weights, 6))) == 1:
            return "mean of " + " + ".join(parts)
        return "weighted " + " + ".join(f"{w:.2f} {p}" for w, p in zip(self.weights, parts))

    def combine(self, rnn: list[np.ndarray], baselines: dict[str, np.ndarray]) -> np.ndarray:
        """``rnn``: each recurrent member's forecasts (any seeds), ``baselines`` by name; arrays of one shape."""
        ensemble = np.median(np.stack(rnn), axis=0)
        if self.rule == "median":
            return np.median(np.stack([ensemble, *(baselines[name] for name in self.baselines)]), axis=0)
        total = self.weights[0] * ensemble
        for weight, name in zip(self.weights[1:], self.baselines):
            total = total + weight * baselines[name]
        return total

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def scored(rnn: list[str], baselines: list[str], ranked: list[str]) -> tuple[list[Combination], Combination]:
    """The combinations scored (the ensemble alone, with each of ``baselines`` in equal shares, and the one used),
    and the one used: the ensemble with the ``SHARED`` first of ``ranked`` (the baselines by fold MASE, best
    first; fewer when fewer ran), all in equal shares."""
    shared = ranked[:SHARED]
    used = Combination(rnn, shared, [1 / (len(shared) + 1)] * (len(shared) + 1))
    combinations = [Combination(rnn)] + [Combination(rnn, [name], [0.5, 0.5]) for name in baselines]
    if used.name not in {combination.name for combination in combinations}:
        combinations.append(used)
    return combinations, used


def to_space(y: np.ndarray, history: np.ndarray, season: int) -> np.ndarray:
    """``y`` (..., N) in a series' calibration space, decided by its ``history`` (T, N): ``log y`` when every
    history value is positive, else ``y`` over the history's seasonal naive MAE."""
    if (history > 0).all():
        return np.log(np.maximum(y, _TINY))
    return y / _scale(history, season)


def from_space(z: np.ndarray, history: np.ndarray, season: int) -> np.ndarray:
    if (history > 0).all():
        return np.exp(z)
    return z * _scale(history, season)


def _scale(history: np.ndarray, season: int) -> np.ndarray:
    scale = seasonal_mae(history, season)
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
