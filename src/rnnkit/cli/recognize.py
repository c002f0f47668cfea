"""``rnnkit recognize``: unsegmented sequence recognition with CTC (pen trajectories, audio frames -> text).

    rnnkit recognize train DATA --out DIR [--test DATA] [options]   train a recognizer; DIR/model is the model
    rnnkit recognize MODEL_DIR INPUT... [--beam K] [--out DIR]      print the transcript of each input
    rnnkit recognize eval MODEL_DIR DATA --out DIR [--beam K]       CER, WER, sequence accuracy -> metrics.json

DATA is a folder of sequence files (.npy, or .csv/.tsv with one row per step) with a transcripts.csv (or .tsv)
table of columns file, transcript; or a long table (.csv, .tsv, .parquet) with one row per step: an id column,
feature columns and a transcript column (--id, --time, --features, --transcript name them). INPUT is a sequence
file, a folder of them, or a long table. A model folder that is literally named "train" or "eval": write ./train.

`rnnkit recognize train --help` (and `eval --help`, `MODEL_DIR --help`) list each form's options.
"""

from __future__ import annotations

import argparse
import sys

from rnnkit.cli import common

# The encoder's front-end flags (the recurrent ones go to its RecurrentConfig).
ENCODER_OPTIONS = ("conv_channels", "conv_kernel", "conv_stride")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "recognize", help="sequence recognition with CTC: train, transcribe, evaluate",
        description=__doc__.replace("``", "").strip(), formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="rnnkit recognize {train DATA | eval MODEL_DIR DATA | MODEL_DIR INPUT...} [options]")
    # The first word is "train", "eval" or a model folder: argparse cannot branch on a free value, so the words
    # are kept as they are and parsed by the form's own parser in run().
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="...", help="one of the three forms above")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    words = list(args.words)
    if not words:
        print("rnnkit recognize: error: give `train DATA`, `eval MODEL_DIR DATA` or `MODEL_DIR INPUT...` "
              "(see rnnkit recognize --help)", file=sys.stderr)
        return 2
    build = {"train": _train_parser, "eval": _eval_parser}.get(words[0])
    parser, rest = (build(), words[1:]) if build else (_transcribe_parser(), words)
    try:
        options = parser.parse_args(rest)
    except SystemExit as done:  # --help, or a usage error argparse has already printed
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    return options.func(options)


def _train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit recognize train",
                                     description="Train a CTC recognizer on DATA (a folder with transcripts.csv, "
                                                 "or a long table) and write DIR/model, metrics.json, report.html.")
    parser.add_argument("data", metavar="DATA", help="training data")
    parser.add_argument("--test", metavar="DATA", help="test data in the same layout, scored at the end")
    _add_column_options(parser)
    parser.add_argument("--validation", type=float, default=0.2, metavar="FRACTION",
                        help="share of DATA held out at random for early stopping (default: 0.2)")
    parser.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    parser.add_argument("--hidden-size", type=common.positive_int, default=128)
    parser.add_argument("--num-layers", type=common.positive_int, default=2)
    parser.add_argument("--unidirectional", dest="bidirectional", action="store_false",
                        help="read the input left to right only (default: bidirectional)")
    parser.add_argument("--conv-channels", type=common.non_negative_int, default=64,
                        help="a 1-D convolution front-end with this many channels (0: none; default 64)")
    parser.add_argument("--conv-kernel", type=common.positive_int, default=5)
    parser.add_argument("--conv-stride", type=common.positive_int, default=2,
                        help="the front-end keeps every k-th step: k times shorter sequences (default 2)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--pen-ink", action="store_true",
                        help="pen input ((dx, dy, pen_up) rows, the ascender height 1): read the ink it leaves, "
                             "image columns left to right, instead of the pen's path (robust to stroke order)")
    parser.add_argument("--epochs", type=common.positive_int, default=30)
    parser.add_argument("--batch-size", type=common.positive_int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--patience", type=common.positive_int, default=5)
    parser.add_argument("--input-kind", choices=("auto", "pen", "frames"), default="auto",
                        help="how the report draws inputs: pen = (dx, dy, pen_up) rows, frames = an image; auto: "
                             "pen for 3 columns whose last is 0/1")
    _add_beam_option(parser)
    common.add_run_options(parser)
    parser.set_defaults(func=_run_train)
    return parser


def _eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit recognize eval",
                                     description="Score a trained recognizer on DATA (with transcripts): CER, WER "
                                                 "and sequence accuracy in DIR/metrics.json, and DIR/report.html.")
    parser.add_argument("model", metavar="MODEL_DIR", help="a `recognize train` output folder, or its model/")
    parser.add_argument("data", metavar="DATA", help="a folder with transcripts.csv, or a long table")
    _add_beam_option(parser)
    common.add_run_options(parser)
    parser.set_defaults(func=_run_eval)
    return parser


def _transcribe_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit recognize",
                                     description="Print the transcript of each INPUT (name, tab, transcript).")
    parser.add_argument("model", metavar="MODEL_DIR", help="a `recognize train` output folder, or its model/")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="sequence files, folders or long tables")
    _add_beam_option(parser)
    common.add_run_options(parser, out_required=False)
    parser.set_defaults(func=_run_transcribe)
    return parser


def _add_column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", default="id", metavar="COL", help="long tables: the sequence id column (id)")
    parser.add_argument("--time", metavar="COL", help="long tables: the column that orders the steps")
    parser.add_argument("--features", nargs="+", metavar="COL",
                        help="long tables: feature columns (default: every numeric column but id and time)")
    parser.add_argument("--transcript", default="transcript", metavar="COL",
                        help="the transcript column (default: transcript)")


def _add_beam_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam", type=common.positive_int, default=1, metavar="K",
                        help="1: greedy (best path) decoding; K > 1: prefix beam search keeping K prefixes")


def _run_train(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.recognize import train_recognizer  # heavy imports only when running
    from rnnkit.tasks import EncoderConfig, SequenceRecognizerConfig

    front = {name: getattr(args, name) for name in ENCODER_OPTIONS}
    encoder = EncoderConfig(rnn=common.recurrent_config(args), **front)
    config = SequenceRecognizerConfig(encoder, pen_ink=args.pen_ink)
    columns = {"id": args.id, "time": args.time, "features": args.features, "transcript": args.transcript}
    training = {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "patience": args.patience,
                "seed": args.seed}
    metrics = train_recognizer(args.data, out, columns=columns, test=args.test, validation=args.validation,
                               config=config, training=training, beam=args.beam, input_kind=args.input_kind)
    print(f"CER {metrics['cer']:.4f}, WER {metrics['wer']:.4f}, sequence accuracy "
          f"{metrics['sequence_accuracy']:.4f} on {metrics['scored_on']}; wrote {out}")
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.recognize import evaluate_recognizer

    metrics = evaluate_recognizer(args.model, args.data, out, beam=args.beam)
    print(f"CER {metrics['cer']:.4f}, WER {metrics['wer']:.4f}, sequence accuracy "
          f"{metrics['sequence_accuracy']:.4f} on {metrics['count']} sequences; wrote {out}")
    return 0


def _run_transcribe(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force) if args.out is not None else None
    from rnnkit.integrations.recognize import transcribe

    for name, text in zip(*transcribe(args.model, args.inputs, beam=args.beam, out=out)):
        print(f"{name}\t{text}")
    return 0
