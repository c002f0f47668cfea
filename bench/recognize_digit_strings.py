"""Acceptance: spoken digit strings (3-7 digits, espeak-ng) recognized with CTC, voice variants held out.
Target: sequence (whole string) accuracy >= 90%.

    .venv/bin/python bench/recognize_digit_strings.py --out runs/bench-digit-strings [--minutes 60]
    .venv/bin/python bench/recognize_digit_strings.py --valid-variants m5 f3 \
        --candidates bilstm2-96-stride4 bilstm2-96-stride4-cmvn --minutes 13 --out runs/bench-digit-strings-2

Data: ``rnnkit.datasets.digit_strings.digit_strings_split()``: 4000 train and 500 validation strings spoken with
the training voice variants, 1000 test strings with voice variants never heard in training; MFCC frames (13 per
10 ms) in white or pink noise. With ``--valid-variants`` the validation strings are spoken with those training
variants instead, and training uses the others: validation then measures what the test does, accuracy on voices
not heard in training. The test set is the same either way. Settings (the candidate, the epoch by early stopping on
validation CER, the beam width) are chosen on validation; test is scored once per candidate, greedy and beam, for
the record (``bench/recognition_bench.py``).

Writes ``metrics.json``, ``history.json``, ``model/`` (rnnkit.load-able) and ``report.html`` into --out.
"""

from __future__ import annotations

import time

import numpy as np
from recognition_bench import candidate, options, run

from rnnkit.datasets.digit_strings import DigitStringSplits, digit_strings_split, make_digit_strings
from rnnkit.datasets.spoken_digits import TEST_VARIANTS, TRAIN_VARIANTS

CANDIDATES = {
    "bilstm2-96-stride4": candidate(96, 2, conv_stride=4, dropout=0.2),
    "bilstm2-96-stride4-cmvn": candidate(96, 2, conv_stride=4, dropout=0.2, sequence_norm=True),  # per-utterance
    "bilstm1-128-stride3": candidate(128, 1, conv_stride=3, dropout=0.1),                         # mean, variance
}


def held_out_variant_split(n_train: int, n_valid: int, n_test: int, valid_variants: list[str],
                           seed: int = 0) -> DigitStringSplits:
    """As ``digit_strings_split(seed=seed)`` (the same test strings), but validation in ``valid_variants``, which
    training does not hear."""
    unknown = set(valid_variants) - set(TRAIN_VARIANTS)
    if unknown:
        raise SystemExit(f"--valid-variants must be training variants {TRAIN_VARIANTS}, got {sorted(unknown)}")
    seeds = np.random.default_rng(seed).integers(2 ** 31, size=3)
    train_variants = [v for v in TRAIN_VARIANTS if v not in valid_variants]
    return DigitStringSplits(make_digit_strings(n_train, variants=train_variants, seed=int(seeds[0])),
                             make_digit_strings(n_valid, variants=valid_variants, seed=int(seeds[1])),
                             make_digit_strings(n_test, variants=TEST_VARIANTS, seed=int(seeds[2])))


def main() -> None:
    parser = options(__doc__.splitlines()[0], CANDIDATES, "runs/bench-digit-strings")
    parser.add_argument("--strings", type=int, nargs=3, default=[4000, 500, 1000], metavar=("TRAIN", "VALID", "TEST"))
    parser.add_argument("--valid-variants", nargs="+", default=None, metavar="VARIANT",
                        help="validate on these training voice variants, held out of training (e.g. m5 f3)")
    args = parser.parse_args()
    start = time.time()
    data = (held_out_variant_split(*args.strings, args.valid_variants) if args.valid_variants
            else digit_strings_split(*args.strings))
    print(f"data: {len(data.train)} train, {len(data.valid)} valid, {len(data.test)} test "
          f"({time.time() - start:.0f} s)", flush=True)
    extra = {"test_variants": sorted(set(data.test.variant)), "train_variants": sorted(set(data.train.variant)),
             "valid_variants": sorted(set(data.valid.variant))}
    run(args, data, CANDIDATES, input_kind="frames", title="Spoken digit strings (held-out voice variants)",
        target={"sequence_accuracy": 0.90}, extra=extra)


if __name__ == "__main__":
    main()
