"""``rnnkit classify``: train a sequence classifier on a table, or predict with a trained one.

    rnnkit classify train DATA --label COL (--text COL | --features COL ... | --id COL [--time COL]) \
        [--test DATA] --out DIR
    rnnkit classify predict MODEL_DIR DATA --out DIR

``train`` writes ``DIR/model`` (a model folder: weights, config, tokenizer or scaler, labels, input columns),
``metrics.json`` and ``report.html`` (on ``--test`` when given, else on the validation split);
``predict`` writes ``predictions.csv``, ``metrics.json`` and ``report.html`` (scored when DATA has the label).
"""

from __future__ import annotations

import argparse

from rnnkit.cli import common

ENCODER_OPTIONS = ("pooling", "conv_channels", "conv_kernel", "embedding_dim")  # and the recurrent flags


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("classify", help="sequence classification: train a model or predict with one",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a classifier on a table (CSV, TSV or Parquet)")
    train.add_argument("data", metavar="DATA", help="training table")
    train.add_argument("--label", required=True, metavar="COL", help="the class column")
    layout = train.add_mutually_exclusive_group()
    layout.add_argument("--text", metavar="COL", help="a text column: one text per row")
    layout.add_argument("--id", metavar="COL", help="long format: the sequence id column (one row per step)")
    train.add_argument("--time", metavar="COL", help="long format: the column that orders the steps")
    train.add_argument("--features", nargs="+", metavar="COL",
                       help="numeric columns (default: every column but the label, id and time)")
    train.add_argument("--test", metavar="DATA", help="a test table with the same columns, scored at the end")
    train.add_argument("--validation", type=float, default=0.2, metavar="FRACTION",
                       help="share of DATA held out (stratified) for early stopping (default: 0.2)")
    train.add_argument("--tokenizer", choices=("word", "char"), default="word", help="text: word or char tokens")
    train.add_argument("--min-count", type=common.positive_int, default=1, help="text: rarer tokens are <unk>")
    train.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    train.add_argument("--hidden-size", type=common.positive_int, default=64)
    train.add_argument("--num-layers", type=common.positive_int, default=1)
    train.add_argument("--bidirectional", action="store_true")
    train.add_argument("--pooling", choices=("last", "mean", "max", "attention"), default="attention")
    train.add_argument("--conv-channels", type=common.non_negative_int, default=0,
                       help="a 1-D convolution front-end with this many channels (0: none)")
    train.add_argument("--conv-kernel", type=common.positive_int, default=5)
    train.add_argument("--embedding-dim", type=common.positive_int, default=64)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--epochs", type=common.positive_int, default=30)
    train.add_argument("--batch-size", type=common.positive_int, default=32)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--patience", type=common.positive_int, default=5)
    common.add_run_options(train)
    train.set_defaults(func=run_train)

    predict = actions.add_parser("predict", help="predict with a trained classifier")
    predict.add_argument("model", metavar="MODEL_DIR", help="a `classify train` output folder, or its model/")
    predict.add_argument("data", metavar="DATA", help="table with the columns the model was trained on")
    common.add_run_options(predict)
    predict.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.classify import train_classifier  # heavy imports only when running
    from rnnkit.tasks import EncoderConfig, SequenceClassifierConfig

    front = {name: getattr(args, name) for name in ENCODER_OPTIONS}
    encoder = EncoderConfig(rnn=common.recurrent_config(args), **front)
    columns = {"label": args.label, "text": args.text, "id": args.id, "time": args.time, "features": args.features}
    tokenizer = {"level": args.tokenizer, "min_count": args.min_count}
    training = {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "patience": args.patience,
                "seed": args.seed}
    metrics = train_classifier(args.data, out, columns=columns, test=args.test, validation=args.validation,
                               tokenizer=tokenizer, config=SequenceClassifierConfig(encoder), training=training)
    print(f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on {metrics['scored_on']}; "
          f"wrote {out}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force)
    from rnnkit.integrations.classify import predict_classifier

    metrics = predict_classifier(args.model, args.data, out)
    scored = f"accuracy {metrics['accuracy']:.4f}; " if "accuracy" in metrics else ""
    print(f"{scored}{metrics['count']} predictions; wrote {out}")
    return 0
