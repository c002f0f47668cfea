"""Acceptance run: caption Twemoji images with their names (CNN encoder + attention LSTM decoder), on the CPU.

    npm pack emoji-datasource-twitter            # emoji-datasource-twitter-16.0.0.tgz
    setsid nohup .venv/bin/python bench/caption_twemoji.py emoji-datasource-twitter-16.0.0.tgz --out runs/emoji \
        > /tmp/emoji.log 2>&1 &

Data: the 1,911 base emoji (no skin-tone variants), captions their Unicode names made plain ("grinning face",
"st kitts and nevis flag"), split by ``split_emoji`` (seed 0): 1,529 train, 191 validation, 191 test emoji.
Every validation and test emoji is unseen in training, so its exact name can only come out when it is a new
combination of known words ("woman" + "mage"); BLEU measures the words and phrases the model gets right.

Each candidate setting trains for ``--epochs`` epochs; after each epoch a callback captions the validation emoji
(greedy) and keeps the weights with the best validation BLEU. (Early stopping on the validation loss stops too
soon here: the loss on unseen names bottoms out after 3-4 epochs, while the captions, and BLEU, may keep
improving as the model learns longer phrases.) The candidate with the best validation BLEU gets its beam search
length penalty chosen on validation too (``ALPHAS``), then is scored once on the test emoji, greedy and with beam
search. Baselines without a model, on the same images: the most frequent training caption, and the caption of the
nearest training image in pixel space.

Writes ``<out>/result.json`` (every candidate's validation scores and wall time, the chosen one's test scores,
baselines, sample captions), ``<out>/model`` (the chosen model: ``rnnkit caption <out> IMAGE.png``) and
``<out>/report.html`` (test metrics, learning curves, captions, attention maps).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from rnnkit.data.captions import caption_collate
from rnnkit.datasets.twemoji import load_twemoji, split_emoji
from rnnkit.eval.reports.caption import caption_metrics, caption_report
from rnnkit.eval.sequence_metrics import bleu
from rnnkit.nn import RecurrentConfig, count_parameters
from rnnkit.tasks import AttentionDecoderConfig, CaptionerConfig, ImageEncoderConfig
from rnnkit.tasks.models.captioning import ImageCaptioner
from rnnkit.train import Callback, TrainConfig, Trainer, save_model, seed_everything

CANDIDATES = {  # changes to the CNN (32, 64, 128) + LSTM 256 captioner with 64-wide word embeddings
    "plain": {},
    "regularised": dict(dropout=0.3, augment_shift=2),
    "regularised-small": dict(hidden_size=128, dropout=0.3, augment_shift=2),
}


def captioner_config(size: int, hidden_size: int = 256, dropout: float = 0.0,
                     augment_shift: int = 0) -> CaptionerConfig:
    decoder = AttentionDecoderConfig(embedding_dim=64, rnn=RecurrentConfig(hidden_size=hidden_size, dropout=dropout))
    return CaptionerConfig(ImageEncoderConfig(channels=(32, 64, 128), thumbnail=16), decoder, image_size=size,
                           augment_shift=augment_shift)
ALPHAS = (0.0, 0.6, 1.0)  # GNMT length penalties tried for beam search, on the validation emoji


class BestBleu(Callback):
    """After every epoch: corpus BLEU of greedy captions on the validation images, written into the epoch's history
    record as ``val_bleu``; the best epoch's weights are put back at the end."""

    def __init__(self, images, captions):
        self.images, self.captions = images, captions
        self.best, self.state = -1.0, None

    def on_epoch_end(self, trainer):
        model = trainer.model
        score = bleu([model.normalise(c) for c in self.captions], model.caption(self.images))
        trainer.history[-1]["val_bleu"] = score
        if score > self.best:
            self.best, self.state = score, copy.deepcopy(model.state_dict())
        print(f"  epoch {trainer.epoch}: validation BLEU {score:.2f}", flush=True)

    def on_fit_end(self, trainer):
        trainer.model.load_state_dict(self.state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", help="emoji-datasource-twitter-*.tgz (npm pack emoji-datasource-twitter)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=32, help="image side; 32 is 4x cheaper than the native 64")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated names to try")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--schedule", default="constant", choices=("constant", "cosine"))
    parser.add_argument("--beam", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    train, validation, test = split_emoji(load_twemoji(args.tarball, size=args.size))
    print(f"{len(train)} train, {len(validation)} validation, {len(test)} test emoji at {args.size}x{args.size}",
          flush=True)
    summary = {"images": {"train": len(train), "validation": len(validation), "test": len(test)},
               "size": args.size, "schedule": args.schedule, "epochs": args.epochs, "candidates": {}}
    best = None
    for name in args.candidates.split(","):
        seed_everything(0)
        model = ImageCaptioner.for_data(train.captions, captioner_config(args.size, **CANDIDATES[name]),
                                        images=train.images)
        config = TrainConfig(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, restore_best=False,
                             schedule=args.schedule, progress="lines", seed=0)
        best_bleu = BestBleu(validation.images, validation.captions)
        start = time.monotonic()
        result = Trainer(model, config, callbacks=[best_bleu]).fit(
            model.dataset(train.images, train.captions), model.dataset(validation.images, validation.captions),
            collate_fn=caption_collate)
        wall = time.monotonic() - start
        scores, _, _ = caption_metrics(model, validation.images, validation.captions, beam=1,
                                       train=(train.images, train.captions))
        summary["candidates"][name] = {"settings": CANDIDATES[name], "parameters": count_parameters(model),
                                       "best_epoch": max(result.history, key=lambda r: r["val_bleu"])["epoch"],
                                       "best_val_loss_epoch": result.best_epoch, "epochs": len(result.history),
                                       "train_seconds": round(wall, 1), "validation": scores}
        print(f"{name}: validation BLEU {scores['bleu']:.2f}, exact {scores['exact_match']:.4f}, "
              f"{len(result.history)} epochs in {wall:.0f} s", flush=True)
        summary["candidates"][name]["history"] = result.history
        if best is None or scores["bleu"] > best[0]:
            best = (scores["bleu"], name, model, result.history)
        (args.out / "result.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")

    _, name, model, history = best
    model.eval()
    save_model(model, args.out / "model", overwrite=True)
    beams = {alpha: caption_metrics(model, validation.images, validation.captions, beam=args.beam, alpha=alpha)[0]
             for alpha in ALPHAS}
    alpha = max(ALPHAS, key=lambda a: beams[a]["bleu"])
    summary["validation_beam"] = {str(a): {k: beams[a][k] for k in ("bleu", "exact_match", "wer")} for a in ALPHAS}
    print(f"chosen: {name}, beam {args.beam} with length penalty alpha {alpha}", flush=True)
    metrics, report, outputs = caption_report(model, test.images, test.captions, beam=args.beam, alpha=alpha,
                                              history=history, train=(train.images, train.captions),
                                              extra={"chosen": name, "alpha": alpha},
                                              title="Twemoji captions: held-out emoji (test)")
    report.write(args.out / "report.html")
    summary["chosen"] = name
    summary["test"] = metrics
    summary["samples"] = [{"file": f, "reference": model.normalise(r), "caption": o}
                          for f, r, o in list(zip(test.files, test.captions, outputs))[:20]]
    (args.out / "result.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=1))
    for sample in summary["samples"][:10]:
        print(f"{sample['reference']!r:45} -> {sample['caption']!r}")


if __name__ == "__main__":
    main()
