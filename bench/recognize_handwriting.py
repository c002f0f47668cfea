"""Acceptance: connected handwriting recognition with CTC, words and writing styles held out. Target: CER <= 10%.

    .venv/bin/python bench/recognize_handwriting.py --out runs/bench-handwriting [--minutes 75]

Data: ``rnnkit.datasets.handwriting.handwriting_split()``: 3000 frequent Shakespeare words drawn as pen
trajectories (dx, dy, pen_up) in Hershey faces; train (4 samples of 80% of the words, 5 faces), valid (1 more
sample of the training words and faces), test (2 samples of the other 20% of the words, in a face never seen in
training: ``scriptc``). Settings (the candidate, the epoch by early stopping on validation CER, the beam width)
are chosen on valid; test is scored once, greedy and beam, for the record (``bench/recognition_bench.py``).

Writes ``metrics.json``, ``history.json``, ``model/`` (rnnkit.load-able) and ``report.html`` into --out.
"""

from __future__ import annotations

import time

from recognition_bench import options, run

from rnnkit.datasets.handwriting import handwriting_split, shakespeare_words

CANDIDATES = {
    "bilstm2-128-stride3": {"cell": "lstm", "hidden_size": 128, "num_layers": 2, "bidirectional": True,
                            "conv_channels": 64, "conv_kernel": 5, "conv_stride": 3, "dropout": 0.2},
    "bilstm1-128-stride2": {"cell": "lstm", "hidden_size": 128, "num_layers": 1, "bidirectional": True,
                            "conv_channels": 64, "conv_kernel": 5, "conv_stride": 2, "dropout": 0.1},
}


def main() -> None:
    parser = options(__doc__.splitlines()[0], CANDIDATES, "runs/bench-handwriting")
    parser.add_argument("--words", type=int, default=None, help="only the first N words (quick runs)")
    args = parser.parse_args()
    start = time.time()
    data = handwriting_split(shakespeare_words()[:args.words] if args.words else None)
    print(f"data: {len(data.train)} train, {len(data.valid)} valid, {len(data.test)} test "
          f"({time.time() - start:.0f} s)", flush=True)
    extra = {"test_words": len(data.test_words), "test_styles": sorted(set(data.test.style)),
             "train_styles": sorted(set(data.train.style))}
    run(args, data, CANDIDATES, input_kind="pen", title="Handwriting recognition (held-out words and face)",
        target={"cer": 0.10}, extra=extra)


if __name__ == "__main__":
    main()
