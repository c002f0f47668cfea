"""Time series tables in, checked series out: one series or many (long format), targets and covariates.

    frame = read_table("sales.csv")                            # a CSV or Parquet path, or a pandas DataFrame
    panel = to_panel(frame, SeriesColumns(target=("sales",), time="date", id="store", future_covariates=("promo",)))

Every problem is a ``UserError`` that names the series, the row and the timestamp: a missing column, a time that
does not parse, duplicate or unsorted timestamps, an irregular frequency, gaps, missing values. Nothing is repaired
unless asked: ``sort=True`` sorts, ``fill="interpolate" | "ffill" | "zero"`` fills gaps and missing values.

Rows after a series' last target value whose known-future covariates are filled are its *future rows*: the values
of those covariates over the horizon to forecast (temperature forecasts, holidays). Rows are numbered from 1, the
header not counted, as a spreadsheet shows them below the header.

pandas is an optional dependency (``rnnkit[forecast]``): it is imported when a table is read, not before.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._optional import require
from rnnkit.data import checks, inputs
from rnnkit.data.timeseries.times import parse_times
from rnnkit.errors import UserError

FILLS = ("interpolate", "ffill", "zero")


def pandas() -> Any:
    return require("pandas", "forecast", why="to read time series tables")


@dataclasses.dataclass(frozen=True)
class SeriesColumns:
    """The roles of a table's columns. ``time=None``: rows are consecutive steps; ``id=None``: one series."""

    target: tuple[str, ...]
    time: str | None = None
    id: str | None = None
    past_covariates: tuple[str, ...] = ()  # known up to the forecast origin only (e.g. yesterday's price)
    future_covariates: tuple[str, ...] = ()  # known over the horizon too (temperature forecast, holidays)

    def __post_init__(self) -> None:
        for name in ("target", "past_covariates", "future_covariates"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if not self.target:
            raise UserError("at least one target column is needed")
        roles = [*self.target, *self.past_covariates, *self.future_covariates, self.time, self.id]
        named = [column for column in roles if column is not None]
        repeated = sorted({column for column in named if named.count(column) > 1})
        if repeated:
            raise UserError(f"column(s) {repeated} are given more than one role (target, time, id, covariates)")


@dataclasses.dataclass
class Series:
    """One checked series. ``index`` covers observed and future rows; the first ``len(target)`` are observed.

    ``target`` (T, n_targets), ``past`` (T, n_past), ``future`` (T + K, n_future): K future rows.
    ``index`` is a ``DatetimeIndex`` (or a ``RangeIndex`` of steps when there is no time column).
    """

    id: str
    index: Any
    target: np.ndarray
    past: np.ndarray
    future: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    def head(self, length: int, keep_future: int = 0) -> Series:
        """The first ``length`` observed rows, as known at that cut-off; ``keep_future`` rows after it keep their
        known-future covariates (a backtest forecasts with the covariates' actual values over its horizon)."""
        end = length + keep_future
        return Series(self.id, self.index[:end], self.target[:length], self.past[:length], self.future[:end])


@dataclasses.dataclass
class Panel:
    """Series that share columns and frequency (``freq`` a pandas offset alias, None for plain steps)."""

    series: list[Series]
    columns: SeriesColumns
    freq: str | None

    def cut(self, lengths: list[int], keep_future: int = 0) -> Panel:
        """Each series cut to its own length (see ``Series.head``)."""
        return Panel([s.head(n, keep_future) for s, n in zip(self.series, lengths)], self.columns, self.freq)


def read_table(source: Any, *, encoding: str | None = None) -> Any:
    """A ``DataFrame`` from a CSV or Parquet path (by suffix; ``rnnkit.data.inputs.read_table``: every fault a
    ``UserError`` with file and line), or a ``DataFrame`` given as is."""
    pd = pandas()
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, pd.Series):
        return source.to_frame(name=source.name if source.name is not None else "value")
    return inputs.read_table(Path(source), encoding=encoding)


