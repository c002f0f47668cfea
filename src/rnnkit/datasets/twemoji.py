"""Twemoji images with their names, for image captioning: the npm package ``emoji-datasource-twitter`` (CC BY 4.0).

    npm pack emoji-datasource-twitter            # -> emoji-datasource-twitter-16.0.0.tgz (61 MB), nothing installed
    data = load_twemoji("emoji-datasource-twitter-16.0.0.tgz")   # 1,911 emoji: images (N, 64, 64, 3) uint8
    train, validation, test = split_emoji(data)  # whole emoji held out (skin-tone variants stay together)
    python -m rnnkit.datasets.export_twemoji TARBALL OUT_DIR   # PNGs + captions.csv for `rnnkit caption train`,
                                                               # and train.csv / test.csv: 10% of the emoji held out

The tarball (or the folder it unpacks to, or its ``package`` folder) holds ``package/emoji.json`` (one entry per
emoji: its Unicode name, its image file, its skin-tone variants) and ``package/img/twitter/64/*.png`` (64 x 64
RGBA). Images become RGB composited on white (``rgb * alpha + 255 * (1 - alpha)``), uint8. Emoji without a
Twitter image are skipped.

Captions are the Unicode names made plain: lower case, accents dropped (``Åland`` -> ``aland``), ``&`` -> ``and``,
dots dropped (``U.S.`` -> ``us``), and every other character except letters, digits, apostrophes, ``*`` and ``#``
made a space: ``"FACE WITH TEARS OF JOY"`` -> ``"face with tears of joy"``, ``"WOMAN: BEARD"`` -> ``"woman
beard"``, ``"St. Kitts & Nevis Flag"`` -> ``"st kitts and nevis flag"``.

Skin tones: by default only the base (yellow) emoji are kept, 1,911 images; ``skin_tones=True`` adds the 1,875
variants, captioned with the base name and the tone (``"thumbs up sign medium dark skin tone"``; two-tone
variants name both, joined by "and"). ``groups[i]`` is the base emoji's index, so ``split_emoji`` keeps an emoji and
its variants on one side: a held-out emoji is unseen in every tone.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tarfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit._fs import atomic_write
from rnnkit.data.images import decode_image, encode_png
from rnnkit.errors import UserError

INSTALL_HINT = "npm pack emoji-datasource-twitter   (writes emoji-datasource-twitter-<version>.tgz here)"
SIZE = 64
_IMAGES = f"package/img/twitter/{SIZE}/"
_INDEX = "package/emoji.json"
SKIN_TONES = {"1F3FB": "light skin tone", "1F3FC": "medium light skin tone", "1F3FD": "medium skin tone",
              "1F3FE": "medium dark skin tone", "1F3FF": "dark skin tone"}
_NOT_CAPTION = re.compile(r"[^a-z0-9'*#]+")


@dataclass
class Twemoji:
    """``images[i]`` (64, 64, 3) uint8 RGB on white, ``captions[i]``, ``files[i]`` (the PNG's name) and
    ``groups[i]`` (the base emoji's position in the package's order: its variants share it)."""

    images: np.ndarray
    captions: list[str]
    files: list[str]
    groups: list[int]

    def subset(self, indices: Sequence[int]) -> Twemoji:
        indices = list(indices)
        return Twemoji(self.images[indices], [self.captions[i] for i in indices], [self.files[i] for i in indices],
                       [self.groups[i] for i in indices])

    def __len__(self) -> int:
        return len(self.captions)


class EmojiSplits(NamedTuple):
    train: Twemoji
    validation: Twemoji
    test: Twemoji


def caption_from_name(name: str) -> str:
    """A Unicode emoji name as a plain lower-case caption (rules in the module docstring)."""
    text = unicodedata.normalize("NFKD", name.replace("’", "'")).encode("ascii", "ignore").decode()  # accents off
    text = text.lower().replace("&", " and ").replace(".", "")
    return " ".join(_NOT_CAPTION.sub(" ", text).split())


class _Source:
    """Files of the package by their path in the tarball, from the .tgz or from an unpacked folder. A gzip
    stream cannot seek, so the tarball is read in one pass, keeping the index and the 64 x 64 images (about 10 MB)
    and skipping the large sprite sheets."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.files: dict[str, bytes] | None = None
        if self.path.is_file():
            try:
                with tarfile.open(self.path, "r:*") as tar:
                    self.files = {member.name: tar.extractfile(member).read() for member in tar
                                  if member.isfile() and (member.name == _INDEX or member.name.startswith(_IMAGES))}
            except (tarfile.TarError, OSError, EOFError) as error:
                raise UserError(f"{self.path}: not a readable npm tarball ({error}); get one with: "
                                f"{INSTALL_HINT}") from None
        elif self.path.is_dir():
            # the folder holding package/, or package/ itself
            self.root = self.path if (self.path / _INDEX).is_file() else self.path.parent
        else:
            raise UserError(f"{self.path}: no such file or folder; the Twemoji data is the npm tarball: "
                            f"{INSTALL_HINT}")

    def read(self, name: str) -> bytes | None:
        if self.files is not None:
            return self.files.get(name)
        file = self.root / name
        return file.read_bytes() if file.is_file() else None


def load_twemoji(tarball_or_dir: str | Path, *, skin_tones: bool = False, size: int = SIZE) -> Twemoji:
    """Every emoji with a 64 x 64 Twitter image, in the package's sort order (see the module docstring);
    ``size`` resizes the images (Lanczos), e.g. 32 for a model four times cheaper."""
    source = _Source(tarball_or_dir)
    index = source.read(_INDEX)
    if index is None:
        raise UserError(f"{tarball_or_dir}: no {_INDEX} inside; expected the npm package "
                        f"emoji-datasource-twitter: {INSTALL_HINT}")
    try:
        entries = sorted(json.loads(index), key=lambda entry: entry.get("sort_order", 0))
    except (ValueError, AttributeError) as error:
        raise UserError(f"{tarball_or_dir}: {_INDEX} is not the emoji list ({error})") from None
    images, captions, files, groups = [], [], [], []
    for group, entry in enumerate(entries):
        base = caption_from_name(entry["name"])
        variants = [(entry, base)]
        if skin_tones:
            variants += [(variant, f"{base} {' and '.join(SKIN_TONES[t] for t in tones.split('-'))}")
                         for tones, variant in sorted(entry.get("skin_variations", {}).items())]
        for item, caption in variants:
            data = source.read(_IMAGES + item["image"]) if item.get("has_img_twitter") else None
            if data is not None:
                images.append(decode_image(data, f"{tarball_or_dir}:{_IMAGES}{item['image']}", size))
                captions.append(caption)
                files.append(item["image"])
                groups.append(group)
    if not images:
        raise UserError(f"{tarball_or_dir}: no images under {_IMAGES}")
    return Twemoji(np.stack(images), captions, files, groups)


def split_emoji(data: Twemoji, *, validation: float = 0.1, test: float = 0.1, seed: int = 0) -> EmojiSplits:
    """Hold out whole emoji (a base emoji and all its skin-tone variants): fractions of the emoji, drawn with
    ``seed``; each split keeps the data's order."""
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise UserError(f"validation ({validation}) and test ({test}) must be fractions in [0, 1) summing below 1")
    emoji = sorted(set(data.groups))
    drawn = random.Random(seed).sample(emoji, len(emoji))
    n_val, n_test = round(validation * len(emoji)), round(test * len(emoji))
    side = {g: "validation" for g in drawn[:n_val]} | {g: "test" for g in drawn[n_val:n_val + n_test]}
    rows: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for i, group in enumerate(data.groups):
        rows[side.get(group, "train")].append(i)
    return EmojiSplits(*(data.subset(rows[name]) for name in ("train", "validation", "test")))


def export_images(data: Twemoji, out_dir: str | Path, *, captions_file: str = "captions.csv") -> Path:
    """Write ``data`` as PNG files plus a ``file,caption`` CSV (the layout ``rnnkit caption train`` reads);
    returns the CSV's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for image, name in zip(data.images, data.files):
        atomic_write(out / name, encode_png(image))
    return write_captions(data, out / captions_file)


def write_captions(data: Twemoji, path: str | Path) -> Path:
    """The ``file,caption`` table of ``data`` (its images written elsewhere, e.g. by ``export_images``)."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["file", "caption"])
    writer.writerows(zip(data.files, data.captions))
    atomic_write(Path(path), table.getvalue().encode("utf-8"))
    return Path(path)


def train_test_tables(data: Twemoji, out_dir: str | Path) -> tuple[Path, Path]:
    """``train.csv`` and ``test.csv`` in ``out_dir``: the test emoji of ``split_emoji(data)`` (seed 0) held out
    whole, the rest (its train and validation emoji, in the data's order) to train on."""
    test = set(split_emoji(data).test.files)
    rows = {side: [i for i, name in enumerate(data.files) if (name in test) == (side == "test")]
            for side in ("train", "test")}
    return (write_captions(data.subset(rows["train"]), Path(out_dir) / "train.csv"),
            write_captions(data.subset(rows["test"]), Path(out_dir) / "test.csv"))
