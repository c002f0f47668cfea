"""A self-contained HTML report, and ``metrics.json``.

The report is one file: inline CSS, figures embedded as base64 PNG, no scripts and no external URL, so it opens
offline and can be mailed. All user text is HTML-escaped. Build it in reading order::

    report = Report("Memory over long time lags")
    report.add_text("What was run, and why.")
    report.add_section("Adding problem")
    report.add_metrics({"test_mse": 0.001, "solved": 0.99})
    report.add_table(rows, caption="Per-model results")          # list of dicts, or a pandas DataFrame
    report.add_figure(learning_curves(history), caption="Learning curves")
    add_training_section(report, history, ["train_loss", "val_loss"])   # a "Training" section of such curves
    report.write(out / "report.html")                          # atomic
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import LogFormatter, LogFormatterMathtext

from rnnkit import _fs
from rnnkit._version import __version__
from rnnkit.eval.reports.plots import learning_curves

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
nav ol { padding-left: 1.4rem; margin: 0.3rem 0 1rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem;
        display: block; max-width: 100%; overflow-x: auto; }  /* a wide table scrolls inside the column */
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #555; }
footer { margin-top: 3rem; font-size: 0.8rem; color: #888; }
p.warning { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.4rem 0.7rem; }
"""


class Report:
    """An HTML report under construction: sections of paragraphs, tables and figures, in the order added.

    ``add_*`` calls append to the latest section (before the first ``add_section``: to an untitled introduction)
    and return the report, so calls can be chained. Figures are rendered to PNG when added, and closed.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._sections: list[tuple[str | None, list[str]]] = [(None, [])]

    def add_section(self, heading: str) -> Report:
        self._sections.append((heading, []))
        return self

    def move_last_section_first(self) -> Report:
        """Put the latest section right after the introduction (a verdict added once everything is scored)."""
        self._sections.insert(1, self._sections.pop())
        return self

    def add_text(self, text: str) -> Report:
        """Paragraphs of plain text; a blank line separates paragraphs."""
        for paragraph in text.strip().split("\n\n"):
            if paragraph.strip():
                self._body.append(f"<p>{_escape(paragraph.strip())}</p>")
        return self

    def add_warning(self, text: str) -> Report:
        """A paragraph set apart as a warning (something in the results the reader must not miss)."""
        self._body.append(f'<p class="warning">Warning: {_escape(text.strip())}</p>')
        return self

    def add_metrics(self, metrics: Mapping[str, Any], caption: str | None = None) -> Report:
        """A two-column table, metric and value, in the mapping's order."""
        rows = [{"metric": name, "value": value} for name, value in metrics.items()]
        return self.add_table(rows, caption, columns=["metric", "value"])

    def add_table(
        self, rows: Any, caption: str | None = None, *, columns: Sequence[str] | None = None
    ) -> Report:
        """A table from a list of dict rows or a pandas DataFrame (whose index is dropped: ``reset_index()`` it
        to keep it). ``columns`` picks and orders columns (default: every key, in order of first appearance).
        Floats show 4 significant digits; a missing cell is empty.
        """
        if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame, without importing pandas
            columns = list(columns) if columns is not None else [str(c) for c in rows.columns]
            rows = [{str(k): v for k, v in record.items()} for record in rows.to_dict(orient="records")]
        rows = list(rows)
        if columns is None:
            columns = list(dict.fromkeys(str(key) for row in rows for key in row))
        parts = ["<table>"]
        if caption:
            parts.append(f"<caption>{_escape(caption)}</caption>")
        parts.append("<thead><tr>" + "".join(f"<th>{_escape(c)}</th>" for c in columns) + "</tr></thead><tbody>")
        for row in rows:
            cells = []
            for column in columns:
                value = row.get(column)
                numeric = _is_number(value)
                cells.append(f'<td class="num">{_format(value)}</td>' if numeric else f"<td>{_format(value)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
        self._body.append("".join(parts))
        return self

    def add_figure(self, fig: Figure, caption: str | None = None, *, dpi: int = 110) -> Report:
        """Embed a matplotlib figure as a base64 PNG, then close it (pyplot keeps figures alive until closed)."""
        buffer = io.BytesIO()
        for text in fig.findobj(Text):  # labels are data: a "$" in a class name is a dollar, not maths
            text.set_parse_math(False)
        _plain_log_ticks(fig)
        try:
            with rc_context({"text.parse_math": False}):  # and so are the tick labels made while drawing
                fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})  # no version: stable bytes
        finally:
            pyplot = sys.modules.get("matplotlib.pyplot")  # only a pyplot figure needs closing; never import it
            if pyplot is not None:
                pyplot.close(fig)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        alt = _escape(caption or "figure")
        parts = [f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">']
        if caption:
            parts.append(f"<figcaption>{_escape(caption)}</figcaption>")
        parts.append("</figure>")
        self._body.append("".join(parts))
        return self

    def to_html(self) -> str:
        headed = [(i, heading) for i, (heading, _) in enumerate(self._sections) if heading is not None]
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_escape(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{_escape(self.title)}</h1>",
        ]
        if len(headed) > 2:
            items = "".join(f'<li><a href="#section-{i}">{_escape(h)}</a></li>' for i, h in headed)
            out.append(f"<nav><ol>{items}</ol></nav>")
        for i, (heading, body) in enumerate(self._sections):
            if heading is None and not body:
                continue
            out.append(f'<section id="section-{i}">')
            if heading is not None:
                out.append(f"<h2>{_escape(heading)}</h2>")
            out.extend(body)
            out.append("</section>")
        out.append(f"<footer>Written by rnnkit {_escape(__version__)}.</footer></body></html>")
        return "\n".join(out) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report to ``path`` atomically (a reader never sees half a file); returns the path."""
        return _write_text(Path(path), self.to_html())

    @property
    def _body(self) -> list[str]:
        return self._sections[-1][1]


def _plain_log_ticks(fig: Figure) -> None:
    """Log axes label their ticks in mathtext (``$\\mathdefault{10^{-3}}$``), which drawing without maths would
    print as it is: give them plain labels (``1e-03``) instead."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), LogFormatterMathtext):
                axis.set_major_formatter(LogFormatter())
            if isinstance(axis.get_minor_formatter(), LogFormatterMathtext):
                axis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def add_training_section(report: Report, history: Sequence[Mapping[str, Any]] | None, keys: Sequence[str],
                         caption: str = "Learning curves") -> Report:
    """A "Training" section with the learning curves of those of ``keys`` that the history's rows record; no
    section without a history."""
    if history:
        report.add_section("Training")
        report.add_figure(learning_curves(history, [k for k in keys if k in history[0]]), caption=caption)
    return report


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> Path:
    """Write ``metrics`` as JSON (sorted keys, indent 2) atomically; returns the path.

    numpy and torch scalars become numbers, arrays and tensors lists, tuples lists, paths strings; NaN and
    infinities (not JSON) become ``null``. Keys become strings. Anything else that JSON cannot hold is a TypeError.
    """
    text = json.dumps(_jsonable(metrics), sort_keys=True, indent=2, allow_nan=False)
    return _write_text(Path(path), text + "\n")


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _fs.atomic_write(path, text.encode("utf-8"))
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar/array, torch tensor
        if hasattr(value, "detach"):
            value = value.detach().cpu()
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return value
    raise TypeError(f"write_metrics: cannot store a value of type {type(value).__name__} in JSON: {value!r}")


def _is_number(value: Any) -> bool:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # numpy / torch scalar
        value = value.item()
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return _escape(str(value))


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)
