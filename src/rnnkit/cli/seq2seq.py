"""``rnnkit seq2seq``: train an encoder-decoder with attention on source/target pairs, translate, evaluate.

    rnnkit seq2seq train PAIRS.tsv --out DIR [--test TEST.tsv] [--source-level char|word] [--copy] ...
    rnnkit seq2seq translate DIR [TEXT | -] [--beam K] [--ensemble OTHER]...
    rnnkit seq2seq eval DIR TEST.tsv [--beam K] [--out DIR2] [--ensemble OTHER]...   (default DIR2: DIR/eval-TEST)

PAIRS files hold one ``source<TAB>target`` pair per line (``.csv``: comma separated). ``train`` writes
``DIR/model`` (weights and vocabularies), ``metrics.json``, ``report.html`` and ``history.json``; ``translate``
prints one output per input line (TEXT, or stdin lines with ``-``); ``eval`` writes ``metrics.json``,
``report.html`` and ``translations.tsv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnkit.cli import common
from rnnkit.errors import UserError


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("seq2seq", help="sequence to sequence: train, translate, evaluate",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train on a file of source<TAB>target pairs")
    train.add_argument("data", metavar="PAIRS", help="training pairs (.tsv, or .csv)")
    train.add_argument("--test", metavar="PAIRS", help="test pairs, scored at the end")
    train.add_argument("--validation", type=float, default=0.1, metavar="FRACTION",
                       help="share of PAIRS held out for early stopping (default: 0.1)")
    train.add_argument("--source-level", choices=("char", "word"), default="char")
    train.add_argument("--target-level", choices=("char", "word"), default="char")
    train.add_argument("--keep-case", action="store_true", help="do not lowercase (both sides)")
    train.add_argument("--max-vocab", type=common.positive_int, default=None, help="cap on each vocabulary")
    train.add_argument("--min-count", type=common.positive_int, default=1, help="rarer tokens are <unk>")
    train.add_argument("--copy", action="store_true", help="pointer-generator copy (shared vocabulary)")
    train.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    train.add_argument("--hidden-size", type=common.positive_int, default=128)
    train.add_argument("--embedding-dim", type=common.positive_int, default=64)
    train.add_argument("--num-layers", type=common.positive_int, default=1, help="encoder layers")
    train.add_argument("--unidirectional", action="store_true", help="a forward-only encoder")
    train.add_argument("--attention", choices=("additive", "multiplicative"), default="additive")
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--label-smoothing", type=float, default=0.0)
    train.add_argument("--sampling-probability", type=float, default=0.0, help="scheduled sampling rate")
    train.add_argument("--epochs", type=common.positive_int, default=20)
    train.add_argument("--batch-size", type=common.positive_int, default=64)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--patience", type=common.positive_int, default=4)
    train.add_argument("--beam", type=common.positive_int, default=5, help="beam for the final scores")
    common.add_run_options(train)
    train.set_defaults(func=run_train)

    translate = actions.add_parser("translate", help="translate texts with a trained model")
    translate.add_argument("model", metavar="DIR", help="a `seq2seq train` output folder, or its model/")
    translate.add_argument("text", metavar="TEXT", nargs="?", default="-", help="a text, or - for stdin lines")
    translate.add_argument("--beam", type=common.positive_int, default=5)
    translate.add_argument("--max-length", type=common.positive_int, default=None, help="most output tokens")
    translate.add_argument("--ensemble", action="append", default=[], metavar="OTHER",
                           help="another model (same vocabularies) that decodes together with DIR's; repeatable")
    translate.set_defaults(func=run_translate)

    evaluate = actions.add_parser("eval", help="score a trained model on a pairs file")
    evaluate.add_argument("model", metavar="DIR", help="a `seq2seq train` output folder, or its model/")
    evaluate.add_argument("data", metavar="PAIRS", help="pairs to score (.tsv, or .csv)")
    evaluate.add_argument("--beam", type=common.positive_int, default=5)
    evaluate.add_argument("--ensemble", action="append", default=[], metavar="OTHER",
                          help="another model (same vocabularies) that decodes together with DIR's; repeatable")
    common.add_run_options(evaluate, out_required=False)  # default --out: DIR/eval-<PAIRS name>
    evaluate.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.seq2seq import train_seq2seq  # heavy imports only when running
    from rnnkit.tasks import AttentionDecoderConfig, EncoderConfig, Seq2SeqConfig, VocabularyConfig

    encoder = EncoderConfig(embedding_dim=args.embedding_dim,
                            rnn=common.recurrent_config(args, bidirectional=not args.unidirectional))
    decoder = AttentionDecoderConfig(embedding_dim=args.embedding_dim, attention=args.attention, copy=args.copy,
                                     rnn=common.recurrent_config(args, num_layers=1))  # one decoder layer
    config = Seq2SeqConfig(encoder, decoder, label_smoothing=args.label_smoothing,
                           sampling_probability=args.sampling_probability)
    vocabulary = {"lowercase": not args.keep_case, "min_count": args.min_count, "max_size": args.max_vocab}
    training = {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "patience": args.patience,
                "seed": args.seed}
    metrics = train_seq2seq(args.data, out, test=args.test, validation=args.validation, beam=args.beam,
                            config=config, source_vocabulary=VocabularyConfig(args.source_level, **vocabulary),
                            target_vocabulary=VocabularyConfig(args.target_level, **vocabulary), training=training)
    print(f"BLEU {metrics['bleu']:.2f}, chrF {metrics['chrf']:.2f}, exact match {metrics['exact_match']:.4f} "
          f"(beam {args.beam}) on {metrics['scored_on']}; wrote {out}")
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from rnnkit.integrations.seq2seq import translate_texts

    texts = [line.rstrip("\n") for line in sys.stdin] if args.text == "-" else [args.text]
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise UserError("nothing to translate: give a TEXT, or lines on stdin with -")
    for output in translate_texts(args.model, texts, beam=args.beam, max_length=args.max_length,
                                  ensemble=args.ensemble):
        print(output)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out or Path(args.model) / f"eval-{Path(args.data).stem}", args.force)
    from rnnkit.integrations.seq2seq import evaluate_seq2seq

    metrics = evaluate_seq2seq(args.model, args.data, out, beam=args.beam, ensemble=args.ensemble)
    print(f"BLEU {metrics['bleu']:.2f}, chrF {metrics['chrf']:.2f}, exact match {metrics['exact_match']:.4f} "
          f"(beam {args.beam}) on {metrics['count']} pairs; wrote {out}")
    return 0
