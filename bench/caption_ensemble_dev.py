"""Development runs for the captioner's seed ensemble: members trained as ``caption train`` trains them, scored on a
development split carved from the README's ``train.csv`` (never its ``test.csv``).

    # 1. train members (one split of the training rows, one seed each), each saved as a model folder
    python bench/caption_ensemble_dev.py train emoji/ trA.csv --out dev/A --seeds 0 1 2 3
    # 2. score every member and every ensemble of them on the development rows
    python bench/caption_ensemble_dev.py score emoji/ devA.csv --out dev/A

Training follows the pipeline exactly: the validation share is drawn once (``--seed`` 0 of the settings), member
``s`` starts from seed ``s`` (``rnnkit.pipelines.caption``: member i of ``--ensemble`` gets seed + i).
Scores: corpus BLEU (beam 3, the near-duplicate rule on) of each member alone, of every ensemble of 2, 3, ...
members (mean next-word probabilities in beam search), and the nearest-image baseline; written to
``<out>/scores-<table>.json``.

The development figures behind ``caption train``'s default ``--ensemble 3`` (the two splits of the README's
``train.csv`` that chose ``--nearest-within``: 1,548 emoji to train on, 172 drawn at random held out; seeds 0-4,
every set of that many; BLEU mean, lowest and highest; one thread on one core, 4-6 minutes a member):

    members   split A (nearest image 8.53)   split B (nearest image 13.97)   above the nearest image
    1         11.74 (10.63-13.71)            14.17 (12.55-15.57)              7 of 10
    2         11.51 (9.83-14.11)             14.88 (13.38-16.03)             18 of 20
    3         12.29 (10.78-14.14)            15.06 (13.14-15.97)             18 of 20
    4         11.45 (10.24-13.28)            15.81 (15.30-16.63)             10 of 10
    5         12.51                          15.40                            2 of 2

A length penalty (alpha 0.6, 1.0, 1.5) or beam 5 did no better on the two splits together than beam 3 without one,
for one model or an ensemble; the near-duplicate threshold 0.15 stayed the best of 0-0.25 for ensembles too.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from pathlib import Path

import numpy as np

from rnnkit.data.captions import read_captions
from rnnkit.data.images import as_image_batch
from rnnkit.eval.sequence_metrics import bleu
from rnnkit.pipelines import caption as pipeline
from rnnkit.pipelines.driver import fit_built, run_config
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner
from rnnkit.train import load_model, save_model


def train(args: argparse.Namespace) -> None:
    settings = pipeline.CaptionSettings(images=args.images, captions=args.table,
                                        model=CaptionerConfig(image_size=args.image_size))
    settings.train.progress = "lines"
    splits = pipeline.RECIPE.split(pipeline.read(settings), settings)
    for seed in args.seeds:
        folder = args.out / f"m{seed}"
        start = time.monotonic()
        config = dataclasses.replace(run_config(settings.train, folder), seed=seed)
        model, result = fit_built(pipeline.RECIPE, splits, settings, config, False)
        save_model(model, folder / "model", overwrite=True)
        print(f"member seed {seed}: best epoch {result.best_epoch}, {time.monotonic() - start:.0f} s", flush=True)


def score(args: argparse.Namespace) -> None:
    folders = {int(path.name[1:]): path / "model" for path in sorted(args.out.glob("m*"))}
    first = load_model(next(iter(folders.values())))
    data = read_captions(args.images, args.table, size=first.config.image_size)
    references = [first.normalise(text) for text in data.captions]
    scores: dict[str, float] = {}
    for size in range(1, len(folders) + 1):
        for seeds in itertools.combinations(sorted(folders), size):
            model = ImageCaptioner.ensemble_of([load_model(folders[seed]) for seed in seeds])
            name = "+".join(map(str, seeds))
            scores[name] = bleu(references, model.caption(data.images, beam=args.beam))
            print(f"members {name}: BLEU {scores[name]:.2f}", flush=True)
    first.config.nearest_within = 1.0  # the baseline: every image gets its nearest training image's caption
    looked_up = first.near_duplicates(as_image_batch(np.asarray(data.images)))
    scores["nearest-image"] = bleu(references, [first.normalise(text) for text in looked_up])
    print(f"nearest image: BLEU {scores['nearest-image']:.2f}", flush=True)
    (args.out / f"scores-{Path(args.table).stem}.json").write_text(json.dumps(scores, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("train", "score"))
    parser.add_argument("images")
    parser.add_argument("table")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--beam", type=int, default=3)
    args = parser.parse_args()
    train(args) if args.action == "train" else score(args)


if __name__ == "__main__":
    main()
