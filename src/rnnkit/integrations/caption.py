"""Image captioning from a folder of images and a captions table: what ``rnnkit caption`` runs.

    metrics = train_captioner("images/", "captions.csv", "runs/x", test="test.csv")
    captions = caption_files("runs/x", ["a.png", "b.png"], beam=3)

The captions table is a CSV with a header and the columns ``file`` (an image path relative to the images folder)
and ``caption``; other columns are ignored. Images (PNG, JPEG, anything Pillow reads) are resized to the model's
``image_size`` (default 64 x 64) and made RGB on white. ``train_captioner`` holds out a random validation share of
the rows (early stopping, the best epoch), builds the caption vocabulary on the rest, trains, and writes
``model/``, ``metrics.json``, ``report.html``, ``history.json`` and ``captions.csv`` (file, reference, caption)
for the scored images: the ``test`` table when given, else the validation rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._fs import atomic_write
from rnnkit.data.captions import caption_collate, read_captions
from rnnkit.data.images import read_image
from rnnkit.errors import UserError
from rnnkit.eval.reports import write_metrics
from rnnkit.eval.reports.caption import caption_report
from rnnkit.integrations.fit import validation_split
from rnnkit.nn import count_parameters
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner
from rnnkit.train import TrainConfig, Trainer, save_model, seed_everything
from rnnkit.train.model_folder import load_model_of

def train_captioner(images_dir: str | Path, table: str | Path, out: str | Path, *, test: str | Path | None = None,
                    test_images: str | Path | None = None, validation: float = 0.1, beam: int = 3,
                    config: CaptionerConfig | None = None, min_count: int = 1,
                    training: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on the captioned images and write the results into ``out``; returns the metrics (on ``test``, whose
    images are in ``test_images`` or else ``images_dir``, when given; else on the validation rows).
    ``config`` (None: the defaults) and ``min_count``: as ``ImageCaptioner.for_data``."""
    out = Path(out)
    config = ImageCaptioner.settings(config)
    size = config.image_size
    data = read_captions(images_dir, table, size=size)
    if len(data.files) < 2:
        raise UserError(f"{table}: need at least 2 captioned images (one to train on, one to validate with)")
    scored = read_captions(test_images or images_dir, test, size=size) if test is not None else None
    train_config = TrainConfig(**{"progress": "none", **(training or {})})
    rows, held = validation_split([0] * len(data.files), validation, train_config.seed, stratify=False)
    train, val = data.subset(rows), data.subset(held)
    seed_everything(train_config.seed)
    model = ImageCaptioner.for_data(train.captions, config, min_count=min_count)
    result = Trainer(model, train_config).fit(model.dataset(train.images, train.captions),
                                        model.dataset(val.images, val.captions), collate_fn=caption_collate)
    model.cpu().eval()
    save_model(model, out / "model", overwrite=True)
    atomic_write(out / "history.json", (json.dumps(result.history, indent=1) + "\n").encode("utf-8"))
    scored, scored_on = (scored, f"test ({Path(test).name})") if scored is not None else (val, "validation rows")
    extra = {"scored_on": scored_on, "train_images": len(train.files), "validation_images": len(val.files),
             "parameters": count_parameters(model), "best_epoch": result.best_epoch,
             "stopped": result.stopped_reason}
    metrics, report, outputs = caption_report(model, scored.images, scored.captions, beam=beam,
                                              history=result.history, train=(train.images, train.captions),
                                              title=f"Image captioning: {Path(table).name}", extra=extra)
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    _write_captions(out / "captions.csv", scored.files, [model.normalise(c) for c in scored.captions], outputs)
    return metrics


def load_captioner(model_dir: str | Path) -> ImageCaptioner:
    """The model in ``model_dir`` (a ``train_captioner`` output folder or its ``model/``)."""
    return load_model_of(model_dir, ImageCaptioner, "an image captioning model (`rnnkit caption train`)")


def caption_files(model_dir: str | Path, paths: list[str | Path], *, beam: int = 3) -> list[str]:
    """Captions for the image files ``paths`` with the model in ``model_dir``."""
    model = load_captioner(model_dir)
    images = np.stack([read_image(path, model.config.image_size) for path in paths])
    return model.caption(images, beam=beam)


def _write_captions(path: Path, files: list[str], references: list[str], outputs: list[str]) -> None:
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["file", "reference", "caption"])
    writer.writerows(zip(files, references, outputs))
    atomic_write(path, table.getvalue().encode("utf-8"))
