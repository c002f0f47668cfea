"""Forecast accuracy: point metrics, interval coverage, and the score table of a backtest.

For actual values ``y``, forecasts ``f`` and errors ``e = y - f`` over all (series, origin, step, target) rows:

    MAE   = mean |e|                      RMSE  = sqrt(mean e^2)
    MAPE  = 100 mean |e| / |y|            sMAPE = 100 mean 2 |e| / (|y| + |f|)       (both in percent)
    MASE  = mean |e| / s                  s = in-sample seasonal naive MAE before the row's origin
    coverage(lo, hi) = mean [lo <= y <= hi]        the share of actual values inside a prediction interval

MASE below 1 beats the seasonal naive forecast's in-sample error (Hyndman & Koehler 2006). Rows without an actual
value (forecasts past the data) are left out. Functions take numpy arrays; ``score`` reads a backtest table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.data.timeseries import quantile_column

METRICS = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")


def mae(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.mean(np.abs(y - f)))


def rmse(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - f) ** 2)))


def mape(y: np.ndarray, f: np.ndarray) -> float:
    """Percent; undefined (NaN) when an actual value is 0."""
    if np.any(y == 0):
        return float("nan")
    return float(100 * np.mean(np.abs(y - f) / np.abs(y)))


def smape(y: np.ndarray, f: np.ndarray) -> float:
    denominator = np.abs(y) + np.abs(f)
    ratio = np.divide(2 * np.abs(y - f), denominator, out=np.zeros_like(denominator, dtype=float),
                      where=denominator > 0)
    return float(100 * np.mean(ratio))


def mase(y: np.ndarray, f: np.ndarray, scale: np.ndarray) -> float:
    """``scale`` per row (or one number): the seasonal naive in-sample MAE."""
    return float(np.mean(np.abs(y - f) / scale))


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((lower <= y) & (y <= upper)))


def pinball(y: np.ndarray, q_values: np.ndarray, q: float) -> float:
    e = y - q_values
    return float(np.mean(np.maximum(q * e, (q - 1) * e)))


def score(table: Any, quantiles: Sequence[float] = ()) -> dict[str, float]:
    """The metrics of one model's backtest rows; with ``quantiles``, the coverage of the widest central interval
    ``coverage_<nominal %>`` (e.g. ``coverage_80`` for 0.1 and 0.9)."""
    rows = table[table["actual"].notna()]
    y, f = rows["actual"].to_numpy(float), rows["forecast"].to_numpy(float)
    result = {"MAE": mae(y, f), "RMSE": rmse(y, f), "MAPE": mape(y, f), "sMAPE": smape(y, f),
              "MASE": mase(y, f, rows["scale"].to_numpy(float))}
    levels = [q for q in quantiles if quantile_column(q) in rows.columns and rows[quantile_column(q)].notna().all()]
    if len(levels) >= 2:
        low, high = levels[0], levels[-1]
        nominal = round(100 * (high - low))
        result[f"coverage_{nominal}"] = coverage(y, rows[quantile_column(low)].to_numpy(float),
                                                 rows[quantile_column(high)].to_numpy(float))
    return result


def score_table(table: Any, quantiles: Sequence[float] = ()) -> list[dict[str, Any]]:
    """One row of metrics per ``model`` in a backtest table, in order of first appearance."""
    return [{"model": name, **score(table[table["model"] == name], quantiles)}
            for name in dict.fromkeys(table["model"])]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table for the terminal: columns aligned, numbers with 4 significant digits."""
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths))]
    lines += ["  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in
                        enumerate(zip(line, widths))) for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)