def to_panel(frame: Any, columns: SeriesColumns, *, freq: str | None = None, fill: str | None = None,
             sort: bool = False, where: str = "data", outliers: str = "refuse") -> Panel:
    """Check ``frame`` and split it into series (in order of first appearance of each id).

    Values must be numbers, and finite (an empty cell is a missing value, inf is refused); a target value absurd
    for its series' own scale is refused (``outliers="refuse"``), clipped with a warning ("clip") or kept
    ("keep"): ``rnnkit.data.checks.outliers``. Rows are named by their file line when ``frame`` was read from
    a file, else by their number from 1 (the header not counted)."""
    pd = pandas()
    if fill is not None and fill not in FILLS:
        raise UserError(f"fill must be one of {list(FILLS)} or None, got {fill!r}")
    roles = [*columns.target, *columns.past_covariates, *columns.future_covariates, columns.time, columns.id]
    missing = [c for c in roles if c is not None and c not in frame.columns]
    if missing:
        raise UserError(f"{where}: column(s) {missing} not found; the columns are {[str(c) for c in frame.columns]}")
    frame = frame.reset_index(drop=True)
    values = [*columns.target, *columns.past_covariates, *columns.future_covariates]
    numbers, word = inputs.row_numbers(frame)
    for column in values:
        frame[column] = checks.numeric(frame, column, where=where)
    checks.finite(frame, values, where=where)
    times = _parse_times(frame, columns.time, where, numbers, word)
    ids = frame[columns.id].astype(str) if columns.id else pd.Series(["series"] * len(frame))
    if columns.id and frame[columns.id].isna().any():
        row = int(np.flatnonzero(frame[columns.id].isna().to_numpy())[0])
        raise UserError(f"{where}: id column {columns.id!r} is empty at {word} {numbers[row]}")
    groups = {key: np.flatnonzero((ids == key).to_numpy()) for key in dict.fromkeys(ids)}
    if not groups:
        raise UserError(f"{where}: the table has no rows")
    for rows in groups.values():
        for column in columns.target:
            checked = checks.outliers(frame[column].to_numpy()[rows], frame, column, rows=rows, action=outliers,
                                      where=where)
            frame.loc[rows, column] = checked
    ordered = {key: _order_rows(times, rows, key, where, sort, numbers, word) for key, rows in groups.items()}
    if freq is None and columns.time is not None:
        freq = _infer_freq(times, ordered, where)
    series = [_build_series(frame, times, rows, key, columns, freq, fill, where, numbers, word)
              for key, rows in ordered.items()]
    return Panel(series, columns, freq)


def future_index(series: Series, freq: str | None, horizon: int) -> Any:
    """The ``horizon`` timestamps (or steps) after the last observed row of ``series``."""
    pd = pandas()
    last = series.index[len(series) - 1]
    if freq is None:  # integer steps (or row numbers): continue with the series' own spacing
        step = int(series.index[1] - series.index[0]) if len(series.index) > 1 else 1
        return pd.Index(last + step * np.arange(1, horizon + 1))
    return pd.date_range(last, periods=horizon + 1, freq=freq)[1:]


def _parse_times(frame: Any, column: str | None, where: str, numbers: np.ndarray, word: str) -> Any:
    return None if column is None else parse_times(frame[column], column, where=where, numbers=numbers, word=word)


def _order_rows(times: Any, rows: np.ndarray, key: str, where: str, sort: bool, numbers: np.ndarray,
                word: str) -> np.ndarray:
    if times is None:
        return rows
    stamps = times[rows]
    if not stamps.is_unique:
        counts = Counter(stamps)
        first = next(stamp for stamp in stamps if counts[stamp] > 1)
        at = [int(numbers[r]) for r in rows[np.flatnonzero(stamps == first)]]
        total = sum(count - 1 for count in counts.values() if count > 1)
        raise UserError(f"{where}: series {key!r} has {total} duplicate timestamp(s); the first, {first}, is at "
                        f"{word}s {at}. Remove or aggregate the duplicates" + ("" if key != "series" else
                        ", or name the column that tells several series apart with id= (--id)"))
    if not stamps.is_monotonic_increasing:
        if sort:
            return rows[np.argsort(stamps.to_numpy(), kind="stable")]
        values = stamps.to_numpy()
        i = int(np.flatnonzero(values[1:] < values[:-1])[0])
        raise UserError(f"{where}: series {key!r} is not in time order: {word} {numbers[rows[i + 1]]} "
                        f"({stamps[i + 1]}) comes after {word} {numbers[rows[i]]} ({stamps[i]}). Sort the table, or "
                        f"pass sort=True (--sort)")
    return rows


