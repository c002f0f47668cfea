"""Per-series, per-column scaling, fitted on training rows only and stored as JSON in the model folder.

    z = (g(y) - mean) / std,    g = log for a log-scaled target (multiplicative seasonality, growth), the Box-Cox
    y = g^-1(z * std + mean)        transform (y^lambda - 1) / lambda for a Box-Cox one, else identity

Box-Cox (Box & Cox 1964) bridges the two: lambda = 1 is a shift, lambda = 0 the log. ``boxcox_lambda`` picks it per
series by Guerrero's method (1993; R's ``forecast::BoxCox.lambda``): the lambda that makes the spread of each season
most nearly proportional to its level to the power ``1 - lambda``, kept in [0, 1] (between none and log).

``mean`` and ``std`` come from the rows given to ``fit`` only: callers pass the training part of a series (before
any validation or test cut-off), so nothing about the future leaks into the scaled inputs (tested).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rnnkit.errors import UserError


@dataclasses.dataclass
class Scaler:
    """Column-wise standardisation, optionally of ``log(y)``. ``mean``/``std`` have one entry per column."""

    mean: list[float]
    std: list[float]
    log: bool = False
    boxcox: list[float] | None = None  # one lambda per column (Box-Cox), or None

    @classmethod
    def fit(cls, values: np.ndarray, *, log: bool = False, boxcox: list[float] | None = None,
            what: str = "values") -> Scaler:
        """Fit on ``values`` (T, C); a constant column gets std 1 (it is only centred)."""
        values = np.asarray(values, dtype=float)
        boxcox = None if boxcox is None else [float(lam) for lam in boxcox]
        if log or boxcox is not None:
            if (values <= 0).any():
                raise UserError(f"{what}: a {'log' if log else 'Box-Cox'} transform needs positive values, the "
                                f"smallest is {values.min():g}; use transform='none'")
            values = np.log(values) if log else _boxcox(values, np.asarray(boxcox))
        if values.shape[0] == 0:
            return cls([0.0] * values.shape[1], [1.0] * values.shape[1], log, boxcox)
        mean, std = values.mean(axis=0), values.std(axis=0)
        std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return cls(mean.tolist(), std.tolist(), log, boxcox)

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.log:
            values = np.log(values)
        elif self.boxcox is not None:
            values = _boxcox(values, np.asarray(self.boxcox))
        return (values - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        """Back to data units; works on (..., C) arrays, e.g. (H, C, Q) quantiles after moving C last."""
        values = np.asarray(scaled, dtype=float) * np.asarray(self.std) + np.asarray(self.mean)
        if self.boxcox is not None:
            return _inverse_boxcox(values, np.asarray(self.boxcox))
        return np.exp(values) if self.log else values

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Scaler:
        boxcox = document.get("boxcox")
        return cls(list(document["mean"]), list(document["std"]), bool(document.get("log", False)),
                   None if boxcox is None else [float(value) for value in boxcox])


def boxcox_lambda(values: np.ndarray, season: int, grid: np.ndarray = np.linspace(0.0, 1.0, 21)) -> float:
    """Guerrero's lambda for a positive series ``values`` (T,) with season ``season`` (2 when there is none): over
    whole seasons ``i`` of mean ``mu_i`` and standard deviation ``sigma_i``, the ``lambda`` of ``grid`` that
    minimises the coefficient of variation of ``sigma_i / mu_i ** (1 - lambda)``. 1 (no transform) when fewer than
    two whole seasons are given."""
    period = max(season, 2)
    count = len(values) // period
    if count < 2:
        return 1.0
    blocks = np.asarray(values[len(values) - count * period:], dtype=float).reshape(count, period)
    mu, sigma = blocks.mean(axis=1), blocks.std(axis=1, ddof=1)
    ratios = sigma[None, :] / mu[None, :] ** (1 - grid[:, None])  # (lambdas, seasons)
    variation = ratios.std(axis=1, ddof=1) / np.maximum(ratios.mean(axis=1), 1e-300)
    return float(grid[int(np.argmin(variation))])


def _boxcox(values: np.ndarray, lam: np.ndarray) -> np.ndarray:
    safe = np.where(lam == 0, 1.0, lam)
    return np.where(lam == 0, np.log(values), (values ** safe - 1) / safe)


def _inverse_boxcox(values: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``(lambda z + 1) ** (1 / lambda)``, the base floored just above 0 (a forecast far below the data's range
    maps to a small positive value instead of NaN)."""
    safe = np.where(lam == 0, 1.0, lam)
    base = np.maximum(safe * values + 1, 1e-12)
    with np.errstate(over="ignore"):  # np.where computes both branches; a forecast far out of range is inf
        return np.where(lam == 0, np.exp(values), base ** (1 / safe))
