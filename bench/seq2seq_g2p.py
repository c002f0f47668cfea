"""Acceptance run: grapheme-to-phoneme on CMUdict with ``rnnkit.Seq2Seq``, whole words held out, on the CPU.

    setsid nohup .venv/bin/python bench/seq2seq_g2p.py --out runs/g2p > /tmp/g2p.log 2>&1 &
    .venv/bin/python bench/seq2seq_g2p.py --out runs/g2p --resume --test   # continue; score the test words once

Characters in, ARPAbet phoneme tokens out (stress digits kept, so ``AH0`` and ``AH1`` are different tokens): a
bidirectional LSTM encoder, an LSTM decoder with additive attention and input feeding. The model trains on every
pronunciation of the training words (alternates are separate pairs) and is chosen on the validation words (greedy
exact match, checked every epoch on a fixed sample of them). Scoring is per distinct word:

- word error rate (WER) = share of words whose predicted pronunciation is not exactly right, 1 - exact match;
  ``wer_first`` compares with the dictionary's first pronunciation, ``wer_any`` accepts any listed one;
- phoneme error rate (PER) = phoneme edit distance / reference phonemes, against the first pronunciation;
- the same WERs with stress ignored (``*_no_stress``: digits stripped from prediction and references, 39 phonemes),
  the form that speech recognisers' lexicons use and that G2P results are often reported in.

With ``--average-epochs K`` the last K epochs' checkpoints are kept, and the weights of the last k of them averaged
(k = 2 .. K, ``rnnkit.train.trailing_averages``) are candidates beside the best epoch's: the one with the lowest
validation WER (any listed, beam search) is kept and scored. Resuming a finished run with it scores the averages
without training again (its epoch-end checkpoints must still be in ``<out>/ckpt``).

``--score-only`` scores the saved ``<out>/model`` again (validation, and test with ``--test``) without training,
and updates those figures in ``<out>/result.json``: for a new metric, never for a new choice. With
``--ensemble-with`` it scores only the ensembles (below).

``--ensemble-with DIR...`` (other G2P model folders of this bench): after the model is chosen (or read back with
``--score-only``), it decodes together with each non-empty subset of them (``Seq2Seq.translate(ensemble=...)``,
the mean of the members' next-token probabilities); the model alone and these ensembles are candidates, the one
with the lowest validation WER (any listed, beam search) is kept, and only it is scored on test, under
``"ensemble"`` in ``result.json``.

Writes ``<out>/model`` (``rnnkit seq2seq translate <out>/model cat``), ``<out>/log.jsonl`` and
``<out>/result.json``: validation figures for greedy and beam search, and the test words' only with ``--test``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import time
from pathlib import Path

import torch

from rnnkit.data.pairs import pair_collate
from rnnkit.datasets.cmudict import load_cmudict, pronunciations_by_word, split_by_word, strip_stress
from rnnkit.eval.sequence_metrics import error_rate
from rnnkit.nn import count_parameters
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import AttentionDecoderConfig, EncoderConfig, Seq2SeqConfig, VocabularyConfig
from rnnkit.tasks.models.seq2seq import Seq2Seq
from rnnkit.train import (TrainConfig, Trainer, checkpoint_folders, checkpoint_step, load_model, save_model,
                          seed_everything, trailing_averages)


def score_words(model: Seq2Seq, pairs: list[tuple[str, str]], beam: int,
                ensemble: tuple[Seq2Seq, ...] = ()) -> tuple[dict[str, float], dict[str, list[bool]]]:
    """The scores, and for each form (with stress, ``_no_stress``) whether each word came out as one of its
    listed pronunciations."""
    references = pronunciations_by_word(pairs)
    words = sorted(references)
    start = time.monotonic()
    predicted = model.translate(words, beam=beam, batch_size=256, ensemble=ensemble)
    seconds = time.monotonic() - start
    scores, right = {"words": len(words), "beam": beam}, {}
    for suffix, form in (("", str), ("_no_stress", strip_stress)):
        said = [form(p) for p in predicted]
        listed = [[form(r) for r in references[w]] for w in words]
        right[f"wer_any{suffix}"] = [p in r for p, r in zip(said, listed)]
        scores |= {f"wer_first{suffix}": 1 - sum(p == r[0] for p, r in zip(said, listed)) / len(words),
                   f"wer_any{suffix}": 1 - sum(right[f"wer_any{suffix}"]) / len(words),
                   f"per_first{suffix}": error_rate([r[0] for r in listed], said, unit="word")}
    return scores | {"decode_seconds": seconds}, right


def mcnemar(first: list[bool], second: list[bool]) -> dict[str, float]:
    """Two decoders on the same words: how many words only the first gets right, only the second, and McNemar's
    exact two-sided p-value (a sign test on those discordant words)."""
    only_first = sum(a and not b for a, b in zip(first, second))
    only_second = sum(b and not a for a, b in zip(first, second))
    n = only_first + only_second
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_second) + 1))
    return {"only_first_right": only_first, "only_second_right": only_second,
            "p_value": min(1.0, 2 * tail / 2 ** n) if n else 1.0}


def score_splits(model: Seq2Seq, splits: dict[str, list[tuple[str, str]]], beam: int,
                 ensemble: tuple[Seq2Seq, ...] = ()) -> dict[str, dict]:
    """Greedy and beam-search scores of ``model`` (with ``ensemble``) on each named split, and beam search
    against greedy word by word (``beam_vs_greedy``: first = beam)."""
    found = {}
    for name, pairs in splits.items():
        greedy, greedy_right = score_words(model, pairs, 1, ensemble)
        searched, beam_right = score_words(model, pairs, beam, ensemble)
        found[name] = {"greedy": greedy, f"beam{beam}": searched,
                       "beam_vs_greedy": {key: mcnemar(beam_right[key], greedy_right[key]) for key in beam_right}}
    return found


def choose_ensemble(model: Seq2Seq, member_dirs: list[Path], validation: list[tuple[str, str]],
                    test: list[tuple[str, str]] | None, beam: int, alone: dict | None = None) -> dict:
    """``model`` alone or decoding with a subset of ``member_dirs``: chosen on validation, scored on test.
    ``alone``: the model's own validation scores when already computed (they are not decoded again)."""
    members = {str(path): load_model(path) for path in member_dirs}
    subsets = [names for k in range(len(members) + 1) for names in itertools.combinations(members, k)]
    scores = {names: {"validation": alone} if not names and alone else
              score_splits(model, {"validation": validation}, beam, tuple(members[n] for n in names))
              for names in subsets}
    label = {names: " + ".join(("chosen model", *names)) for names in subsets}
    best = min(subsets, key=lambda names: scores[names]["validation"][f"beam{beam}"]["wer_any"])
    found = {"candidates": {label[names]: scores[names]["validation"][f"beam{beam}"]["wer_any"] for names in subsets},
             "chosen": label[best], "members": list(best)} | scores[best]
    if test is not None:
        found |= score_splits(model, {"test": test}, beam, tuple(members[n] for n in best))
    return found


