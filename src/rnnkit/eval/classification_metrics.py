"""Classification metrics from true and predicted labels: accuracy, macro-F1, per-class report, confusion matrix.

Plain numpy, so that the core needs no scikit-learn; tests check every number against scikit-learn's.
Labels may be any hashable values; ``labels`` fixes the order of the classes (default: sorted of both).

    precision_c = TP_c / (TP_c + FP_c)   recall_c = TP_c / (TP_c + FN_c)   F1_c = 2 P R / (P + R)
    macro-F1 = mean of F1_c over the classes in ``labels``   (0/0 counts as 0, as scikit-learn's zero_division=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.errors import UserError


def confusion_matrix(y_true: Sequence[Any], y_pred: Sequence[Any],
                     labels: Sequence[Any] | None = None) -> tuple[np.ndarray, list[Any]]:
    """Counts ``(C, C)``: row = true class, column = predicted class; and the class order."""
    if len(y_true) != len(y_pred):
        raise UserError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise UserError("no labels to score")
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred), key=_order)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true, pred in zip(y_true, y_pred):
        if true not in index or pred not in index:
            raise UserError(f"label {true if true not in index else pred!r} is not among the classes {labels}")
        matrix[index[true], index[pred]] += 1
    return matrix, labels


def per_class_report(matrix: np.ndarray, labels: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per class: precision, recall, f1, support (number of true members)."""
    tp = np.diag(matrix).astype(float)
    predicted, support = matrix.sum(0), matrix.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return [{"class": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)]


def classification_metrics(y_true: Sequence[Any], y_pred: Sequence[Any],
                           labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """``accuracy``, ``macro_f1``, ``per_class`` (list of rows), ``confusion_matrix`` (nested lists) and
    ``labels`` (its order), ready for ``write_metrics``."""
    matrix, labels = confusion_matrix(y_true, y_pred, labels)
    rows = per_class_report(matrix, labels)
    return {"accuracy": float(np.trace(matrix) / matrix.sum()),
            "macro_f1": float(np.mean([row["f1"] for row in rows])),
            "per_class": rows, "confusion_matrix": matrix.tolist(), "labels": list(labels)}


def _order(label: Any) -> tuple[str, Any]:
    # Mixed types cannot be compared: sort by type name first, then value.
    return (type(label).__name__, label)
