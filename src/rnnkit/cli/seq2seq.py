"""``rnnkit seq2seq``: train an encoder-decoder with attention on source/target pairs, translate, evaluate.

    rnnkit seq2seq train PAIRS.tsv --out DIR [--test TEST.tsv] [--source-level char|word] [--copy] ... [--resume]
    rnnkit seq2seq translate DIR [TEXT | -] [--beam K] [--ensemble OTHER]...
    rnnkit seq2seq eval DIR TEST.tsv [--beam K] [--out DIR2] [--ensemble OTHER]...   (default DIR2: DIR/eval-TEST)

PAIRS files hold one ``source<TAB>target`` pair per line (``.csv``: comma separated), or, with ``--columns SOURCE
TARGET``, a header line naming its columns and those two read from each line. ``train`` writes
``DIR/model`` (weights and vocabularies), ``metrics.json``, ``report.html`` and ``history.json``; ``translate``
prints one output per input line (TEXT, or stdin lines with ``-``); ``eval`` writes ``metrics.json``,
``report.html`` and ``translations.tsv``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnnkit.cli import common
from rnnkit.errors import UserError
from rnnkit.eval.yardstick import said
from rnnkit.pipelines import seq2seq as pipeline

# Not flags: the encoder reads tokens and keeps every step (no front-end, no pooling); the decoder's recurrent
# stack and embeddings follow the encoder's (``tie``); the vocabularies' levels are --source-level/--target-level.
SKIP = ("model.encoder.conv_channels", "model.encoder.conv_kernel", "model.encoder.conv_stride",
        "model.encoder.conv_layers", "model.encoder.conv_norm", "model.encoder.pooling", "model.decoder.rnn",
        "model.decoder.embedding_dim", "vocabulary.level")


def tie(settings: pipeline.Seq2SeqSettings) -> pipeline.Seq2SeqSettings:
    """The decoder: the encoder's cell, size, dropout and embedding size, in one layer read forwards."""
    encoder, decoder = settings.model.encoder, settings.model.decoder
    rnn = dataclasses.replace(decoder.rnn, cell=encoder.rnn.cell, hidden_size=encoder.rnn.hidden_size,
                              dropout=encoder.rnn.dropout)
    settings.model.decoder = dataclasses.replace(decoder, rnn=rnn, embedding_dim=encoder.embedding_dim)
    return settings


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("seq2seq", help="sequence to sequence: train, translate, evaluate",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common.add_train_command(actions, pipeline.RECIPE, pipeline.Seq2SeqSettings, skip=SKIP, tie=tie,
                             help="train on a file of source<TAB>target pairs",
                             description="Train an encoder-decoder with attention on source<TAB>target pairs; "
                                         "write the model, metrics.json, report.html and history.json into --out.")

    translate = actions.add_parser("translate", help="translate texts with a trained model")
    translate.add_argument("model", metavar="DIR", help="a `seq2seq train` output folder, or its model/")
    translate.add_argument("text", metavar="TEXT", nargs="?", default="-", help="a text, or - for stdin lines")
    translate.add_argument("--beam", type=common.positive_int, default=5)
    translate.add_argument("--max-length", type=common.positive_int, default=None, help="most output tokens")
    common.add_encoding_option(translate)
    _add_ensemble_option(translate)
    translate.set_defaults(func=run_translate)

    evaluate = actions.add_parser("eval", help="score a trained model on a pairs file")
    evaluate.add_argument("model", metavar="DIR", help="a `seq2seq train` output folder, or its model/")
    evaluate.add_argument("data", metavar="PAIRS", help="pairs to score (.tsv, or .csv)")
    evaluate.add_argument("--beam", type=common.positive_int, default=5)
    columns = pipeline.Seq2SeqSettings.__dataclass_fields__["columns"].metadata  # as train's
    evaluate.add_argument("--columns", nargs=2, metavar=columns["metavar"], help=columns["help"])
    _add_ensemble_option(evaluate)
    common.add_run_options(evaluate, out_required=False, threads=pipeline.THREADS)  # --out: DIR/eval-<PAIRS name>
    evaluate.set_defaults(func=run_eval)


def _add_ensemble_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ensemble", action="append", default=[], metavar="OTHER",
                        help="another model (same vocabularies) that decodes together with DIR's; repeatable")


def run_translate(args: argparse.Namespace) -> int:
    from rnnkit.data.inputs import read_stdin

    texts = read_stdin().splitlines() if args.text == "-" else [args.text]
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise UserError("nothing to translate: give a TEXT, or lines on stdin with -")
    for output in pipeline.translate_texts(args.model, texts, beam=args.beam, max_length=args.max_length,
                                           ensemble=args.ensemble, progress="auto" if len(texts) > 64 else "none"):
        print(output)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out or Path(args.model) / f"eval-{Path(args.data).stem}", args.force,
                                 create=False)
    metrics = pipeline.evaluate_seq2seq(args.model, args.data, out, beam=args.beam, ensemble=args.ensemble,
                                        columns=args.columns, progress="auto")
    print(said(pipeline.yardsticks(metrics), f"{pipeline.summary(metrics)}; wrote {out}"))
    return 0
