"""Development of the classification selection on JapaneseVowels' training split alone (the test split is never
read): nested, the 270 training sequences shuffled (``--shuffle``) into three stratified outer parts, each held out
in turn while ``AutoClassifier`` runs on the other 180; one JSON line per part with its held-out errors and loss.

    .venv/bin/python bench/classify_vowels_dev.py --part 0 [--shuffle 123] [--budget 2m] [--set CV_FOLDS=3]

The README's development table: ``--shuffle`` 7 and 123, parts 0-2, ``--budget 2m`` (180 sequences in 2 minutes
stand for 270 in 3), the defaults against ``--set CV_MAX_SEQUENCES=0`` (the validation share alone), ``--set
CV_FOLDS=3`` and ``--set ENSEMBLE_TOP=1`` (the best candidate's seeds). One torch thread.

What chose ``rnnkit.pipelines.select.classify``'s defaults (held-out errors of 540 and mean held-out loss over the
six parts, one run each; a part's errors move by one or two from run to run):

    variant                                                            errors   loss
    up to 5 rounds of seeds, no dropout (the defaults before)              14   0.076
    + the chosen candidates' fold models beside the refits, half weight    13   0.081
    + the fold models alone, nothing refitted, folds 27% longer           5*   0.084*  (*3 parts: refits 6, 0.070)
    up to 20 rounds of seeds (the budget, not the count, ends them)        11   0.065
    dropout 0.25 on numeric sequences                                      10   0.066
    both (the defaults)                                                    11   0.064
    both, dropout 0.4                                                     7*   0.076*  (*4 parts: 0.25 gave 7, 0.066)

The fold models (trained anyway, on four fifths of the data) make worse members than the refits on all of it.
Checked afterwards on a third shuffling (``--shuffle 11``, 270 held out): the defaults before 8 errors, loss 0.100;
these defaults 6, 0.093. Then (the same parts, the defaults above run again first):

    variant                                                            errors   loss
    the defaults above, again                                              11   0.065
    + the FCN front-end (CV_NUMERIC_FRONT_END) among the front-ends         9   0.066
    + its 128-channel version instead                                      1*   0.054*  (*1 part: 64 gave 0, 0.048)
    + pooling before the front-end, longer cosine refits                    9   0.052
    + the folds in half the budget, not three quarters (then defaults)     10   0.043

(the held-out loss of the defaults lower than the first row's on each of the six parts). Outside the selection, one
architecture trained 100 epochs with a cosine schedule, 3 seeds, on each part's 180: the FCN front-end, a 64-unit
bidirectional GRU and mean pooling 7 errors, loss 0.030; without the front-end 10, 0.050. The defaults checked
afterwards on the third shuffling: 5 errors of 270, loss 0.078.

Then (two parts at a time, one on each core):

    variant                                                            errors   loss    third shuffling
    the defaults (the last row above, not run again)                       10   0.043   5, 0.077
    each fold annealed within its time (a cosine schedule over the         8   0.042   6, 0.083
      epochs its timed first epoch says fit; refits cosine too)
    + fewer candidates for longer folds: mean pooling, front-ends           7   0.049   -
      none / conv32 / FCN, then GRU or LSTM (5 planned, not 8)
    the five screened on short folds (not annealed) in a quarter of        7   0.045   -
      the budget, the top 2 again on annealed folds in 35% of it
    three candidates on annealed folds in 55% of the budget: GRU,          3   0.026   5, 0.060
      GRU behind FCN's front-end, LSTM behind the better; the best
      1, 2 or 3 averaged as the out-of-fold loss says (the defaults)

The annealed folds alone scored every candidate higher (worse) than the early-stopped ones: a fold of eight
candidates has about a second, and the decaying learning rate gets less done in it. With fewer candidates the
FCN-GRU won the short folds on four parts (held-out loss 0.016-0.060) and the GRU without a front-end on two (0.083,
0.100): which one the folds picked decided each part. Three candidates, each fold trained to the end of its schedule
(median best epoch 17-27), picked FCN's front-end on every part; the held-out loss was lower than the defaults'
before on five of the six parts, and on the third shuffling on one part of three (0.074 against 0.141; 0.025
against 0.022 and 0.082 against 0.070 on the others), its mean lower too.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from rnnkit.datasets.ucr import load_ucr
from rnnkit.pipelines.select import classify as selection
from rnnkit.pipelines.select.oof import OutOfFold


def outer_parts(y: list, shuffle: int) -> np.ndarray:
    """Each sequence's outer part (0-2): every class's sequences shuffled, then dealt in turn."""
    rng, keys = np.random.default_rng(shuffle), np.array([str(label) for label in y])
    part = np.empty(len(y), dtype=int)
    for key in sorted(set(keys)):
        members = rng.permutation(np.flatnonzero(keys == key))
        part[members] = np.arange(len(members)) % 3
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(0, 1, 2), required=True)
    parser.add_argument("--shuffle", type=int, default=123)
    parser.add_argument("--budget", default="2m")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a module setting of rnnkit.pipelines.select.classify, e.g. CV_FOLDS=3")
    args = parser.parse_args()
    for item in args.set:
        name, value = item.split("=", 1)
        current = getattr(selection, name)  # a dict or a list as JSON: CV_NUMERIC_FRONT_END={"conv_channels": 128}
        setattr(selection, name, json.loads(value) if isinstance(current, (dict, list)) else type(current)(value))
    torch.set_num_threads(1)
    X, y, _, _ = load_ucr("JapaneseVowels")  # the test split is not used
    X, y = list(X), list(y)
    part = outer_parts(y, args.shuffle)
    fit, held = np.flatnonzero(part != args.part), np.flatnonzero(part == args.part)
    started = time.time()
    auto = selection.AutoClassifier(args.budget, progress="lines").fit([X[i] for i in fit], [y[i] for i in fit])
    seconds = time.time() - started
    probabilities, scored = auto.predict_proba([X[i] for i in held]), OutOfFold(y, auto.labels, held)
    missed = [f"{held[j]}:{y[held[j]]}->{auto.labels[k]}" for j, k in enumerate(probabilities.argmax(axis=1))
              if auto.labels[k] != auto.labels[scored.target[j]]]
    print(json.dumps({"shuffle": args.shuffle, "part": args.part, "settings": args.set, "budget": args.budget,
                      "held_out": len(held), "errors": int(round(len(held) * (1 - scored.accuracy(probabilities)))),
                      "loss": scored.loss(probabilities), "missed": missed, "ensemble": auto.summary["ensemble"],
                      "members": auto.summary["members"], "epochs": auto.summary["epochs"],
                      "refit_epochs": auto.summary["refit_epochs"], "folds": auto.summary["folds"],
                      "scores": {row["candidate"]: row["score"] for row in auto.table}, "wall_s": round(seconds, 1)}))


if __name__ == "__main__":
    main()
