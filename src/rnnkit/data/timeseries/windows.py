"""Forecasting windows: scaled series as row tensors, and lookback -> horizon windows over them. Batch first.

For a forecast origin ``t`` of a series (the number of its rows known when the forecast is made), the model reads

    past   = encoder rows [t - L, t)     (B, L, E)   scaled targets, past and future covariates, calendar
    future = decoder rows [t, t + H)     (B, H, D)   known-future covariates and calendar over the horizon
    target = target rows  [t, t + H)     (B, H, N)   scaled targets to predict

with E = N + P + F + C columns in that order and D = F + C. Rows of all series are concatenated once; a window is
just its origin, and a batch gathers its windows with one indexing operation per tensor (stacking 32 small
tensors per batch would cost more than the recurrent layer at forecasting sizes).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.timeseries.features import calendar_features
from rnnkit.data.timeseries.frame import Series, future_index
from rnnkit.data.timeseries.scale import Scaler, boxcox_lambda


class ForecastBatch(NamedTuple):
    past: Tensor  # (B, L, E)
    future: Tensor  # (B, H, D)
    target: Tensor  # (B, H, N): NaN beyond a series' last observed row (predict-only windows)


@dataclasses.dataclass
class SeriesScalers:
    """One series' scalers: its targets (maybe on a log scale), past and future covariates."""

    target: Scaler
    past: Scaler
    future: Scaler

    @classmethod
    def fit(cls, series: Series, rows: int, *, transform: str = "none", season: int = 1) -> SeriesScalers:
        """Fit on the first ``rows`` observed rows only (the training part). ``transform``: "none", "log", or
        "boxcox" (each target column its own lambda, by Guerrero's method over seasons of ``season`` rows)."""
        target = series.target[:rows]
        boxcox = None
        if transform == "boxcox":  # a column with values <= 0 is refused by Scaler.fit, which names the value
            boxcox = [boxcox_lambda(column, season) if (column > 0).all() else 1.0 for column in target.T]
        return cls(Scaler.fit(target, log=transform == "log", boxcox=boxcox, what=f"series {series.id!r} target"),
                   Scaler.fit(series.past[:rows]), Scaler.fit(series.future[:rows]))

    def to_dict(self) -> dict:
        return {"target": self.target.to_dict(), "past": self.past.to_dict(), "future": self.future.to_dict()}

    @classmethod
    def from_dict(cls, document: dict) -> SeriesScalers:
        return cls(*(Scaler.from_dict(document[key]) for key in ("target", "past", "future")))


def encode_series(series: Series, scalers: SeriesScalers, freq: str | None, *, calendar: list[str],
                  horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled rows (encoder, decoder, target) of ``series``, extended ``horizon`` rows past its last observation.
    ``calendar`` names the calendar cycles to encode (see ``rnnkit.data.timeseries.features``).

    The extension carries the calendar and the known-future covariates of the series' future rows (zeros past the
    rows given: see ``known_steps``); encoder and target rows there are NaN (never read by a valid window).
    """
    observed, total = len(series), len(series) + horizon
    index = series.index[:observed].append(future_index(series, freq, horizon))
    future = series.future[:total]
    future = np.concatenate([future, np.zeros((total - len(future), future.shape[1]))])
    cal = calendar_features(index, freq, calendar) if calendar else np.zeros((total, 0))
    scaled_future = scalers.future.transform(future) if future.shape[1] else future
    target = np.full((total, series.target.shape[1]), np.nan)
    target[:observed] = scalers.target.transform(series.target)
    past = np.full((total, series.past.shape[1]), np.nan)
    past[:observed] = scalers.past.transform(series.past) if series.past.shape[1] else series.past
    encoder = np.concatenate([target, past, scaled_future, cal], axis=1)
    decoder = np.concatenate([scaled_future, cal], axis=1)
    return encoder, decoder, target


def known_steps(series: Series, horizon: int) -> int:
    """How many of the next ``horizon`` steps have their known-future covariates given (all, without any).

    Step t of either decoder reads the covariates of steps 1..t only, so the first ``known_steps`` forecasts are
    exact even though the rows after them were padded with zeros.
    """
    if series.future.shape[1] == 0:
        return horizon
    return min(horizon, len(series.future) - len(series))


class WindowDataset(torch.utils.data.Dataset):
    """Windows over encoded series. ``origins[i]`` lists the forecast origins wanted in series ``i``.

    ``dataset[k]`` is the k-th window's row offset (an int); ``dataset.collate`` turns a list of them into a
    ``ForecastBatch``. Pass ``collate_fn=dataset.collate`` to the trainer.
    """

    def __init__(self, encoded: list[tuple[np.ndarray, np.ndarray, np.ndarray]], origins: list[list[int]],
                 lookback: int, horizon: int) -> None:
        self.lookback, self.horizon = lookback, horizon
        self.encoder = torch.tensor(np.concatenate([e for e, _, _ in encoded]), dtype=torch.float32)
        self.decoder = torch.tensor(np.concatenate([d for _, d, _ in encoded]), dtype=torch.float32)
        self.target = torch.tensor(np.concatenate([t for _, _, t in encoded]), dtype=torch.float32)
        self._rows = [len(e) for e, _, _ in encoded]
        self._offsets = np.cumsum([0] + self._rows)
        self.origins = self._global(origins)
        self._back = torch.arange(-lookback, 0)
        self._ahead = torch.arange(horizon)

    def _global(self, origins: list[list[int]]) -> Tensor:
        starts = []
        for offset, rows, wanted in zip(self._offsets, self._rows, origins):
            for origin in wanted:
                if origin < self.lookback or origin + self.horizon > rows:
                    raise ValueError(f"origin {origin} needs rows [{origin - self.lookback}, "
                                     f"{origin + self.horizon}) of {rows}")
                starts.append(int(offset) + origin)
        return torch.tensor(starts, dtype=torch.long)

    def view(self, origins: list[list[int]]) -> WindowDataset:
        """Other windows over the same rows (a validation set): one ``collate`` serves both."""
        other = copy.copy(self)
        other.origins = self._global(origins)
        return other

    def __len__(self) -> int:
        return len(self.origins)

    def __getitem__(self, index: int) -> int:
        return int(self.origins[index])

    def collate(self, items: list[int]) -> ForecastBatch:
        origin = torch.tensor(items, dtype=torch.long).unsqueeze(1)  # (B, 1)
        ahead = origin + self._ahead  # (B, H)
        return ForecastBatch(self.encoder[origin + self._back], self.decoder[ahead], self.target[ahead])

    def batch(self) -> ForecastBatch:
        """Every window in one batch (prediction)."""
        return self.collate(self.origins.tolist())


def training_origins(length: int, lookback: int, horizon: int, stop: int, start: int | None = None) -> list[int]:
    """Origins whose horizon ends by row ``stop`` (and, if given, starts at or after ``start``)."""
    first = max(lookback, start if start is not None else lookback)
    return list(range(first, stop - horizon + 1))
