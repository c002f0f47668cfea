"""Export Twemoji as a folder of PNG files and ``file,caption`` tables, the layout ``rnnkit caption train`` reads.

    npm pack emoji-datasource-twitter
    python -m rnnkit.datasets.export_twemoji emoji-datasource-twitter-16.0.0.tgz emoji/ [--skin-tones]
    rnnkit caption train emoji/ emoji/train.csv --test emoji/test.csv --out runs/emoji

``captions.csv`` lists every image; ``train.csv`` and ``test.csv`` split them by emoji (``split_emoji``, seed 0: a
test emoji, with its skin tones, is unseen in training), so that the test score is on names never trained on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rnnkit.datasets.twemoji import export_images, load_twemoji, train_test_tables
from rnnkit.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.datasets.export_twemoji",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("tarball", help="emoji-datasource-twitter-*.tgz from: npm pack emoji-datasource-twitter")
    parser.add_argument("out_dir", help="folder for the PNG files and captions.csv")
    parser.add_argument("--skin-tones", action="store_true", help="also export the skin-tone variants")
    args = parser.parse_args(argv)
    try:
        data = load_twemoji(args.tarball, skin_tones=args.skin_tones)
        path = export_images(data, args.out_dir)
        train, test = train_test_tables(data, args.out_dir)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(data)} images and {path}; held-out emoji for --test: {train} and {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
