"""The results of a sequence classifier as ``metrics.json`` content and a self-contained ``report.html``.

    metrics, report = classification_report(model, X_test, y_test, history=result.history)
    write_metrics(out / "metrics.json", metrics); report.write(out / "report.html")

The report shows the metrics, the per-class table, the confusion matrix, the learning curves, and for a few
test sequences which steps drove the decision (``rnnkit.eval.saliency``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.eval.classification_metrics import classification_metrics
from rnnkit.eval.reports.document import Report, add_training_section
from rnnkit.eval.reports.plots import heatmap
from rnnkit.eval.saliency import importance_figure, step_importance


def classification_report(model: Any, X: Any, y: Sequence[Any] | None, *, history: Sequence[dict] | None = None,
                          title: str = "Sequence classification", examples: int = 3,
                          extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], Report]:
    """Metrics of ``model`` (a ``SequenceClassifier``) on ``X`` against ``y`` (None: predictions only), and the
    report. ``extra`` entries (data set sizes, baselines) go into both."""
    predicted = model.predict(X)
    report = Report(title)
    metrics: dict[str, Any] = dict(extra or {})
    metrics["count"] = len(predicted)
    if y is not None:
        metrics.update(classification_metrics(list(y), predicted, labels=model.labels))
        report.add_section("Metrics")
        report.add_metrics({k: v for k, v in metrics.items() if not isinstance(v, (list, dict))})
        report.add_table(metrics["per_class"], caption="Per class")
        report.add_figure(heatmap(np.asarray(metrics["confusion_matrix"]), model.labels, model.labels,
                                  title="Confusion matrix", xlabel="predicted", ylabel="true"),
                          caption="Confusion matrix: rows are true classes, columns predicted ones.")
    else:
        counts = {str(label): int(sum(p == label for p in predicted)) for label in model.labels}
        metrics["predicted_counts"] = counts
        report.add_section("Predictions").add_metrics(counts, caption="Predicted sequences per class")
    add_training_section(report, history, ("train_loss", "val_loss", "val_accuracy"))
    if examples:
        _add_explanations(report, model, X, y, predicted, examples)
    return metrics, report


def _add_explanations(report: Report, model: Any, X: Any, y: Sequence[Any] | None, predicted: list[Any],
                      count: int) -> None:
    chosen = list(range(min(count, len(predicted))))
    inputs = [X[i] for i in chosen]
    weights, method = step_importance(model, inputs)
    report.add_section("Which steps drove the decision")
    report.add_text("attention weights of the model's attention pooling" if method == "attention" else
                    "gradient x input saliency of the predicted class's logit, per step (normalised to sum 1)")
    tokenizer = model.preprocessor.tokenizer if model.preprocessor else None
    for i, importance in zip(chosen, weights):
        truth = f", true {y[i]!r}" if y is not None else ""
        title = f"example {i}: predicted {predicted[i]!r}{truth}"
        if tokenizer is not None:
            steps = tokenizer.decode(model.prepare([X[i]])[0])
            report.add_figure(importance_figure(steps, importance, title), caption=title)
        else:
            values = model.prepare([X[i]])[0]
            report.add_figure(importance_figure(range(len(values)), importance, title, values=values,
                                                channels=_channel_names(model, values)), caption=title)


def _channel_names(model: Any, values: np.ndarray) -> list[str] | None:
    """The input columns a ``classify train`` model was trained on, when there is one per channel of ``values``
    (T, F) (None otherwise: the plot numbers them)."""
    names = (getattr(model, "metadata", None) or {}).get("columns", {}).get("features")
    return names if names and len(names) == np.reshape(values, (len(values), -1)).shape[1] else None
