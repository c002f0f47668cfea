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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._fs import atomic_write
from rnnkit.data.images import read_image
from rnnkit.errors import UserError
from rnnkit.eval.caption_report import caption_report
from rnnkit.eval.report import write_metrics
from rnnkit.integrations.fit import validation_split
from rnnkit.nn import count_parameters
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner, caption_collate
from rnnkit.train import TrainConfig, Trainer, save_model, seed_everything
from rnnkit.train.model_folder import load_model_of

COLUMNS = ("file", "caption")


@dataclass
class CaptionedImages:
    images: np.ndarray  # (N, size, size, 3) uint8
    captions: list[str]
    files: list[str]

    def subset(self, rows: Any) -> CaptionedImages:
        rows = list(rows)
        return CaptionedImages(self.images[rows], [self.captions[i] for i in rows], [self.files[i] for i in rows])


def read_captions(images_dir: str | Path, table: str | Path, *, size: int = 64) -> CaptionedImages:
    """The rows of the captions CSV ``table`` with their images read from ``images_dir``."""
    images_dir, table = Path(images_dir), Path(table)
    if not images_dir.is_dir():
        raise UserError(f"{images_dir}: images folder not found")
    with open(table, encoding="utf-8", newline="") as handle:
        try:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{table}: missing column(s) {missing}; the header must name {list(COLUMNS)}, got "
                                f"{reader.fieldnames}")
            rows = [(reader.line_num, row) for row in reader]
        except UnicodeDecodeError as error:
            raise UserError(f"{table}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    files, captions, absent = [], [], []
    for line, row in rows:
        file, caption = (row["file"] or "").strip(), (row["caption"] or "").strip()
        if not file or not caption:
            raise UserError(f"{table}, line {line}: empty {'file' if not file else 'caption'} field")
        if not (images_dir / file).is_file():
            absent.append(f"{file} (line {line})")
        files.append(file)
        captions.append(caption)
    if absent:
        raise UserError(f"{table}: {len(absent)} image file(s) not found in {images_dir}: "
                        f"{', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}")
    if not files:
        raise UserError(f"{table}: no rows (expected a header {','.join(COLUMNS)} and one row per image)")
    images = np.stack([read_image(images_dir / file, size) for file in files])
    return CaptionedImages(images, captions, files)


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
