"""Calendar features and season lengths derived from a series' timestamps and frequency.

Calendar features are Fourier terms of the position in each cycle the frequency can show (time of day, day of
week, day of year, month of year): for a cycle of period P and harmonic k,

    sin(2 pi k u / P),  cos(2 pi k u / P),    u = position in the cycle (hour of the day, month - 1, ...)

Smooth, bounded, and the same for every series and every future date, so they are known-future covariates for
free. Harmonics up to 3 let a day-of-week pattern have a weekend step. A cycle is used only when the training data
spans at least two of its periods (``calendar_cycles``): over a shorter span the feature is a slow ramp, which a
network reads as "time since the start" and extrapolates badly past it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.data.timeseries.frame import pandas

HARMONICS = 3
_DAY = 86400.0  # seconds


def steps_per_day(freq: str) -> float | None:
    """How many steps of ``freq`` make a day, for fixed sub-daily and daily frequencies (else None)."""
    pd = pandas()
    offset = pd.tseries.frequencies.to_offset(freq)
    if offset.name.split("-")[0] == "D":  # a calendar day in pandas 3, not a fixed 24 h: still one step a day
        return 1.0 / offset.n
    try:
        seconds = pd.Timedelta(offset).total_seconds()
    except ValueError:  # months, quarters, years, business days: not a fixed duration
        return None
    return _DAY / seconds if seconds > 0 else None


def season_length(freq: str | None) -> int:
    """The main seasonal period in steps: a day for sub-daily data, a week for daily, a year above. 1 if none."""
    if freq is None:
        return 1
    pd = pandas()
    per_day = steps_per_day(freq)
    if per_day is not None:
        if per_day > 1:
            return max(1, round(per_day))
        return 7 if per_day == 1 else (52 if per_day == 1 / 7 else 1)
    code = pd.tseries.frequencies.to_offset(freq).name.split("-")[0]
    n = pd.tseries.frequencies.to_offset(freq).n
    per_year = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "SMS": 24, "SME": 24}.get(code)
    if code in ("B", "C"):
        return 5
    if code == "W":
        return 52
    return max(1, per_year // n) if per_year else 1


def _cycles(freq: str) -> list[tuple[str, float]]:
    """The cycles worth encoding at ``freq``: (name, period in that cycle's units)."""
    per_day = steps_per_day(freq)
    if per_day is not None and per_day > 1:
        return [("time_of_day", 1.0), ("day_of_week", 7.0), ("day_of_year", 365.25)]
    if per_day is not None and per_day == 1 or freq.split("-")[0] in ("B", "C"):
        return [("day_of_week", 7.0), ("day_of_year", 365.25)]
    if per_day is not None and per_day == 1 / 7 or freq.split("-")[0] == "W":
        return [("day_of_year", 365.25)]
    return [("month_of_year", 12.0)] if season_length(freq) in (12, 4, 24) else []


def _selected(freq: str, cycles: list[str] | None) -> list[tuple[str, float]]:
    return [(cycle, period) for cycle, period in _cycles(freq) if cycles is None or cycle in cycles]


def _position(index: Any, cycle: str) -> np.ndarray:
    if cycle == "time_of_day":
        return ((index - index.normalize()).total_seconds() / _DAY).to_numpy()
    if cycle == "day_of_week":
        return index.dayofweek.to_numpy() + ((index - index.normalize()).total_seconds() / _DAY).to_numpy()
    if cycle == "day_of_year":
        return index.dayofyear.to_numpy() - 1.0
    return index.month.to_numpy() - 1.0


_PERIOD_DAYS = {"time_of_day": 1.0, "day_of_week": 7.0, "day_of_year": 365.25, "month_of_year": 365.25}


def calendar_cycles(index: Any, freq: str | None) -> list[str]:
    """The cycles worth encoding for data at ``freq`` spanning ``index``: at least two periods of each."""
    if freq is None or len(index) < 2:
        return []
    span_days = (index[-1] - index[0]).total_seconds() / _DAY
    return [cycle for cycle, _ in _cycles(freq) if span_days >= 2 * _PERIOD_DAYS[cycle]]


def calendar_feature_names(freq: str | None, cycles: list[str] | None = None) -> list[str]:
    if freq is None:
        return []
    names = []
    for cycle, period in _selected(freq, cycles):
        harmonics = 1 if cycle == "day_of_year" else HARMONICS  # a yearly shape beyond the seasons is noise
        for k in range(1, harmonics + 1):
            names += [f"{cycle}_sin{k}", f"{cycle}_cos{k}"]
    return names


def calendar_features(index: Any, freq: str | None, cycles: list[str] | None = None) -> np.ndarray:
    """Fourier calendar features (len(index), C) for timestamps at ``freq``; (len, 0) without a calendar.
    ``cycles`` picks cycles by name (default: every cycle ``freq`` can show)."""
    if freq is None:
        return np.zeros((len(index), 0))
    columns = []
    for cycle, period in _selected(freq, cycles):
        position = _position(index, cycle)
        harmonics = 1 if cycle == "day_of_year" else HARMONICS
        for k in range(1, harmonics + 1):
            angle = 2 * np.pi * k * position / period
            columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(index), 0))
