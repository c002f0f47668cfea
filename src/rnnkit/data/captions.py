"""Captioned images: the captions table read with its images, and the trainer's data set and batches.

    data = read_captions("images/", "captions.csv", size=64)     # images (N, 64, 64, 3) uint8, captions, files
    dataset = CaptionDataset(data.images, encoded_captions)        # (image, caption ids) items
    images, captions, lengths = caption_collate([dataset[0], dataset[1]])

The captions table is a CSV with a header and the columns ``file`` (an image path relative to the images folder)
and ``caption``; other columns are ignored. Images (PNG, JPEG, anything Pillow reads) are resized to ``size`` x
``size`` and made RGB on white (``rnnkit.data.images.read_image``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.images import read_image
from rnnkit.data.inputs import input_path, place, read_table
from rnnkit.data.sequences import pad_batch
from rnnkit.errors import UserError

COLUMNS = ("file", "caption")


@dataclass
class CaptionedImages:
    images: np.ndarray  # (N, size, size, 3) uint8
    captions: list[str]
    files: list[str]

    def subset(self, rows: Any) -> CaptionedImages:
        rows = list(rows)
        return CaptionedImages(self.images[rows], [self.captions[i] for i in rows], [self.files[i] for i in rows])


def read_captions(images_dir: str | Path, table: str | Path, *, size: int = 64,
                  encoding: str | None = None) -> CaptionedImages:
    """The rows of the captions CSV ``table`` (UTF-8 unless ``encoding``) with their images from ``images_dir``."""
    images_dir = input_path(images_dir, "folder")
    frame = read_table(table, encoding=encoding, dtype=str)  # file names and captions exactly as written
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{table}: missing column(s) {missing}; the header must name {list(COLUMNS)}, got "
                        f"{[str(c) for c in frame.columns]}")
    files, captions, absent = [], [], []
    for row, (file, caption) in enumerate(zip(frame["file"].fillna(""), frame["caption"].fillna(""))):
        file, caption = file.strip(), caption.strip()
        if not file or not caption:
            raise UserError(f"{place(frame, row)}: empty {'file' if not file else 'caption'} field")
        if not (images_dir / file).resolve().is_relative_to(images_dir.resolve()):
            raise UserError(f"{place(frame, row)}: image {file!r} is outside the images folder {images_dir}")
        if not (images_dir / file).is_file():
            absent.append(f"{file} ({place(frame, row).rsplit(', ', 1)[-1]})")
        files.append(file)
        captions.append(caption)
    if absent:
        raise UserError(f"{table}: {len(absent)} image file(s) not found in {images_dir}: "
                        f"{', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}")
    images = np.stack([read_image(images_dir / file, size) for file in files])
    return CaptionedImages(images, captions, files)


class CaptionDataset:
    """Map-style data set of (image (H, W, 3) uint8, caption ids ``<s> .. </s>``) for the trainer."""

    def __init__(self, images: Any, targets: Sequence[np.ndarray]) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} captions")
        self.images, self.targets = images, list(targets)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.images[index], self.targets[index]


def caption_collate(items: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[Tensor, Tensor, Tensor]:
    """``[(image, caption ids), ...]`` -> ``(images (B, H, W, 3) as given, captions (B, T) padded with 0,
    caption lengths (B,))``."""
    images = torch.as_tensor(np.stack([np.asarray(image) for image, _ in items]))
    captions, lengths = pad_batch([np.asarray(ids, dtype=np.int64) for _, ids in items])
    return images, captions, lengths
