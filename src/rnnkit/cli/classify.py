"""``rnnkit classify``: train a sequence classifier on a table, or predict with a trained one.

    rnnkit classify train DATA --label COL (--text COL | --features COL ... | --id COL [--time COL]) \
        [--test DATA] --out DIR [--resume]
    rnnkit classify predict MODEL_DIR DATA --out DIR

``train`` writes ``DIR/model`` (a model folder: weights, config, tokenizer or scaler, labels, input columns),
``metrics.json`` and ``report.html`` (on ``--test`` when given, else on the validation split);
``predict`` writes ``predictions.csv``, ``metrics.json`` and ``report.html`` (scored when DATA has the label).
"""

from __future__ import annotations

import argparse

from rnnkit.cli import common
from rnnkit.eval.yardstick import said
from rnnkit.pipelines import classify as pipeline


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("classify", help="sequence classification: train a model or predict with one",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common.add_train_command(actions, pipeline.RECIPE, pipeline.ClassifySettings,
                             help="train a classifier on a table (CSV, TSV or Parquet)",
                             description="Train a sequence classifier on a table; write the model, metrics.json "
                                         "and report.html into --out.")

    predict = actions.add_parser("predict", help="predict with a trained classifier")
    predict.add_argument("model", metavar="MODEL_DIR", help="a `classify train` output folder, or its model/")
    predict.add_argument("data", metavar="DATA", help="table with the columns the model was trained on")
    common.add_run_options(predict)
    predict.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force, create=False)
    metrics = pipeline.predict_classifier(args.model, args.data, out)
    sticks = pipeline.yardsticks(metrics) if "majority_class_accuracy" in metrics else []
    scored = f"accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics and not sticks else ""
    print(said(sticks, scored, f"{metrics['count']} predictions; wrote {out}"))
    return 0