def weight_averages(model_dir: Path, checkpoint_dir: Path, history: list[dict], last: int) -> dict[str, Seq2Seq]:
    """The model of ``model_dir`` with the weights of the last k epoch ends averaged, k = 2 .. ``last`` (as far
    back as the epoch-end checkpoints go)."""
    by_step = {checkpoint_step(path): path for path in checkpoint_folders(checkpoint_dir)}
    ends = [by_step.get(record["step"]) for record in history[-last:]]
    kept = ends[len(ends) - ends[::-1].index(None):] if None in ends else ends  # the unbroken run up to the last
    averages = {}
    for k, weights in trailing_averages(kept) if kept else ():
        if k >= 2:
            model = load_model(model_dir)
            model.load_state_dict(weights)
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
    parser.add_argument("--score-only", action="store_true",
                        help="score the saved <out>/model again without training; update result.json")
    parser.add_argument("--ensemble-with", nargs="+", type=Path, default=[], metavar="DIR",
                        help="other model folders: ensembles of the chosen model with them are candidates too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    splits = split_by_word(load_cmudict(), seed=0)
    test = splits.test if args.test else None
    if args.score_only and args.ensemble_with:  # the saved model's own figures stay as they are
        update_result(args.out, {"ensemble": choose_ensemble(load_model(args.out / "model"), args.ensemble_with,
                                                             splits.validation, test, args.beam)})
        return
    if args.score_only:
        rescore(args.out, {"validation": splits.validation} | ({"test": test} if test else {}), args.beam)
        return
    train = splits.train[: args.max_train] if args.max_train else splits.train
    monitor = random.Random(0).sample(splits.validation, min(args.monitor_words, len(splits.validation)))
    sources, targets = [w for w, _ in train], [p for _, p in train]
    seed_everything(args.seed)
    encoder = EncoderConfig(embedding_dim=args.embedding_dim,
                            rnn=RecurrentConfig(hidden_size=args.hidden_size, bidirectional=True, dropout=args.dropout))
    decoder = AttentionDecoderConfig(embedding_dim=args.embedding_dim, attention=args.attention,
                                     rnn=RecurrentConfig(hidden_size=args.decoder_hidden_size or args.hidden_size,
                                                         dropout=args.dropout))
    model = Seq2Seq.for_data(sources, targets, Seq2SeqConfig(encoder, decoder, max_output_length=40),
                             source_vocabulary=VocabularyConfig("char"),
                             target_vocabulary=VocabularyConfig("word", lowercase=False))
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
    validation = {name: score_splits(candidate, {"validation": splits.validation}, args.beam)["validation"]
                  for name, candidate in candidates.items()}
    chosen = min(candidates, key=lambda name: validation[name][f"beam{args.beam}"]["wer_any"])
    model = candidates[chosen]
    if chosen != "best epoch":
        save_model(model, args.out / "model", overwrite=True)
    summary = {"train_pairs": len(train), "validation_pairs": len(splits.validation),
               "test_pairs": len(splits.test), "parameters": count_parameters(model),
               "train_seconds_this_run": train_seconds, "best_epoch": result.best_epoch,
               "stopped": result.stopped_reason, "history": result.history,
               "args": vars(args) | {"out": str(args.out), "ensemble_with": list(map(str, args.ensemble_with))},
               "chosen": chosen, "validation": validation[chosen],
               "validation_candidates": {name: v[f"beam{args.beam}"]["wer_any"] for name, v in validation.items()}}
    if test:
        summary |= score_splits(model, {"test": test}, args.beam)
    if args.ensemble_with:
        summary["ensemble"] = choose_ensemble(model, args.ensemble_with, splits.validation, test, args.beam,
                                              alone=validation[chosen])
    update_result(args.out, summary, replace=True)


def rescore(out: Path, splits: dict[str, list[tuple[str, str]]], beam: int) -> None:
    """Score ``out/model`` on ``splits`` and replace those entries of ``out/result.json``."""
    update_result(out, score_splits(load_model(out / "model"), splits, beam))


def update_result(out: Path, entries: dict, replace: bool = False) -> None:
    """Write ``entries`` into ``out/result.json`` (over its other entries unless ``replace``) and print them."""
    path = out / "result.json"
    summary = {} if replace or not path.exists() else json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(summary | entries, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in entries.items() if k != "history"}, indent=1))


if __name__ == "__main__":
    main()
