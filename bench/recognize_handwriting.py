"""Acceptance: connected handwriting recognition with CTC, words and writing styles held out. Target: CER <= 10%.

    .venv/bin/python bench/recognize_handwriting.py --out runs/bench-handwriting [--minutes 75]

Data: ``rnnkit.datasets.handwriting.handwriting_split()``: 3000 frequent Shakespeare words drawn as pen
trajectories (dx, dy, pen_up) in Hershey faces. Test: 2 samples of 20% of the words in a face never seen in
training (``scriptc``). Valid is held out the same way, so that choices are made on what the test asks: 2 samples
of another 10% of the words in another face kept out of training (``timesib``, ``VALID_STYLES``). Train: 4
samples of the remaining 70% in the other faces. Settings (the candidate, the epoch by early stopping on
validation CER, the beam width) are chosen on valid; test is scored once, greedy and beam, for the record
(``bench/recognition_bench.py``).

``--refit-from RUN`` then trains RUN's chosen candidate again, for the epochs and with the beam RUN chose, on all
its training and validation words in all five non-test faces (``handwriting_split()``'s default train: 4 samples
of 80% of the words); the test words and samples are the same. It writes a checkpoint every epoch into
``<out>/ckpt``: run the same command again to continue it after an interruption.

Candidates: the pen points themselves (``pen-*``), or the ink they leave, read column by column (``ink-*``,
``SequenceRecognizer(pen_ink=True)``, ``rnnkit.data.ink``).

Writes ``metrics.json``, ``history.json``, ``model/`` (rnnkit.load-able) and ``report.html`` into --out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from recognition_bench import candidate, options, refit, run

from rnnkit.datasets.handwriting import (TRAIN_STYLES, VALID_STYLES, Distortion, handwriting_split,
                                         shakespeare_words)

CANDIDATES = {
    "ink-bilstm2-128-stride2": candidate(128, 2, conv_stride=2, dropout=0.2, pen_ink=True),
    "pen-bilstm2-128-stride3": candidate(128, 2, conv_stride=3, dropout=0.2),
    "pen-bilstm1-128-stride2": candidate(128, 1, conv_stride=2, dropout=0.1),
}


def drawn(training: dict[str, Any]) -> dict[str, Any]:
    """``handwriting_split`` options for a run's ``training_data`` (as saved in its metrics.json)."""
    return {"n_train": training["samples_per_word"], "train_distortion": Distortion(double=training["double"])}


def main() -> None:
    parser = options(__doc__.splitlines()[0], CANDIDATES, "runs/bench-handwriting")
    parser.add_argument("--words", type=int, default=None, help="only the first N words (quick runs)")
    parser.add_argument("--refit-from", type=Path, metavar="RUN",
                        help="train the settings a finished run chose again, on its training and validation words "
                             "and faces together, and score the same test once")
    parser.add_argument("--samples-per-word", type=int, default=4, help="training samples drawn per training word")
    parser.add_argument("--double", type=float, default=0.0,
                        help="share of training samples written with a broad nib, every stroke there and back "
                             "(Distortion.double; valid and test are drawn as always)")
    args = parser.parse_args()
    start = time.time()
    words = shakespeare_words()[:args.words] if args.words else None
    training = {"samples_per_word": args.samples_per_word, "double": args.double}
    if args.refit_from:
        # every non-test word and face in train, drawn as the chosen run drew its own: the same test samples
        training = {"samples_per_word": 4, "double": 0.0,
                    **json.loads((args.refit_from / "metrics.json").read_text()).get("training_data", {})}
        data = handwriting_split(words, **drawn(training))
        extra = {"test_styles": sorted(set(data.test.style)), "train_styles": sorted(set(data.train.style)),
                 "training_data": training, "train_words": len(data.train_words), "test_words": len(data.test_words)}
        refit(args, args.refit_from, data, CANDIDATES, input_kind="pen", title="Handwriting recognition (refit)",
              target={"cer": 0.10}, extra=extra)
        return
    data = handwriting_split(words, valid_fraction=0.1, **drawn(training),
                             valid_styles=VALID_STYLES, n_valid=2,
                             train_styles=tuple(s for s in TRAIN_STYLES if s not in VALID_STYLES))
    print(f"data: {len(data.train)} train, {len(data.valid)} valid, {len(data.test)} test "
          f"({time.time() - start:.0f} s)", flush=True)
    extra = {"test_words": len(data.test_words), "test_styles": sorted(set(data.test.style)),
             "valid_words": len(data.valid_words), "valid_styles": sorted(set(data.valid.style)),
             "train_words": len(data.train_words), "train_styles": sorted(set(data.train.style)),
             "training_data": training}
    run(args, data, CANDIDATES, input_kind="pen", title="Handwriting recognition (held-out words and face)",
        target={"cer": 0.10}, extra=extra)


if __name__ == "__main__":
    main()
