"""``rnnkit caption``: train an image captioner (CNN encoder + attention LSTM decoder), or caption images.

    rnnkit caption train IMAGES_DIR CAPTIONS.csv --out DIR [--test TEST.csv] [--epochs N] ... [--resume]
    rnnkit caption DIR IMAGE [IMAGE ...] [--beam K]

CAPTIONS.csv has a header and the columns file (an image path relative to IMAGES_DIR) and caption. ``train``
writes DIR/model (the weights of the --ensemble captioners, trained one after the other, the caption vocabulary,
and the training images' thumbnails and captions for the near-duplicate lookup), metrics.json (BLEU, exact match,
word error rate, and two baselines: the most frequent caption and the nearest training image), report.html
(learning curves, captions, attention maps) and captions.csv, scored on --test (images in --test-images, default IMAGES_DIR) or else on the
validation rows. The second form prints one caption per IMAGE: "IMAGE<TAB>caption". A model folder named
"train" must be written ./train.

`rnnkit caption train --help` lists the training options.
"""

from __future__ import annotations

import argparse

from rnnkit.cli import common
from rnnkit.pipelines import caption as pipeline

_USAGE = ("rnnkit caption train IMAGES_DIR CAPTIONS.csv --out DIR [train options]\n"
          "       rnnkit caption DIR IMAGE [IMAGE ...] [--beam K]")
# A caption has no source text to copy from; the decoder steps forwards, one call at a time.
# An ensemble's members are --ensemble (trained one by one), not a model setting.
SKIP = ("model.decoder.copy", "model.decoder.rnn.bidirectional", "model.decoder.rnn.recurrent_dropout",
        "model.members")


def register(subparsers) -> None:
    parser = subparsers.add_parser("caption", help="image captioning: train, or caption images", usage=_USAGE,
                                   description=__doc__.replace("``", "").strip(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    # The first word is "train" or a model folder: argparse cannot branch on a free value, so the words are kept
    # as they are and parsed by the form's own parser in run().
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="...", help="one of the two forms above")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return common.run_form("caption", args.words, {"train": _train_parser}, _caption_parser,
                           "`train IMAGES_DIR CAPTIONS.csv` or `DIR IMAGE...`")


def _train_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="rnnkit caption train",
                                     description="Train an image captioner on IMAGES_DIR and CAPTIONS.csv; write "
                                                 "DIR/model, metrics.json, report.html and captions.csv.")
    common.add_train_options(parser, pipeline.RECIPE, pipeline.CaptionSettings, skip=SKIP)
    return parser


def _caption_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="rnnkit caption", description="Print a caption for each IMAGE.")
    parser.add_argument("model", metavar="DIR", help="a `caption train` output folder, or its model/")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--beam", type=common.positive_int, default=3, help="beam size (1: greedy; default 3)")
    parser.set_defaults(func=_run_caption)
    return parser


def _run_caption(args: argparse.Namespace) -> int:
    captions = pipeline.caption_files(args.model, args.images, beam=args.beam,
                                      progress="auto" if len(args.images) > 64 else "none")
    for path, caption in zip(args.images, captions):
        print(f"{path}\t{caption}")
    return 0
