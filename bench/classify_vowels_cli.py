"""Acceptance: ``rnnkit classify train`` with its defaults (``--budget 3m``) on JapaneseVowels, as a user runs it.

    .venv/bin/python bench/classify_vowels_cli.py [--budget 3m] [--out runs/vowels]

The archive's split (``rnnkit.datasets.load_ucr``, from sktime's files) is written as two long-format tables (one
row per step: id, t, the 12 coefficients, label); then the command runs with no tuning flag:

    rnnkit classify train train.csv --label label --id id --time t --test test.csv --out OUT

The selection sees the training table only; the test table is scored once the model is fixed. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from rnnkit.cli.main import main as rnnkit
from rnnkit.datasets.ucr import load_ucr


def long_table(X, y) -> pd.DataFrame:
    frames = []
    for i, (sequence, label) in enumerate(zip(X, y)):
        frame = pd.DataFrame(sequence, columns=[f"c{j}" for j in range(sequence.shape[1])])
        frames.append(frame.assign(id=f"s{i}", t=range(len(sequence)), label=label))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default=None, help="pass --budget (default: the command's own default)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = load_ucr("JapaneseVowels")
    folder = Path(tempfile.mkdtemp(prefix="vowels-"))
    long_table(X_train, y_train).to_csv(folder / "train.csv", index=False)
    long_table(X_test, y_test).to_csv(folder / "test.csv", index=False)
    out = args.out or folder / "run"
    command = ["classify", "train", str(folder / "train.csv"), "--label", "label", "--id", "id", "--time", "t",
               "--test", str(folder / "test.csv"), "--threads", "1", "--out", str(out)]
    command += ["--budget", args.budget] if args.budget else []
    started = time.time()
    assert rnnkit(command) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    print(json.dumps({"command": "rnnkit " + " ".join(command), "test_accuracy": metrics["accuracy"],
                      **{key: metrics["selection"][key] for key in ("chosen", "ensemble", "seeds", "members", "folds",
                                                                     "validation_accuracy", "why")
                         if key in metrics["selection"]},
                      "wall_s": round(time.time() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
