"""Checks on the values of a table, each fault a ``UserError`` naming file, line (or row), column and value.

    values = numeric(frame, "y")                     # float64; text in the column is refused with its place
    finite(frame, ["y", "x"])                        # inf anywhere is refused (NaN is a missing value)
    values = outliers(values, frame, "y")            # absurd values refused (or clipped with a warning, if asked)
    labels = labels_of(frame, "label")               # blank labels refused; returned as strings
    check_classes(labels, frame, "label")            # a class column that looks like free text refused
    texts = texts_of(frame, "text")                  # empty texts refused

The places come from ``rnnkit.data.inputs.place``: "data.csv, line 7" for a frame read from a file, "row 6"
for a frame given in Python.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.data.inputs import place, source
from rnnkit.errors import UserError

OUTLIER_ACTIONS = ("refuse", "clip", "keep")
# A value further from the column's median than this many times the column's typical size (its spread, or the
# median's own magnitude when larger) is taken for a mistake: 1e30 in a series between 10 and 25, not a spike.
# Exponential growth over twenty doublings stays well inside it.
OUTLIER_FACTOR = 1e6
# A class column with at least this many classes, most of them seen once, looks like free text.
FREE_TEXT_CLASSES = 50


def _value(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def numeric(frame: Any, column: str, *, where: str | None = None, what: str = "column") -> np.ndarray:
    """The values of ``column`` as float64 (empty cells are NaN); a cell that is not a number is refused with
    its place and value, and the count of such cells."""
    import pandas

    series = frame[column]
    if pandas.api.types.is_bool_dtype(series) or pandas.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pandas.to_numeric(series, errors="coerce")
    bad = (converted.isna() & series.notna() & (series.astype(str).str.strip() != "")).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        more = f" ({int(bad.sum())} cells in this column are not numbers)" if bad.sum() > 1 else ""
        raise UserError(f"{place(frame, row, where)}, {what} {column!r}: {_value(series.iloc[row])} is not a "
                        f"number{more}")
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def finite(frame: Any, columns: Sequence[str], *, where: str | None = None, missing: bool = True) -> None:
    """Refuse inf (and NaN, unless ``missing``: then NaN is an empty cell for the caller to handle) in the
    numeric ``columns``, naming the first place and value."""
    for column in columns:
        values = numeric(frame, column, where=where)
        bad = np.isinf(values) if missing else ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise UserError(f"{place(frame, row, where)}, column {column!r}: {values[row]} is not a finite number"
                            + (f" ({int(bad.sum())} such values)" if bad.sum() > 1 else ""))


def outliers(values: np.ndarray, frame: Any, column: str, *, rows: np.ndarray | None = None,
             action: str = "refuse", where: str | None = None) -> np.ndarray:
    """``values`` (one column, NaN for missing) checked for absurd values against the column's own scale.

    A value is absurd when ``|x - median| > OUTLIER_FACTOR * max(spread, |median|)``, the spread being the
    median absolute deviation (times 1.4826, a standard deviation for normal data), or the mean absolute
    deviation when more than half the values are equal. ``action``: "refuse" (a ``UserError`` naming the place),
    "clip" (to the nearest sane value, with a warning naming each place) or "keep". ``rows`` maps positions in
    ``values`` to rows of ``frame`` (default: the same positions).
    """
    if action not in OUTLIER_ACTIONS:
        raise UserError(f"outliers must be one of {list(OUTLIER_ACTIONS)}, got {action!r}")
    values = np.asarray(values, dtype=np.float64)
    present = np.isfinite(values)
    if action == "keep" or present.sum() < 3:
        return values
    sane = values[present]
    median = float(np.median(sane))
    deviation = np.abs(sane - median)
    spread = 1.4826 * float(np.median(deviation)) or 1.2533 * float(deviation.mean())
    size = max(spread, abs(median)) or 1.0
    bad = present & (np.abs(np.where(present, values, median) - median) > OUTLIER_FACTOR * size)
    if not bad.any():
        return values
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    first = int(np.flatnonzero(bad)[0])
    inliers = values[present & ~bad]
    typical = (f"the column's median is {median:.4g} and its values lie within {inliers.min():.4g} .. "
               f"{inliers.max():.4g}")
    at = place(frame, int(rows[first]), where)
    if action == "refuse":
        raise UserError(f"{at}, column {column!r}: {values[first]:.4g} is absurd for this column ({typical}; "
                        f"{int(bad.sum())} such value(s)); fix it, or pass --outliers clip (or keep)")
    warnings.warn(f"{at}, column {column!r}: clipped {int(bad.sum())} absurd value(s), the first {values[first]:.4g} "
                  f"({typical})", UserWarning, stacklevel=2)
    return np.where(bad, np.clip(values, inliers.min(), inliers.max()), values)


def blank(series: Any) -> np.ndarray:
    return (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()


def labels_of(frame: Any, column: str, *, where: str | None = None) -> list[Any]:
    """The labels of ``column``, refused when any is blank (empty cell or only spaces), naming the first place.
    Numbers stay numbers; everything else is a string, stripped of surrounding spaces."""
    series = frame[column]
    _refuse_blanks(frame, column, "label", where, lambda count, rows: f"blank ({count} of {rows} rows have no "
                   f"{column!r}); fill them in or remove those rows")
    if series.dtype.kind in "iubf":
        return series.tolist()
    return [str(value).strip() for value in series.tolist()]


def check_classes(labels: Sequence[Any], frame: Any, column: str, *, where: str | None = None) -> None:
    """Refuse a class column that cannot be one: a single class, or free text (at least ``FREE_TEXT_CLASSES``
    classes, most seen once, e.g. the texts themselves, or texts whose line breaks split rows)."""
    counts = Counter(labels)
    name = source(frame, where or "data")
    if len(counts) < 2:
        raise UserError(f"{name}: the label column {column!r} has one class only ({_value(next(iter(counts), ''))}); "
                        f"a classifier needs at least two")
    once = [label for label, count in counts.items() if count == 1]
    if len(counts) >= FREE_TEXT_CLASSES and len(once) > len(counts) / 2:
        raise UserError(f"{name}: the label column {column!r} looks like free text, not classes: {len(counts)} "
                        f"classes in {len(labels)} rows, {len(once)} of them seen once (e.g. {_value(once[0])}); "
                        f"is {column!r} the right column?")


def texts_of(frame: Any, column: str, *, where: str | None = None) -> list[str]:
    """The texts of ``column`` as strings; empty texts (an empty cell, only spaces) are refused with the place
    (all of them empty: the column is named as empty)."""
    series = frame[column]
    _refuse_blanks(frame, column, "text", where,
                   lambda count, rows: f"the text is empty ({count} of {rows} rows); remove those rows")
    return [str(value) for value in series.tolist()]


def _refuse_blanks(frame: Any, column: str, kind: str, where: str | None, problem: Any) -> None:
    """Refuse a ``kind`` column with blank cells: naming it when every row is blank, else the first blank row
    with ``problem(blank_count, row_count)``."""
    empty = blank(frame[column])
    if empty.all():
        raise UserError(f"{source(frame, where or 'data')}: the {kind} column {column!r} is empty on every row")
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise UserError(f"{place(frame, row, where)}, column {column!r}: {problem(int(empty.sum()), len(empty))}")


def same_columns(frame: Any, trained: Sequence[str], *, what: str = "the model", where: str | None = None,
                 ignore: Sequence[str] = ()) -> None:
    """Refuse a prediction table that lacks columns ``what`` was trained on, listing the difference (missing ones,
    and the table's other columns but ``ignore``, where a renamed column would show)."""
    columns = [str(c) for c in frame.columns]
    missing = [c for c in trained if c not in columns]
    if missing:
        others = [c for c in columns if c not in trained and c not in ignore]
        raise UserError(f"{source(frame, where or 'data')}: {len(missing)} of the {len(trained)} column(s) "
                        f"{what} was trained on are missing: {missing}" + (f"; the table has other columns "
                        f"{others}" if others else ""))
