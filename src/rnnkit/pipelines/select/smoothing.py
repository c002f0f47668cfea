"""Exponential smoothing with a level and a seasonality (no trend), the statistical half of the ES-RNN hybrid.

For a series ``y`` with season ``m``, smoothing ``alpha`` (level) and ``gamma`` (season), multiplicative form
(Holt-Winters without trend; Smyl 2020 uses this one for positive series):

    l_t = alpha y_t / s_{t-m} + (1 - alpha) l_{t-1}          s_t = gamma y_t / l_t + (1 - gamma) s_{t-m}

and the additive form (``y - s``, ``y - l``) for series with values <= 0. ``s_{t-m}``, the seasonal index known
before ``y_t`` is seen, is row t's *prior*; ``y_t / s_{t-m}`` is the deseasonalised series the recurrent network
learns. Beyond the data, the prior of step ``T + j`` is the latest index of its phase. ``alpha`` and ``gamma`` are
chosen on a grid by the one-step-ahead squared error (of ``log y`` in the multiplicative form), all grid points
filtered at once; the first season initialises the states (level: its mean, season: its ratios to the mean).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
GAMMAS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclasses.dataclass
class Smoothing:
    alpha: float
    gamma: float
    season: int
    multiplicative: bool

    @classmethod
    def fit(cls, y: np.ndarray, season: int) -> Smoothing:
        """The grid point with the lowest one-step error on ``y`` (at least two seasons long)."""
        y = np.asarray(y, dtype=float)
        if season < 2 or len(y) < 2 * season:
            raise ValueError(f"exponential smoothing with a season of {season} needs a season >= 2 and at least "
                             f"{2 * season} rows, got {len(y)}")
        multiplicative = bool((y > 0).all())
        alpha, gamma = (np.array(grid, dtype=float) for grid in np.meshgrid(ALPHAS, GAMMAS, indexing="ij"))
        levels, priors = _filter(y, alpha.ravel(), gamma.ravel(), season, multiplicative)
        previous = np.concatenate([levels[:, :1], levels[:, :-1]], axis=1)  # l_{t-1}, (G, T)
        if multiplicative:
            error = np.log(y) - np.log(np.maximum(previous * priors[:, :len(y)], 1e-300))
        else:
            error = y - (previous + priors[:, :len(y)])
        best = int(np.argmin((error[:, season:] ** 2).mean(axis=1)))
        return cls(float(alpha.ravel()[best]), float(gamma.ravel()[best]), season, multiplicative)

    def priors(self, y: np.ndarray, ahead: int = 0) -> np.ndarray:
        """Each row's prior seasonal index, for the ``len(y)`` rows and ``ahead`` rows after them."""
        _, priors = _filter(np.asarray(y, dtype=float), np.array([self.alpha]), np.array([self.gamma]), self.season,
                            self.multiplicative)
        known = priors[0]  # (T + m,): rows 0 .. T + m - 1
        rows = np.arange(len(y) + ahead)
        late = rows >= len(known)
        rows[late] = len(y) + (rows[late] - len(y)) % self.season  # the latest index of the same phase
        return known[rows]

    def deseasonalise(self, y: np.ndarray, priors: np.ndarray) -> np.ndarray:
        return y / priors if self.multiplicative else y - priors

    def reseasonalise(self, d: np.ndarray, priors: np.ndarray) -> np.ndarray:
        return d * priors if self.multiplicative else d + priors

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _filter(y: np.ndarray, alpha: np.ndarray, gamma: np.ndarray, m: int, multiplicative: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """Levels (G, T) and seasonal indices (G, T + m) for G (alpha, gamma) pairs; index ``t`` of the second is
    the prior of row ``t`` (the first m: the initial season)."""
    count, length = len(alpha), len(y)
    level = np.full(count, y[:m].mean())
    seasons = np.empty((count, length + m))
    seasons[:, :m] = y[:m] / level[0] if multiplicative else y[:m] - level[0]
    levels = np.empty((count, length))
    for t in range(length):
        prior = seasons[:, t]
        if multiplicative:
            level = alpha * y[t] / prior + (1 - alpha) * level
            seasons[:, t + m] = gamma * y[t] / level + (1 - gamma) * prior
        else:
            level = alpha * (y[t] - prior) + (1 - alpha) * level
            seasons[:, t + m] = gamma * (y[t] - level) + (1 - gamma) * prior
        levels[:, t] = level
    return levels, seasons
