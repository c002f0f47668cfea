"""``rnnkit caption``: train an image captioner (CNN encoder + attention LSTM decoder), or caption images.

    rnnkit caption train IMAGES_DIR CAPTIONS.csv --out DIR [--test TEST.csv] [--epochs N] ...
    rnnkit caption DIR IMAGE [IMAGE ...] [--beam K]

CAPTIONS.csv has a header and the columns file (an image path relative to IMAGES_DIR) and caption. ``train``
writes DIR/model (weights and the caption vocabulary), metrics.json (BLEU, exact match, word error rate, and two
baselines: the most frequent caption and the nearest training image), report.html (learning curves, captions,
attention maps) and captions.csv, scored on --test (images in --test-images, default IMAGES_DIR) or else on the
validation rows. The second form prints one caption per IMAGE: "IMAGE<TAB>caption". A model folder named
"train" must be written ./train.
"""

from __future__ import annotations

import argparse

from rnnkit.cli import common
from rnnkit.errors import UserError

_USAGE = ("rnnkit caption train IMAGES_DIR CAPTIONS.csv --out DIR [train options] [--beam K]\n"
          "       rnnkit caption DIR IMAGE [IMAGE ...] [--beam K]")
# Options that only ``caption train`` uses, and their defaults (to tell whether the user gave one).
_TRAIN_DEFAULTS = {"out": None, "force": False, "seed": 0, "test": None, "test_images": None, "validation": 0.1,
                   "channels": "32,64,128", "norm": "batch", "hidden_size": 256, "embedding_dim": 64,
                   "cell": "lstm", "attention": "additive", "dropout": 0.0, "label_smoothing": 0.0,
                   "augment_shift": 0, "min_count": 1, "image_size": 64, "epochs": 30, "batch_size": 32,
                   "lr": 2e-3, "patience": 5}


def register(subparsers) -> None:
    parser = subparsers.add_parser("caption", help="image captioning: train, or caption images", usage=_USAGE,
                                   description=__doc__.split("\n\n")[0].replace("``", ""),
                                   epilog=__doc__.split("\n\n")[2].replace("``", ""))
    parser.add_argument("target", metavar="train|DIR", help="'train' to train a model, or a trained model folder "
                                                           "(a `caption train` --out, or its model/) to caption")
    parser.add_argument("inputs", nargs="+", metavar="ARG", help="train: IMAGES_DIR CAPTIONS.csv; DIR: IMAGE ...")
    parser.add_argument("--beam", type=common.positive_int, default=3, help="beam size (1: greedy; default 3)")
    train = parser.add_argument_group("train options")
    common.add_run_options(train, out_required=False)  # --out is checked in run(): it is for train only
    train.add_argument("--test", metavar="CSV", help="captions table of test images, scored at the end")
    train.add_argument("--test-images", metavar="DIR", help="folder of the --test images (default: IMAGES_DIR)")
    train.add_argument("--validation", type=float, default=0.1, metavar="FRACTION",
                       help="share of the rows held out for early stopping (default: 0.1)")
    train.add_argument("--image-size", type=common.positive_int, default=64, help="images are resized to this")
    train.add_argument("--channels", default="32,64,128", help="CNN channels per block, comma separated; each "
                                                               "block halves the image (default: 32,64,128)")
    train.add_argument("--norm", choices=("batch", "group", "none"), default="batch")
    train.add_argument("--hidden-size", type=common.positive_int, default=256)
    train.add_argument("--embedding-dim", type=common.positive_int, default=64)
    train.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    train.add_argument("--attention", choices=("additive", "multiplicative"), default="additive")
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--label-smoothing", type=float, default=0.0)
    train.add_argument("--augment-shift", type=int, default=0, help="random shifts in training (pixels)")
    train.add_argument("--min-count", type=common.positive_int, default=1, help="rarer words are <unk>")
    train.add_argument("--epochs", type=common.positive_int, default=30)
    train.add_argument("--batch-size", type=common.positive_int, default=32)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--patience", type=common.positive_int, default=5)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "train":
        return run_train(args)
    given = sorted(f"--{name.replace('_', '-')}" for name, default in _TRAIN_DEFAULTS.items()
                   if getattr(args, name) != default)
    if given:
        raise UserError(f"{', '.join(given)} only apply to `rnnkit caption train`; to caption images use "
                        f"`rnnkit caption DIR IMAGE ... [--beam K]`")
    from rnnkit.integrations.caption import caption_files  # heavy imports only when running

    for path, caption in zip(args.inputs, caption_files(args.target, args.inputs, beam=args.beam)):
        print(f"{path}\t{caption}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    if len(args.inputs) != 2:
        raise UserError(f"`rnnkit caption train` takes IMAGES_DIR CAPTIONS.csv, got {len(args.inputs)} "
                        f"argument(s): {' '.join(args.inputs)}")
    if args.out is None:
        raise UserError("`rnnkit caption train` needs --out DIR")
    try:
        channels = tuple(int(c) for c in args.channels.split(","))
    except ValueError:
        raise UserError(f"--channels must be integers separated by commas, got {args.channels!r}") from None
    if not channels or min(channels) < 1:
        raise UserError(f"--channels must be positive, got {args.channels!r}")
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.caption import train_captioner
    from rnnkit.tasks import AttentionDecoderConfig, CaptionerConfig, ImageEncoderConfig

    decoder = AttentionDecoderConfig(embedding_dim=args.embedding_dim, attention=args.attention,
                                     rnn=common.recurrent_config(args))
    config = CaptionerConfig(ImageEncoderConfig(channels=channels, norm=args.norm), decoder,
                             image_size=args.image_size, label_smoothing=args.label_smoothing,
                             augment_shift=args.augment_shift)
    training = {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "patience": args.patience,
                "seed": args.seed}
    images_dir, table = args.inputs
    metrics = train_captioner(images_dir, table, out, test=args.test, test_images=args.test_images,
                              validation=args.validation, beam=args.beam, config=config,
                              min_count=args.min_count, training=training)
    print(f"BLEU {metrics['bleu']:.2f}, exact match {metrics['exact_match']:.4f} (beam {args.beam}; nearest-image "
          f"baseline BLEU {metrics['nearest_bleu']:.2f}) on {metrics['scored_on']}; wrote {out}")
    return 0
