"""A time column as people write it, read into timestamps (or plain steps), or refused with an example.

    parse_times(frame["month"], "month", where="sales.csv", numbers=lines, word="line")

- integers (1, 2, 3 or 1949, 1950, ...): plain steps, never nanoseconds since 1970;
- decimal years, as R's ``ts`` exports them (1920.000, 1920.083, ...; 1, 2, 4 or 12 steps a year): the dates they
  stand for (1920-01-01, 1920-02-01, ...); numbers that are neither are refused, with an example;
- ``YYYYQn`` quarters (``1990Q1``, ``1990-Q1``, ``1990 Q1``): the first day of each quarter;
- dates and timestamps in any format pandas reads (``YYYY-MM``, ``YYYY-MM-DD``, ISO times, time zones converted to
  UTC); day-month order in ``01/02/2020``-style dates is taken from a value that settles it (a day above 12),
  and refused, with both readings of an example, when none does.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from rnnkit.errors import UserError

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(\s.*)?$")
STEPS_A_YEAR = (1, 2, 4, 12)


def parse_times(raw: Any, column: str, *, where: str, numbers: np.ndarray, word: str) -> Any:
    """``raw`` (a pandas Series) as a ``DatetimeIndex``, or an ``Index`` of integer steps; see the module."""
    import pandas as pd

    if raw.isna().any():
        row = int(np.flatnonzero(raw.isna().to_numpy())[0])
        raise UserError(f"{where}: time column {column!r} is empty at {word} {numbers[row]}")
    if pd.api.types.is_bool_dtype(raw):
        raise UserError(f"{where}: time column {column!r} holds true/false values, not times")
    if pd.api.types.is_integer_dtype(raw):  # plain step numbers (1, 2, 3, ...), not nanoseconds since 1970
        return pd.Index(raw.to_numpy())
    if pd.api.types.is_float_dtype(raw):
        return _from_numbers(raw.to_numpy(dtype=np.float64), column, where)
    text = raw.astype(str)
    quarters = text.str.match(_QUARTER)
    if quarters.all():
        parts = text.str.extract(_QUARTER)
        return pd.DatetimeIndex(pd.to_datetime({"year": parts[0].astype(int), "month": parts[1].astype(int) * 3 - 2,
                                                "day": 1}))
    return _from_text(text, column, where, numbers, word)


def _from_numbers(values: np.ndarray, column: str, where: str) -> Any:
    import pandas as pd

    if np.all(values == np.round(values)):  # 1.0, 2.0, ...: whole steps written as decimals
        return pd.Index(values.astype(np.int64))
    steps = np.diff(values)
    per_year = round(1 / float(np.median(steps))) if len(steps) and np.median(steps) > 0 else 0
    plausible = 1000 <= values.min() and values.max() <= 3000 and per_year in STEPS_A_YEAR
    if plausible:
        years = np.floor(values + 1e-6)
        period = np.round((values - years) * per_year).astype(int)
        if np.all(np.abs((values - years) * per_year - period) < 0.01) and np.all(period < per_year):
            months = period * (12 // per_year) + 1
            return pd.DatetimeIndex(pd.to_datetime({"year": years.astype(int), "month": months, "day": 1}))
    example = values[np.flatnonzero(values != np.round(values))[0]]
    raise UserError(f"{where}: time column {column!r} holds decimal numbers (e.g. {example:g}) that are neither whole "
                    f"steps nor decimal years with {', '.join(map(str, STEPS_A_YEAR))} steps a year; write dates "
                    f"(YYYY-MM-DD), whole-number steps, or leave the time column out")


def _from_text(text: Any, column: str, where: str, numbers: np.ndarray, word: str) -> Any:
    import pandas as pd

    dayfirst = _day_first(text, column, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format": each value is tried
            times = pd.to_datetime(text, dayfirst=bool(dayfirst), format=None if dayfirst is None else "mixed")
    except (ValueError, TypeError, OverflowError):
        for row, value in enumerate(text):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    pd.to_datetime(value, dayfirst=bool(dayfirst))
            except (ValueError, TypeError, OverflowError):
                raise UserError(f"{where}: time column {column!r} has a value that is not a date or time at {word} "
                                f"{numbers[row]}: {value!r}") from None
        raise UserError(f"{where}: time column {column!r} mixes incompatible date formats (e.g. {text.iloc[0]!r}); "
                        f"write every date the same way, e.g. YYYY-MM-DD") from None
    if getattr(times.dt, "tz", None) is not None:  # one clock for every series: drop the zone after converting
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DatetimeIndex(times)


def _day_first(text: Any, column: str, where: str) -> bool | None:
    """For ``dd/mm/yyyy`` or ``mm/dd/yyyy`` dates: True (day first) or False, settled by a value above 12 in one
    of the two places; refused when no value settles it. None for dates written another way."""
    parts = text.str.extract(_SLASHED)
    if parts[0].isna().any():
        return None
    first, second = parts[0].astype(int), parts[1].astype(int)
    if (first > 12).any() and (second > 12).any():
        raise UserError(f"{where}: time column {column!r} mixes day/month and month/day dates "
                        f"({text[first > 12].iloc[0]!r}, {text[second > 12].iloc[0]!r}); write dates as YYYY-MM-DD")
    if (first > 12).any() or (second > 12).any():
        return bool((first > 12).any())
    row = int(np.argmax((first != second).to_numpy()))  # an example whose two readings differ, when there is one
    example, (a, b, year) = text.iloc[row], parts.iloc[row, :3]
    raise UserError(f"{where}: time column {column!r} is ambiguous: {example!r} reads as month {a}, day {b} "
                    f"(US) or day {a}, month {b} of {year}, and no date settles which; write dates as YYYY-MM-DD")
