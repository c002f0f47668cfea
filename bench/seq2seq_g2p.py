"""Acceptance run: grapheme-to-phoneme on CMUdict with ``rnnkit.Seq2Seq``, whole words held out, on the CPU.

    setsid nohup .venv/bin/python bench/seq2seq_g2p.py --out runs/g2p > /tmp/g2p.log 2>&1 &
    .venv/bin/python bench/seq2seq_g2p.py --out runs/g2p --resume --test   # continue; score the test words once

Characters in, ARPAbet phoneme tokens out (stress digits kept, so ``AH0`` and ``AH1`` are different tokens): a
bidirectional LSTM encoder, an LSTM decoder with additive attention and input feeding. The model trains on every
pronunciation of the training words (alternates are separate pairs) and is chosen on the validation words (greedy
exact match, checked every epoch on a fixed sample of them). Scoring is per distinct word:

- word error rate (WER) = share of words whose predicted pronunciation is not exactly right, 1 - exact match;
  ``wer_first`` compares with the dictionary's first pronunciation, ``wer_any`` accepts any listed one;
- phoneme error rate (PER) = phoneme edit distance / reference phonemes, against the first pronunciation.

With ``--average-epochs K`` the last K epochs' checkpoints are kept, and the weights of the last k of them averaged
(k = 2 .. K, ``rnnkit.train.average_checkpoints``) are candidates beside the best epoch's: the one with the lowest
validation WER (any listed, beam search) is kept and scored. Resuming a finished run with it scores the averages
without training again (its epoch-end checkpoints must still be in ``<out>/ckpt``).

Writes ``<out>/model`` (``rnnkit seq2seq translate <out>/model cat``), ``<out>/log.jsonl`` and
``<out>/result.json``: validation figures for greedy and beam search, and the test words' only with ``--test``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from rnnkit.data.pairs import pair_collate
from rnnkit.datasets.cmudict import load_cmudict, pronunciations_by_word, split_by_word
from rnnkit.eval.sequence_metrics import error_rate
from rnnkit.tasks.seq2seq import Seq2Seq
from rnnkit.nn import count_parameters
from rnnkit.train import (TrainConfig, Trainer, average_checkpoints, checkpoint_folders, checkpoint_step, load_model,
                          save_model, seed_everything)


def score_words(model: Seq2Seq, pairs: list[tuple[str, str]], beam: int) -> dict[str, float]:
    references = pronunciations_by_word(pairs)
    words = sorted(references)
    start = time.monotonic()
    predicted = model.translate(words, beam=beam, batch_size=256)
    seconds = time.monotonic() - start
    first = [references[w][0] for w in words]
    return {"words": len(words), "beam": beam,
            "wer_first": 1 - sum(p == r for p, r in zip(predicted, first)) / len(words),
            "wer_any": 1 - sum(p in references[w] for p, w in zip(predicted, words)) / len(words),
            "per_first": error_rate(first, predicted, unit="word"), "decode_seconds": seconds}


def weight_averages(model_dir: Path, checkpoint_dir: Path, history: list[dict], last: int) -> dict[str, Seq2Seq]:
    """The model of ``model_dir`` with the weights of the last k epoch ends averaged, k = 2 .. ``last``."""
    by_step = {checkpoint_step(path): path for path in checkpoint_folders(checkpoint_dir)}
    ends = [by_step.get(record["step"]) for record in history[-last:]]
    averages = {}
    for k in range(2, len(ends) + 1):
        if None in ends[-k:]:
            break
        model = load_model(model_dir)
        model.load_state_dict(average_checkpoints(ends[-k:]))
        averages[f"mean of the last {k} epochs"] = model
    return averages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hidden-size", type=int, default=128, help="encoder, per direction")
    parser.add_argument("--decoder-hidden-size", type=int, default=256)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--schedule", default="cosine", choices=("constant", "cosine", "plateau"))
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--max-train", type=int, default=None, help="use only this many training pairs (trials)")
    parser.add_argument("--monitor-words", type=int, default=2000, help="validation pairs scored every epoch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--average-epochs", type=int, default=0, metavar="K",
                        help="keep the last K epochs' checkpoints; averages of their weights are candidates too")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in <out>/ckpt")
    parser.add_argument("--test", action="store_true", help="also score the test words (report them once)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    splits = split_by_word(load_cmudict(), seed=0)
    train = splits.train[: args.max_train] if args.max_train else splits.train
    monitor = random.Random(0).sample(splits.validation, min(args.monitor_words, len(splits.validation)))
    sources, targets = [w for w, _ in train], [p for _, p in train]
    seed_everything(args.seed)
    model = Seq2Seq.for_data(sources, targets, source_level="char", target_level="word", lowercase=True,
                             target_lowercase=False, embedding_dim=args.embedding_dim, hidden_size=args.hidden_size,
                             decoder_hidden_size=args.decoder_hidden_size, bidirectional=True,
                             dropout=args.dropout, attention=args.attention, max_output_length=40)
    config = TrainConfig(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                         monitor="val_exact_match", mode="max", schedule=args.schedule, plateau_patience=1,
                         warmup_steps=args.warmup_steps, min_lr_ratio=0.05,
                         seed=args.seed, device="cpu", progress="lines", log_path=str(args.out / "log.jsonl"),
                         checkpoint_dir=str(args.out / "ckpt"), checkpoint_every_steps=200, keep_last=2,
                         keep_epoch_ends=args.average_epochs)
    start = time.monotonic()
    result = Trainer(model, config).fit(model.dataset(sources, targets),
                                        model.dataset([w for w, _ in monitor], [p for _, p in monitor]),
                                        collate_fn=pair_collate, resume=args.resume)
    train_seconds = time.monotonic() - start
    save_model(model, args.out / "model", overwrite=True)
    candidates = {"best epoch": load_model(args.out / "model")}  # score what was saved
    if args.average_epochs:
        candidates |= weight_averages(args.out / "model", args.out / "ckpt", result.history, args.average_epochs)
    validation = {name: {"greedy": score_words(candidate, splits.validation, 1),
                         f"beam{args.beam}": score_words(candidate, splits.validation, args.beam)}
                  for name, candidate in candidates.items()}
    chosen = min(candidates, key=lambda name: validation[name][f"beam{args.beam}"]["wer_any"])
    model = candidates[chosen]
    if chosen != "best epoch":
        save_model(model, args.out / "model", overwrite=True)
    summary = {"train_pairs": len(train), "validation_pairs": len(splits.validation),
               "test_pairs": len(splits.test), "parameters": count_parameters(model),
               "train_seconds_this_run": train_seconds, "best_epoch": result.best_epoch,
               "stopped": result.stopped_reason, "history": result.history, "args": vars(args) | {"out": str(args.out)},
               "chosen": chosen, "validation": validation[chosen],
               "validation_candidates": {name: v[f"beam{args.beam}"]["wer_any"] for name, v in validation.items()}}
    if args.test:
        summary["test"] = {"greedy": score_words(model, splits.test, 1),
                           f"beam{args.beam}": score_words(model, splits.test, args.beam)}
    (args.out / "result.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1))


if __name__ == "__main__":
    main()
