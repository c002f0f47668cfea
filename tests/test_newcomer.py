"""The newcomer's path (issue 21): reports that render any label, results beside their baselines."""

import json

import numpy as np
import pandas as pd

from rnnkit.cli.main import main


def _labelled_texts(count, seed, labels):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        k = int(rng.integers(len(labels)))
        words = list(rng.choice(["the", "car", "is", "on"], size=3)) + [f"w{k}"]
        rows.append({"tweet": " ".join(rng.permutation(words)), "label": labels[k]})
    return pd.DataFrame(rows)


def test_dollar_and_long_labels_reach_the_report(tmp_path, capsys):
    labels = ["costs $5", "a $x_$ \\foo$ label of quite some length for a tick", "plain"]
    _labelled_texts(90, 0, labels).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--label", "label", "--text", "tweet",
                 "--hidden-size", "8", "--embedding-dim", "8", "--epochs", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["labels"]) == sorted(labels)
    assert "majority_class_accuracy" in metrics
    assert "$x_$" in (out / "report.html").read_text()
    assert "majority class" in capsys.readouterr().out
