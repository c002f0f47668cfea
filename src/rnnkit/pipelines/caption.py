"""Image captioning from a folder of images and a captions table to a run folder: what ``rnnkit caption`` runs.

    metrics = train(RECIPE, CaptionSettings(images="images/", captions="captions.csv", test="test.csv"), "runs/x")
    captions = caption_files("runs/x", ["a.png", "b.png"], beam=3)

The captions table is read by ``rnnkit.data.captions`` (columns ``file`` and ``caption``); images are resized to
the model's ``image_size``. A random validation share of the rows is held out (the best epoch, by the BLEU of
greedy captions; with ``choose_nearest_within`` also ``nearest_within``, how near a training image must be for its
caption to be taken, by the BLEU of the final decoding); the caption vocabulary and the nearest-image table are
built on the rest. ``ensemble`` captioners are trained on that one split, one after the other, with the seeds
``seed``, ``seed + 1``, ...; they caption together (``ImageCaptioner.ensemble_of``) and are saved as one model
folder. Besides the driver's files the run writes ``captions.csv`` (file, reference, caption) for the
scored images: the ``test`` table when given, else the validation rows.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import _fs
from rnnkit.data.captions import caption_collate, read_captions
from rnnkit.data.images import read_image
from rnnkit.errors import UserError
from rnnkit.eval.reports.caption import caption_report
from rnnkit.eval.sequence_metrics import bleu
from rnnkit.eval.yardstick import Yardstick, versus
from rnnkit.nn import count_parameters
from rnnkit.pipelines.driver import Examples, Recipe, Splits, TrainedRun, fit_built, random_split
from rnnkit.tasks.decoding.limits import warn_capped
from rnnkit.tasks.models.captioning import CAPTION_LIMIT, CaptionerConfig, ImageCaptioner
from rnnkit.train import TrainConfig
from rnnkit.train.model_folder import load_model_of
from rnnkit.train.progress import CountProgress


# Two development splits of the README's train.csv, every set of 5 seeds' members: mean BLEU margin over the
# nearest image 1.7 (one model), 1.9 (2), 2.4 (3), 2.4 (4); 3 costs three trainings
ENSEMBLE = 3


@dataclass
class CaptionSettings:
    """A ``caption train`` run: the images and their captions, the split, the model, the training."""

    images: str = field(metadata={"help": "folder of the images", "positional": True, "metavar": "IMAGES_DIR"})
    captions: str = field(metadata={"help": "table of file,caption rows", "positional": True,
                                    "metavar": "CAPTIONS.csv"})
    test: str | None = field(default=None, metadata={
        "help": "captions table of test images, scored at the end", "metavar": "CSV"})
    test_images: str | None = field(default=None, metadata={
        "help": "folder of the --test images (none: IMAGES_DIR)", "metavar": "DIR"})
    validation: float = field(default=0.1, metadata={
        "help": "share of the rows held out for early stopping", "metavar": "FRACTION"})
    min_count: int = field(default=1, metadata={"help": "rarer words are <unk>"})
    beam: int = field(default=3, metadata={"help": "beam for the final scores (1: greedy)"})
    # ENSEMBLE: chosen on development splits of the README's train.csv (bench/caption_ensemble_dev.py)
    ensemble: int = field(default=ENSEMBLE, metadata={
        "help": "captioners trained one after the other (seeds --seed, --seed + 1, ...) that caption together, "
                "each word from the mean of their next-word probabilities; 1: one model"})
    # Off by default: on the emoji a validation share of 150 images chose worse than the fixed default did
    choose_nearest_within: bool = field(default=False, metadata={
        "help": "after training, choose the model's --nearest-within by the validation share's BLEU (beam as --beam)"})
    model: CaptionerConfig = field(default_factory=CaptionerConfig)
    # The best epoch by validation BLEU: on unseen images the loss bottoms out after a few epochs, while the
    # captions, and BLEU, keep improving as the model learns longer phrases.
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=40, lr=2e-3, schedule="cosine",
                                                                   monitor="val_bleu", mode="max"))


def read(settings: CaptionSettings) -> tuple[Examples, Examples | None]:
    """The captioned training images, and the test images (None without ``test``)."""
    if settings.ensemble < 1:
        raise UserError(f"--ensemble must be at least 1 (one model), got {settings.ensemble}")
    data = _read(settings.images, settings.captions, settings)
    if len(data) < 2:
        raise UserError(f"{settings.captions}: need at least 2 captioned images (one to train on, one to validate "
                        f"with)")
    test = None if settings.test is None else _read(settings.test_images or settings.images, settings.test, settings)
    return data, test


def _read(images: str, table: str, settings: CaptionSettings) -> Examples:
    data = read_captions(images, table, size=settings.model.image_size)
    return Examples(data.images, data.captions, data.files)


def build(splits: Splits, settings: CaptionSettings) -> ImageCaptioner:
    return ImageCaptioner.for_data(splits.train.targets, settings.model, min_count=settings.min_count,
                                   images=splits.train.inputs)


CHOICE = "nearest_within_validation_bleu"  # each candidate's validation BLEU, kept in the last epoch's record
MEMBERS = "members"  # each member's seed, best epoch and validation BLEU, kept in the last epoch's record


def fit(splits: Splits, settings: CaptionSettings, config: TrainConfig, resume: bool) -> tuple[ImageCaptioner, Any]:
    """Train ``settings.ensemble`` captioners (the driver's ``fit_built``, seeds ``config.seed + i``; the first
    one's checkpoints and history are the run's), join them, then choose ``nearest_within`` on the validation
    rows: how near a training image must be for its caption to be taken (``ImageCaptioner.choose_nearest_within``).
    """
    count, members, results = settings.ensemble, [], []
    for i in range(count):
        if count > 1:
            print(f"member {i + 1} of {count} (seed {config.seed + i})", flush=True)
        folder = config.checkpoint_dir and f"{config.checkpoint_dir}/member-{i + 1}"  # the first: the run's own
        member = config if i == 0 else dataclasses.replace(config, seed=config.seed + i, checkpoint_dir=folder)
        model, result = fit_built(RECIPE, splits, settings, member, resume)
        members.append(model)
        results.append(result)
    result = results[0]
    if count > 1:
        validation = splits.validation
        references = [members[0].normalise(text) for text in validation.targets]
        scores = [bleu(references, model.caption(validation.inputs, beam=settings.beam)) for model in members]
        model = ImageCaptioner.ensemble_of(members)
        together = bleu(references, model.caption(validation.inputs, beam=settings.beam))
        print(f"ensemble of {count}: validation BLEU {together:.2f} (members alone: "
              + ", ".join(f"{score:.2f}" for score in scores) + f"; beam {settings.beam})", flush=True)
        result.history[-1][MEMBERS] = {"validation_bleu": together, "seeds": [config.seed + i for i in range(count)],
                                       "best_epochs": [r.best_epoch for r in results],
                                       "validation_bleu_alone": scores}
    if settings.choose_nearest_within and model.retrieval is not None:
        scores = model.choose_nearest_within(splits.validation.inputs, splits.validation.targets,
                                             beam=settings.beam, progress=CountProgress("choose", config.progress))
        print(f"nearest_within {model.config.nearest_within:g} (validation BLEU "
              + ", ".join(f"{within:g}: {bleu:.2f}" for within, bleu in scores.items()) + ")", flush=True)
        result.history[-1][CHOICE] = {f"{within:g}": bleu for within, bleu in scores.items()}  # into metrics.json
    return model, result


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    model, scored, train = run.model, run.splits.scored, run.splits.train
    metrics, report, outputs = caption_report(
        model, scored.inputs, scored.targets, beam=run.settings.beam, history=run.result.history,
        train=(train.inputs, train.targets), title=f"Image captioning: {Path(run.settings.captions).name}",
        progress=CountProgress("decode", run.settings.train.progress),
        extra=run.facts() | {"parameters": count_parameters(model)})
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["file", "reference", "caption"])
    writer.writerows(zip(scored.names, [model.normalise(c) for c in scored.targets], outputs))
    _fs.atomic_write(run.out / "captions.csv", table.getvalue().encode("utf-8"))
    warn_capped(metrics["capped"], CAPTION_LIMIT, "--max-output-length", metrics["count"])
    last = run.result.history[-1] if run.result.history else {}
    chosen = {name: last[name] for name in (CHOICE, MEMBERS) if name in last}
    return metrics | {"beam": run.settings.beam, "nearest_within": model.config.nearest_within,
                      "ensemble": model.config.members, **chosen}, report


def yardsticks(metrics: dict[str, Any]) -> list[Yardstick]:
    return [versus("BLEU", metrics["bleu"], "nearest-image", metrics["nearest_bleu"], digits=2)]


def summary(metrics: dict[str, Any]) -> str:
    together = f", an ensemble of {metrics['ensemble']}" if metrics.get("ensemble", 1) > 1 else ""
    return (f"exact match {metrics['exact_match']:.4f}, chrF {metrics['chrf']:.2f} (beam {metrics['beam']}{together})"
            f" on {metrics['scored_on']}; {metrics['near_duplicates']} of {metrics['count']} captions from a "
            f"near-duplicate training image (within {metrics['nearest_within']:g}), {metrics['capped']} cut at the "
            f"length cap")


RECIPE = Recipe(command="caption train", read=read, split=random_split, build=build, fit=fit, score=score,
                summary=summary, yardsticks=yardsticks, collate=caption_collate, unit="images",
                outputs=("captions.csv",))


def load_captioner(model_dir: str | Path) -> ImageCaptioner:
    """The model in ``model_dir`` (a ``caption train`` run folder or its ``model/``)."""
    return load_model_of(model_dir, ImageCaptioner, "an image captioning model (`rnnkit caption train`)")


def caption_files(model_dir: str | Path, paths: list[str | Path], *, beam: int = 3, progress: str = "none"
                  ) -> list[str]:
    """Captions for the image files ``paths`` with the model in ``model_dir``; ``progress`` on stderr (the
    captions may be piped), as ``TrainConfig.progress``."""
    model = load_captioner(model_dir)
    images = np.stack([read_image(path, model.config.image_size) for path in paths])
    return model.caption(images, beam=beam, progress=CountProgress("caption", progress, stream=sys.stderr))
