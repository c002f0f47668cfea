"""Small plotting functions, each returning a ``matplotlib.figure.Figure`` (``draw_trajectory`` draws a pen
trajectory on the axes it is given).

Figures are built with ``Figure()``, never through ``pyplot``: no global state, no GUI backend, nothing to close
(``Figure.savefig`` renders with Agg). Hand them to ``Report.add_figure`` or call ``fig.savefig(path)``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_X_KEYS = ("epoch", "step")  # the first of these present in a history row is the x axis
_SPLITS = ("train_", "val_", "test_")  # metrics that differ only by these prefixes share a panel
PAGE_WIDTH = 8.5  # inches: the report's 60rem column at 110 dpi; a wider figure is shrunk, and its text with it


def learning_curves(
    history: Sequence[Mapping[str, Any]],
    metrics: Sequence[str] | None = None,
    *,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Metric-per-epoch curves from ``history``, a list of per-epoch dicts (``{"epoch": 1, "train_loss": ...}``).

    x is ``epoch`` (or ``step``) when the rows have it, else 1, 2, ... ``metrics`` picks the keys to draw (default:
    every numeric key but x). Keys that differ only by a ``train_``/``val_``/``test_`` prefix share one panel
    (``train_loss`` and ``val_loss`` in "loss"); a row without a key leaves a gap.
    """
    if not history:
        raise ValueError("learning_curves: history is empty")
    x_key = next((key for key in _X_KEYS if all(key in row for row in history)), None)
    xs = [row[x_key] for row in history] if x_key else list(range(1, len(history) + 1))
    if metrics is None:
        metrics = [key for key in _keys_in_order(history) if key != x_key and _is_number(_first(history, key))]
    if not metrics:
        raise ValueError("learning_curves: no numeric metric to plot in history")

    panels: dict[str, list[str]] = {}
    for key in metrics:
        panels.setdefault(_strip_split(key), []).append(key)
    fig = Figure(figsize=(min(4.5, PAGE_WIDTH / len(panels)) * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, keys) in zip(axes, panels.items()):
        for key in keys:
            ys = [_as_float(row.get(key)) for row in history]
            ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3, label=key)
        _set_log_if_possible(ax, [_as_float(row.get(k)) for row in history for k in keys], logy)
        ax.set_xlabel(x_key or "epoch")
        ax.xaxis.set_major_locator(MaxNLocator("auto", integer=True))  # whole epochs, as many as the width holds
        if len(set(xs)) == 1:  # one epoch: the locator would put fractions round it
            ax.set_xticks(xs[:1])
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def line_plot(
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    xlabel: str = "",
    ylabel: str = "",
    *,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """One line per entry of ``series`` (label -> ys, each as long as ``xs``), e.g. gradient norm vs distance.

    With ``logy`` values that are not positive (a gradient that vanished to exactly 0) are left out as gaps;
    when no value at all is positive the axis stays linear.
    """
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    everything: list[float] = []
    for label, ys in series.items():
        ys = [_as_float(y) for y in ys]
        if len(ys) != len(xs):
            raise ValueError(f"line_plot: series {label!r} has {len(ys)} values for {len(xs)} xs")
        if logy:
            ys = [y if y > 0 else math.nan for y in ys]
        everything += ys
        ax.plot(list(xs), ys, label=str(label))
    _set_log_if_possible(ax, everything, logy)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def heatmap(
    matrix: Any,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    xlabel: str = "",
    ylabel: str = "",
    annotate: bool | None = None,
    cmap: str = "viridis",
) -> Figure:
    """A 2-D array (numpy, torch or nested lists) as a colour grid: a confusion matrix, gates over time, ...

    Row ``i`` is drawn top to bottom. ``annotate`` writes each value in its cell (default: when there are at most
    20 x 20 cells). NaN cells stay blank.
    """
    values = _as_array(matrix)
    if values.ndim != 2:
        raise ValueError(f"heatmap: expected a 2-D matrix, got shape {values.shape}")
    rows, cols = values.shape
    for labels, count, what in ((row_labels, rows, "row"), (col_labels, cols, "column")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"heatmap: {len(labels)} {what} labels for {count} {what}s")

    fig = Figure(figsize=(min(3.0 + 0.5 * cols, PAGE_WIDTH), min(2.5 + 0.45 * rows, 10.0)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, cmap=cmap, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax)
    if row_labels is not None:
        ax.set_yticks(range(rows), tick_labels(row_labels))
    if col_labels is not None:
        names = tick_labels(col_labels)
        ax.set_xticks(range(cols), names, rotation=45 if max(map(len, names), default=0) > 4 else 0, ha="right")
    text_size = 9 if max(rows, cols) <= 10 else 7  # points: readable, and still fits a 20 x 20 grid
    if annotate if annotate is not None else rows * cols <= 400:
        finite = values[np.isfinite(values)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        counts = bool(finite.size) and np.array_equal(finite, np.round(finite))  # whole: 2750, not 2.75e+03
        for i in range(rows):
            for j in range(cols):
                if np.isfinite(values[i, j]):
                    color = "black" if values[i, j] > middle else "white"  # viridis: light at the top
                    text = f"{values[i, j]:.0f}" if counts else f"{values[i, j]:.3g}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=text_size, color=color)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig


def tick_labels(labels: Sequence[Any], width: int = 16) -> list[str]:
    """Class names fit for an axis: each wrapped at ``width`` characters onto at most two lines ("..." when cut)."""
    fitted = []
    for label in labels:
        lines = textwrap.wrap(str(label), width) or [""]
        fitted.append("\n".join(lines[:2]) + ("..." if len(lines) > 2 else ""))
    return fitted


def draw_trajectory(ax: Any, X: np.ndarray, *, pen_up_moves: bool = False, **line_kwargs) -> None:
    """Draw one (T, 3) trajectory of (dx, dy, pen_up) on a matplotlib axes, a line per stroke."""
    from rnnkit.datasets.handwriting import absolute  # lazily: rnnkit.datasets loads every data set's module

    points = absolute(X)
    ends = np.flatnonzero(points[:, 2] > 0) + 1
    style = {"color": "black", "linewidth": 1.0} | line_kwargs
    for stroke in np.split(points[:, :2], ends):
        if len(stroke):
            ax.plot(stroke[:, 0], stroke[:, 1], **style)
    if pen_up_moves:
        for end in ends[:-1]:
            ax.plot(points[end - 1:end + 1, 0], points[end - 1:end + 1, 1], color="tab:red", linewidth=0.5,
                    linestyle=":")
    ax.set_aspect("equal")
    ax.axis("off")


def _set_log_if_possible(ax: Any, values: list[float], logy: bool) -> None:
    # A log axis with no positive value makes matplotlib warn; such a plot stays linear.
    if logy and any(v > 0 and math.isfinite(v) for v in values):
        ax.set_yscale("log")


def _keys_in_order(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _first(rows: Sequence[Mapping[str, Any]], key: str) -> Any:
    return next(row[key] for row in rows if key in row)


def _strip_split(key: str) -> str:
    for prefix in _SPLITS:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _is_number(value: Any) -> bool:
    try:
        _as_float(value)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor with many elements
        return False
    return not isinstance(value, (str, bool))


def _as_float(value: Any) -> float:
    """A plain float from a Python, numpy or torch scalar; a missing value (None) is NaN."""
    if value is None:
        return math.nan
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


def _as_array(matrix: Any) -> np.ndarray:
    if hasattr(matrix, "detach"):  # a torch tensor, without importing torch here
        matrix = matrix.detach().cpu().numpy()
    return np.asarray(matrix, dtype=float)