def _infer_freq(times: Any, ordered: dict[str, np.ndarray], where: str) -> str | None:
    pd = pandas()
    if not isinstance(times, pd.DatetimeIndex):
        return None
    longest = times[max(ordered.values(), key=len)].sort_values()
    if len(longest) < 3:
        raise UserError(f"{where}: cannot infer a frequency from fewer than 3 timestamps; pass freq= (--freq)")
    found = pd.infer_freq(longest)
    if found is None:  # gaps defeat pandas' inference: take the most common spacing of 3 consecutive stamps
        starts = range(0, len(longest) - 2, max(1, (len(longest) - 2) // 500))
        votes = Counter(pd.infer_freq(longest[i:i + 3]) for i in starts)
        votes.pop(None, None)
        if not votes:
            raise UserError(f"{where}: cannot infer a regular frequency from the timestamps; pass freq= (--freq), "
                            f"e.g. 'D', 'h', '30min', 'MS'")
        found = votes.most_common(1)[0][0]
    return found


def _build_series(frame: Any, times: Any, rows: np.ndarray, key: str, columns: SeriesColumns, freq: str | None,
                  fill: str | None, where: str, numbers: np.ndarray, word: str) -> Series:
    pd = pandas()
    names = [*columns.target, *columns.past_covariates, *columns.future_covariates]
    table = frame.loc[rows, names].astype(float)
    table.index = pd.RangeIndex(len(table)) if times is None else times[rows]
    row_numbers = pd.Series(numbers[rows], index=table.index)
    if times is not None:
        grid = _regular_grid(table.index, freq, key, row_numbers, where, word)
        gaps = grid.difference(table.index)
        if len(gaps) and fill is None:
            raise UserError(f"{where}: series {key!r} has {len(gaps)} missing timestamp(s) at frequency {freq!r} "
                            f"(gaps); the first is {gaps[0]}. Pass fill='interpolate', 'ffill' or 'zero' (--fill) "
                            f"to fill them, or freq= if the frequency is not {freq!r}")
        table, row_numbers = table.reindex(grid), row_numbers.reindex(grid)
    targets = table[list(columns.target)]
    observed = targets.notna().any(axis=1).to_numpy()
    if not observed.any():
        raise UserError(f"{where}: series {key!r} has no target value")
    end = int(np.flatnonzero(observed)[-1]) + 1 if columns.future_covariates else len(table)
    history, ahead = table.iloc[:end], table.iloc[end:]
    history = _fill_missing(history, fill, key, row_numbers, where, word)
    if columns.future_covariates and ahead[list(columns.future_covariates)].isna().to_numpy().any():
        bad = ahead[list(columns.future_covariates)].isna().any(axis=1)
        stamp = bad.index[np.flatnonzero(bad.to_numpy())[0]]
        raise UserError(f"{where}: series {key!r} has future rows (after its last target value) with missing "
                        f"known-future covariates at {stamp}; fill them or remove those rows")
    future = pd.concat([history, ahead])[list(columns.future_covariates)].to_numpy()
    return Series(key, table.index, history[list(columns.target)].to_numpy(),
                  history[list(columns.past_covariates)].to_numpy(), future)


def _regular_grid(index: Any, freq: str | None, key: str, row_numbers: Any, where: str, word: str) -> Any:
    pd = pandas()
    if freq is None:  # integer steps: the grid spacing is the smallest one seen
        step = int(np.diff(index.to_numpy()).min()) if len(index) > 1 else 1
        return pd.Index(np.arange(index[0], index[-1] + 1, step))
    try:
        grid = pd.date_range(index[0], index[-1], freq=freq)
    except ValueError:
        raise UserError(f"{where}: {freq!r} is not a frequency pandas knows (--freq: e.g. 'D', 'h', '30min', 'W', "
                        f"'MS', 'QS', 'YS')") from None
    off = index.difference(grid)
    if len(off):
        raise UserError(f"{where}: series {key!r} has timestamps off the {freq!r} grid that starts at {index[0]}: "
                        f"the first is {off[0]} at {word} {int(row_numbers[off[0]])}; pass the right freq= (--freq)")
    return grid


def _fill_missing(table: Any, fill: str | None, key: str, row_numbers: Any, where: str, word: str) -> Any:
    holes = table.isna()
    if not holes.to_numpy().any():
        return table
    if fill is None:
        column = holes.any().idxmax()
        stamp = holes.index[np.flatnonzero(holes[column].to_numpy())[0]]
        row = row_numbers.get(stamp)
        at = f"{word} {int(row)}" if row is not None and row == row else "a gap"
        raise UserError(f"{where}: series {key!r} has {int(holes.to_numpy().sum())} missing value(s); the first is "
                        f"column {column!r} at {stamp} ({at}). Pass fill='interpolate', 'ffill' or 'zero' (--fill)")
    if fill == "zero":
        return table.fillna(0.0)
    filled = table.interpolate(limit_direction="both") if fill == "interpolate" else table.ffill()
    return filled.bfill()  # leading holes: the first value there is
