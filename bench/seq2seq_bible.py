"""Acceptance run: King James Bible -> World English Bible, verse by verse, whole books held out, on the CPU.

    setsid nohup .venv/bin/python bench/seq2seq_bible.py --out runs/bible > /tmp/bible.log 2>&1 &
    .venv/bin/python bench/seq2seq_bible.py --out runs/bible --resume --test    # continue; score the test books

``rnnkit.Seq2Seq`` at word level with one shared, capped vocabulary (lowercased), a bidirectional LSTM encoder,
an LSTM decoder with additive attention, input feeding and the pointer-generator copy mechanism (an output
``<unk>`` is replaced by the most attended source word). Training pairs longer than ``--max-tokens`` on either
side are left out of training (never out of scoring). The epoch is chosen on the validation books' teacher-forced
loss, decoding settings on their BLEU; the test books are scored once, with ``--test``.

BLEU and chrF (sacrebleu, corpus level, default 13a tokenisation) compare strings in the model's tokenisation:
both the references and the outputs are lowercased and split by the tokenizer's word pattern (words with their
apostrophes, each punctuation mark a token), then joined by single spaces. The copy-the-input baseline (output =
the KJV verse) is scored the same way. Writes ``<out>/model``, ``<out>/log.jsonl``, ``<out>/result.json`` and
``<out>/report.html`` (validation, or test with ``--test``: metrics, learning curves, attention maps).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnnkit.data.pairs import pair_collate
from rnnkit.datasets.bible import load_bible_pairs, split_by_book
from rnnkit.data.text import Tokenizer
from rnnkit.eval.reports.seq2seq import seq2seq_report
from rnnkit.nn import count_parameters
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import AttentionDecoderConfig, EncoderConfig, Seq2SeqConfig, VocabularyConfig
from rnnkit.tasks.models.seq2seq import Seq2Seq
from rnnkit.train import TrainConfig, Trainer, load_model, save_model, seed_everything


def evaluate(model: Seq2Seq, records, args, history, name: str):
    start = time.monotonic()
    metrics, report, _ = seq2seq_report(model, [r.kjv for r in records], [r.web for r in records], beam=args.beam,
                                        alpha=args.alpha, history=history, title=f"KJV -> WEB ({name} books)")
    metrics["seconds"] = time.monotonic() - start  # beam search, greedy decoding and scoring
    return metrics, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-vocab", type=int, default=4000, help="shared vocabulary cap (ids)")
    parser.add_argument("--max-tokens", type=int, default=40, help="longest training verse (tokens, each side)")
    parser.add_argument("--hidden-size", type=int, default=128, help="encoder, per direction")
    parser.add_argument("--decoder-hidden-size", type=int, default=256)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--no-copy", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=0.6, help="GNMT length penalty for beam search")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in <out>/ckpt")
    parser.add_argument("--test", action="store_true", help="also score the test books (report them once)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    splits = split_by_book(load_bible_pairs())
    seed_everything(args.seed)
    words = Tokenizer(level="word", lowercase=True).split
    short = [r for r in splits.train if max(len(words(r.kjv)), len(words(r.web))) <= args.max_tokens]
    sources, targets = [r.kjv for r in short], [r.web for r in short]
    encoder = EncoderConfig(embedding_dim=args.embedding_dim,
                            rnn=RecurrentConfig(hidden_size=args.hidden_size, bidirectional=True, dropout=args.dropout))
    decoder = AttentionDecoderConfig(embedding_dim=args.embedding_dim, attention="additive", copy=not args.no_copy,
                                     rnn=RecurrentConfig(hidden_size=args.decoder_hidden_size or args.hidden_size,
                                                         dropout=args.dropout))
    model = Seq2Seq.for_data(sources, targets, Seq2SeqConfig(encoder, decoder, max_output_length=150),
                             source_vocabulary=VocabularyConfig("word", max_size=args.max_vocab),
                             shared_vocabulary=True)
    config = TrainConfig(max_epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size, lr=args.lr,
                         schedule="cosine", warmup_steps=200, min_lr_ratio=0.05, seed=args.seed, device="cpu",
                         progress="lines", log_path=str(args.out / "log.jsonl"), checkpoint_dir=str(args.out / "ckpt"),
                         checkpoint_every_steps=200, keep_last=2)
    validation = model.dataset([r.kjv for r in splits.validation], [r.web for r in splits.validation])
    start = time.monotonic()
    result = Trainer(model, config).fit(model.dataset(sources, targets), validation, collate_fn=pair_collate,
                                        resume=args.resume)
    train_seconds = time.monotonic() - start
    save_model(model, args.out / "model", overwrite=True)
    model = load_model(args.out / "model")
    summary = {"train_pairs": len(short), "train_pairs_before_length_cap": len(splits.train),
               "validation_pairs": len(splits.validation), "test_pairs": len(splits.test),
               "vocabulary": len(model.target_vocab), "parameters": count_parameters(model),
               "train_seconds_this_run": train_seconds, "best_epoch": result.best_epoch,
               "stopped": result.stopped_reason, "history": result.history,
               "args": vars(args) | {"out": str(args.out)}}
    summary["validation"], report = evaluate(model, splits.validation, args, result.history, "validation")
    if args.test:
        summary["test"], report = evaluate(model, splits.test, args, result.history, "test")
    report.write(args.out / "report.html")
    (args.out / "result.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1))


if __name__ == "__main__":
    main()
