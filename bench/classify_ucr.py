"""Acceptance: rnnkit's default classifier (``AutoClassifier`` at one budget) on UCR/UEA data sets
(JapaneseVowels, GunPoint, ItalyPowerDemand), beside the published reference.

    .venv/bin/python bench/classify_ucr.py [--datasets JapaneseVowels GunPoint ItalyPowerDemand] [--budget 3m]

Protocol (the test split is for reporting only): ``AutoClassifier(budget=...)`` with the defaults chooses its
encoders on stratified 5-fold cross-validation of the training split (a 20% validation share for large ones),
refits an ensemble on the whole training split, and only then is the test split read and scored. One torch thread (small models; a shared machine).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from rnnkit.datasets.ucr import load_ucr
from rnnkit.pipelines.select.classify import DEFAULT_BUDGET, AutoClassifier

BASELINES = {"JapaneseVowels": ("InceptionTime", 0.992, 0.99), "GunPoint": ("1-NN DTW", 0.913, 0.913),
             "ItalyPowerDemand": ("1-NN DTW", 0.955, 0.955)}


def run(name: str, budget: str) -> dict:
    X_train, y_train, _, _ = load_ucr(name)
    start = time.time()
    auto = AutoClassifier(budget=budget, progress="lines").fit(X_train, y_train)
    seconds = time.time() - start
    _, _, X_test, y_test = load_ucr(name)  # read once the model is fixed
    accuracy = float(np.mean(np.asarray(auto.predict(X_test)) == np.asarray(y_test)))
    single = [float(np.mean(np.asarray(member.predict(X_test)) == np.asarray(y_test))) for member in auto.members]
    baseline, value, target = BASELINES[name]
    row = {"dataset": name, "budget": budget, "chosen": auto.summary["chosen"], "test_accuracy": accuracy,
           "test_accuracy_per_seed": single, "validation_accuracy": auto.summary["validation_accuracy"],
           "baseline": baseline, "baseline_accuracy": value, "target": target, "met": accuracy >= target,
           "seconds": round(seconds, 1), "table": auto.table}
    print(json.dumps({k: v for k, v in row.items() if k != "table"}), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(BASELINES))
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [run(name, args.budget) for name in args.datasets]
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
