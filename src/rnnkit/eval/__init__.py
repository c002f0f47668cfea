"""Evaluation: plots and self-contained reports (metrics and diagnostics join here)."""

from rnnkit.eval.plots import heatmap, learning_curves, line_plot
from rnnkit.eval.report import Report, write_metrics

__all__ = ["Report", "heatmap", "learning_curves", "line_plot", "write_metrics"]
