"""Conformal prediction intervals from out-of-sample residuals, per horizon step (split conformal, pooled shape).

A model fitted on the rows before a cut-off forecasts from every origin between the cut-off and the end of the
data; the errors ``r[w, h, n] = z(y) - z(f)`` of window ``w``, step ``h``, target ``n`` (in a space ``z`` the caller
chooses: the forecaster's scaled targets, log values, ...) are out of sample. With

    m[h, n] = mean_w |r[w, h, n]|                      the typical error at step h (grows with the horizon)
    s[h, n] = (W m[h, n] + K p[h, n]) / (W + K)        shrunk towards p = a h^b, b >= 0, fitted to m over h
    u       = { |r[w, h, n]| / s[h, n] }  over w, h    one pooled sample of normalised errors per target

the central interval of coverage ``c`` at step ``h`` is ``z(f) -/+ s[h, n] * Q(u, c (m + 1) / m)``, ``m = |u|``
(the finite-sample correction of split conformal prediction, Vovk et al. 2005; Lei et al. 2018; per-step
residuals for multi-step forecasts as in Stankeviciute et al. 2021). Pooling the steps gives 13 windows of a
monthly series 156 errors, enough for a 95% interval, while ``s`` keeps each step's own width. Intervals are
symmetric around the point forecast in ``z``, so the 0.5 quantile is the point forecast.

The shrinkage (``K = SHRINK`` windows' worth) matters when there are few windows, as for a short series' backtest:
with one window, unshrunk, every normalised error would be exactly 1 and the interval just that window's error.
The power law ``p`` (a least-squares line in log h, log m, its mean matched to m's) lets every step borrow from the
others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

SHRINK = 4.0


@dataclasses.dataclass
class Calibration:
    """Per-step scales ``scale`` (H, N) and the sorted pooled normalised absolute errors ``errors`` (M, N)."""

    scale: np.ndarray
    errors: np.ndarray

    @classmethod
    def from_residuals(cls, residuals: np.ndarray) -> Calibration:
        """``residuals`` (W, H, N): W forecast windows (of any series), signed errors in the calibration space."""
        r = np.abs(np.asarray(residuals, dtype=float))
        if r.ndim != 3 or r.shape[0] == 0:
            raise ValueError(f"residuals must be (windows >= 1, horizon, targets), got shape {r.shape}")
        scale = _shrunk(r.mean(axis=0), r.shape[0])  # (H, N)
        normalised = np.divide(r, scale, out=np.zeros_like(r), where=scale > 0)
        return cls(scale, np.sort(normalised.reshape(-1, r.shape[2]), axis=0))

    def offsets(self, levels: Sequence[float]) -> np.ndarray:
        """(H, N, Q): what to add to the point forecast (in the calibration space) for each quantile level."""
        count = len(self.errors)
        columns = []
        for level in levels:
            coverage = abs(2 * float(level) - 1)  # the central interval whose edge this quantile is
            rank = min(count, int(np.ceil(coverage * (count + 1))))  # finite-sample correction
            width = self.errors[rank - 1] if rank > 0 else np.zeros(self.errors.shape[1])  # (N,)
            columns.append(np.sign(level - 0.5) * self.scale * width)
        return np.stack(columns, axis=-1)

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale.tolist(), "errors": self.errors.tolist()}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Calibration:
        return cls(np.asarray(document["scale"], dtype=float), np.asarray(document["errors"], dtype=float))


def _shrunk(mean: np.ndarray, windows: int) -> np.ndarray:
    """Per-step mean errors (H, N) shrunk towards a non-decreasing power law of the step."""
    steps = np.log(np.arange(1, len(mean) + 1))
    smooth = mean.copy()
    for n in range(mean.shape[1]):
        positive = mean[:, n] > 0
        if len(mean) < 2 or positive.sum() < 2:
            continue
        x, y = steps[positive], np.log(mean[positive, n])
        slope = max(0.0, float(np.polyfit(x, y, 1)[0]))
        curve = np.exp(slope * steps)
        smooth[:, n] = curve * mean[:, n].mean() / curve.mean()
    return (windows * mean + SHRINK * smooth) / (windows + SHRINK)


def calibration_origins(length: int, horizon: int, need: int, windows: int) -> tuple[int, list[int]] | None:
    """Where a calibration fit stops (``cut``) and the origins it forecasts from, for a series of ``length``
    rows whose fit needs ``need`` rows: up to ``windows`` origins ``cut .. length - horizon``, fewer when the
    series is short; None when not even one window fits."""
    for count in range(windows, 0, -1):
        cut = length - horizon - count + 1
        if cut >= need:
            return cut, list(range(cut, length - horizon + 1))
    return None
