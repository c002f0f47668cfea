"""Acceptance: spoken digits synthesized by espeak-ng + sox (8 kHz, MFCC frames), classified by an LSTM, scored on
voice variants never heard in training.

    .venv/bin/python bench/classify_spoken_digits.py [--out FILE]        # needs: apt-get install espeak-ng sox

Train: every accent x variants m1-m5, f1-f3 (x 2 speeds); 15% of it (stratified, seed 0) is the validation split
for early stopping. Test: the same accents spoken with the held-out variants m6, m7, f4, f5.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from rnnkit.datasets.spoken_digits import TEST_VARIANTS, TRAIN_VARIANTS, make_spoken_digits
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit._config import config_from_dict
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.train import TrainConfig, seed_everything

OPTIONS = dict(rnn=dict(cell="lstm", hidden_size=64, bidirectional=True), pooling="mean")  # EncoderConfig settings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()
    data = make_spoken_digits()
    train, test = data.subset(variants=TRAIN_VARIANTS), data.subset(variants=TEST_VARIANTS)
    print(f"synthesized {len(data)} clips in {time.time() - start:.0f} s: {len(train)} train, {len(test)} test",
          flush=True)
    seed_everything(0)
    config = config_from_dict(SequenceClassifierConfig, {"encoder": OPTIONS})
    model = SequenceClassifier.for_data(train.X, train.y, config)
    config = TrainConfig(max_epochs=40, batch_size=32, lr=3e-3, patience=6, seed=0, progress="none")
    result = fit_sequence_model(model, train.X, train.y, validation_fraction=0.15, train_config=config)
    predicted = np.asarray(model.predict(test.X))
    accuracy = float(np.mean(predicted == np.asarray(test.y)))
    per_variant = {v: float(np.mean(predicted[np.asarray(test.variant) == v] ==
                                     np.asarray(test.y)[np.asarray(test.variant) == v])) for v in TEST_VARIANTS}
    summary = {"test_accuracy_held_out_variants": accuracy, "per_variant": per_variant,
               "best_epoch": result.best_epoch, "clips": len(data), "options": OPTIONS,
               "seconds": round(time.time() - start, 1)}
    print(json.dumps(summary), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(summary, handle, indent=2)


if __name__ == "__main__":
    main()
