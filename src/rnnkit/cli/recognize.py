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

from rnnkit.cli import common
from rnnkit.eval.yardstick import said
from rnnkit.pipelines import recognize as pipeline

SKIP = ("model.encoder.embedding_dim", "model.encoder.pooling")  # numeric inputs, one output per step


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
    return common.run_form("recognize", args.words, {"train": _train_parser, "eval": _eval_parser},
                           _transcribe_parser, "`train DATA`, `eval MODEL_DIR DATA` or `MODEL_DIR INPUT...`")


def _train_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="rnnkit recognize train",
                                     description="Train a CTC recognizer on DATA (a folder with transcripts.csv, "
                                                 "or a long table) and write DIR/model, metrics.json, report.html.")
    common.add_train_options(parser, pipeline.RECIPE, pipeline.RecognizeSettings, skip=SKIP)
    return parser


def _eval_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="rnnkit recognize eval",
                                     description="Score a trained recognizer on DATA (with transcripts): CER, WER "
                                                 "and sequence accuracy in DIR/metrics.json, and DIR/report.html.")
    parser.add_argument("model", metavar="MODEL_DIR", help="a `recognize train` output folder, or its model/")
    parser.add_argument("data", metavar="DATA", help="a folder with transcripts.csv, or a long table")
    _add_beam_option(parser)
    common.add_run_options(parser)
    parser.set_defaults(func=_run_eval)
    return parser


def _transcribe_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="rnnkit recognize",
                                     description="Print the transcript of each INPUT (name, tab, transcript).")
    parser.add_argument("model", metavar="MODEL_DIR", help="a `recognize train` output folder, or its model/")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="sequence files, folders or long tables")
    _add_beam_option(parser)
    common.add_run_options(parser, out_required=False)
    parser.set_defaults(func=_run_transcribe)
    return parser


def _add_beam_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam", type=common.positive_int, default=1, metavar="K",
                        help="1: greedy (best path) decoding; K > 1: prefix beam search keeping K prefixes")


def _run_eval(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force, create=False)
    metrics = pipeline.evaluate_recognizer(args.model, args.data, out, beam=args.beam, progress="auto")
    scored_on = f"{metrics['count']} sequences"
    print(said(pipeline.yardsticks(metrics), f"{pipeline.summary(metrics | {'scored_on': scored_on})}; wrote {out}"))
    return 0


def _run_transcribe(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force, create=False) if args.out is not None else None
    for name, text in zip(*pipeline.transcribe(args.model, args.inputs, beam=args.beam, out=out)):
        print(f"{name}\t{text}")
    return 0
