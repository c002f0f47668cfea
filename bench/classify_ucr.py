"""Acceptance: RNN classifiers on UCR/UEA data sets (JapaneseVowels, GunPoint, ItalyPowerDemand).

    .venv/bin/python bench/classify_ucr.py [--datasets JapaneseVowels GunPoint ItalyPowerDemand] [--out FILE]

Protocol (the test split is for reporting only): for each data set, every candidate configuration is trained on
75% of the training split and scored on the other 25% (stratified, seed 0); the candidate with the lowest
validation loss wins. The winner is then trained with 5 seeds (same split, early stopping on it) and the test
accuracy of the averaged probabilities is reported, beside the published 1-NN DTW accuracy.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from rnnkit.datasets.ucr import load_ucr
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit._config import config_from_dict
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.train import TrainConfig, seed_everything

BASELINES = {"JapaneseVowels": ("InceptionTime", 0.992, 0.98), "GunPoint": ("1-NN DTW", 0.913, 0.913),
             "ItalyPowerDemand": ("1-NN DTW", 0.955, 0.955)}
GRU = {"cell": "gru", "hidden_size": 64, "bidirectional": True}
CANDIDATES = [  # EncoderConfig settings
    dict(rnn=GRU, pooling="last"),
    dict(rnn=GRU, pooling="mean", conv_channels=32, conv_kernel=7),
    dict(rnn=GRU, pooling="attention", conv_channels=32, conv_kernel=7),
]
SEEDS = 5


def train(X, y, options, seed):
    seed_everything(seed)
    model = SequenceClassifier.for_data(X, y, config_from_dict(SequenceClassifierConfig, {"encoder": options}))
    config = TrainConfig(max_epochs=150, batch_size=8 if len(X) < 100 else 16, lr=3e-3, patience=30, seed=seed,
                         progress="none")
    result = fit_sequence_model(model, X, y, validation_fraction=0.25, train_config=config)
    return model, result.history[result.best_epoch - 1]


def run(name):
    X_train, y_train, X_test, y_test = load_ucr(name)
    start = time.time()
    scores = []
    for options in CANDIDATES:
        _, best = train(X_train, y_train, options, seed=0)
        scores.append((best["val_loss"], best["val_accuracy"], options))
        print(f"  {name} candidate {options}: val_loss {best['val_loss']:.4f} val_acc {best['val_accuracy']:.3f}",
              flush=True)
    chosen = min(scores, key=lambda s: s[0])[2]
    probabilities = []
    for seed in range(SEEDS):
        model, _ = train(X_train, y_train, chosen, seed)
        probabilities.append(model.predict_proba(X_test))
    labels = model.labels
    predicted = [labels[i] for i in np.mean(probabilities, axis=0).argmax(1)]
    accuracy = float(np.mean(np.asarray(predicted) == np.asarray(y_test)))
    single = [float(np.mean(np.asarray([labels[i] for i in p.argmax(1)]) == np.asarray(y_test)))
              for p in probabilities]
    baseline, value, target = BASELINES[name]
    row = {"dataset": name, "chosen": chosen, "test_accuracy_ensemble": accuracy, "test_accuracy_single": single,
           "baseline": baseline, "baseline_accuracy": value, "target": target, "met": accuracy >= target if
           name == "JapaneseVowels" else accuracy > target, "seconds": round(time.time() - start, 1)}
    print(json.dumps(row), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(BASELINES))
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small models: one thread is fastest on a shared machine
    rows = [run(name) for name in args.datasets]
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
