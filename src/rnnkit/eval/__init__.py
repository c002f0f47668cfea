"""Evaluation: metrics, diagnostics (gradients through time, saliency, the memory probe), baselines, and the
self-contained reports (``rnnkit.eval.reports``)."""

from rnnkit.eval.reports import Report, heatmap, learning_curves, line_plot, write_metrics

__all__ = ["Report", "heatmap", "learning_curves", "line_plot", "write_metrics"]
