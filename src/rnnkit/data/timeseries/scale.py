"""Per-series, per-column scaling, fitted on training rows only and stored as JSON in the model folder.

    z = (g(y) - mean) / std,    g = log for a log-scaled target (multiplicative seasonality, growth), else identity
    y = g^-1(z * std + mean)

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

    @classmethod
    def fit(cls, values: np.ndarray, *, log: bool = False, what: str = "values") -> Scaler:
        """Fit on ``values`` (T, C); a constant column gets std 1 (it is only centred)."""
        values = np.asarray(values, dtype=float)
        if log:
            if (values <= 0).any():
                raise UserError(f"{what}: a log transform needs positive values, the smallest is {values.min():g}; "
                                f"use transform='none'")
            values = np.log(values)
        if values.shape[0] == 0:
            return cls([0.0] * values.shape[1], [1.0] * values.shape[1], log)
        mean, std = values.mean(axis=0), values.std(axis=0)
        std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return cls(mean.tolist(), std.tolist(), log)

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.log:
            values = np.log(values)
        return (values - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        """Back to data units; works on (..., C) arrays, e.g. (H, C, Q) quantiles after moving C last."""
        values = np.asarray(scaled, dtype=float) * np.asarray(self.std) + np.asarray(self.mean)
        return np.exp(values) if self.log else values

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Scaler:
        return cls(list(document["mean"]), list(document["std"]), bool(document.get("log", False)))
