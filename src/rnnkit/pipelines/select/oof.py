"""Out-of-fold probabilities: what a classification candidate predicts for each training sequence from the fold
that held it out, and the figures the selection compares candidates and ensembles by.

    p = place(probabilities, fold_labels, labels)   # one fold model's (n, C') in the columns of ``labels``
    oof = OutOfFold(y, labels, held)           # held: the rows scored, fold after fold (all rows under k-fold)
    oof.loss(p), oof.accuracy(p)               # cross-entropy and accuracy of (len(held), C) probabilities
    oof.ensembles({"best x 3 seeds": [p1, p2, p3], "top 3": [p1, q, r]})   # each one's mean probabilities scored

A class a fold's fit rows lack gets probability 0 from that fold's model (it cannot predict it); a held row whose
class no model knows counts as a miss with probability 1e-12.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.tasks.base import label_scalar


def place(probabilities: np.ndarray, fold_labels: list[Any], labels: list[Any]) -> np.ndarray:
    """(n, C) from a fold model's (n, C'): its columns moved to where its labels stand in ``labels``."""
    out = np.zeros((len(probabilities), len(labels)))
    out[:, [labels.index(label) for label in fold_labels]] = probabilities
    return out


class OutOfFold:
    def __init__(self, y: list[Any], labels: list[Any], held: np.ndarray) -> None:
        self.labels = list(labels)
        index = {label: i for i, label in enumerate(self.labels)}
        self.target = np.array([index.get(label_scalar(y[i]), -1) for i in held])

    def loss(self, probabilities: np.ndarray) -> float:
        """Mean cross-entropy over the held rows."""
        rows = np.arange(len(self.target))
        chance = np.where(self.target >= 0, probabilities[rows, np.maximum(self.target, 0)], 0.0)
        return float(-np.log(np.maximum(chance, 1e-12)).mean())

    def accuracy(self, probabilities: np.ndarray) -> float:
        return float((probabilities.argmax(axis=1) == self.target).mean())

    def ensembles(self, options: dict[str, list[np.ndarray]]) -> list[dict[str, Any]]:
        """One row per option: its members' mean probabilities' loss and accuracy (rounded for the tables)."""
        rows = []
        for name, members in options.items():
            mean = np.mean(members, axis=0)
            rows.append({"ensemble": name, "members": len(members), "oof_loss": float(f"{self.loss(mean):.5g}"),
                         "oof_accuracy": round(self.accuracy(mean), 5)})
        return rows
