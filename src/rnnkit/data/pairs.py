"""Source/target pairs for sequence-to-sequence tasks: reading them from a TSV or CSV file, and batching them.

    pairs = read_pairs("train.tsv")                   # [("cat", "K AE1 T"), ...]
    data = PairDataset(source_ids, target_ids)        # lists of int arrays, any lengths
    source, source_lengths, target, target_lengths = pair_collate([data[i] for i in range(8)])

A pairs file has one pair per line, source then target, separated by a tab (``.tsv``, and any other suffix) or a
comma (``.csv``, read with Python's csv module, so quoted fields may hold commas). Blank lines are skipped; a line
with another number of fields, or an empty field, is an error that names the file and the line. A first line
``source<TAB>target`` (any case) is a header and is skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import Tensor

from rnnkit.data.sequences import pad_batch
from rnnkit.errors import UserError

_HEADER = ("source", "target")


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The (source, target) pairs of a TSV or CSV file; see the module docstring for the format."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        try:
            text = handle.read()
        except UnicodeDecodeError as error:
            raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    lines = text.splitlines()
    rows = csv.reader(lines) if path.suffix.lower() == ".csv" else (line.split("\t") for line in lines)
    pairs = []
    for number, fields in enumerate(rows, start=1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if number == 1 and tuple(field.strip().lower() for field in fields) == _HEADER:
            continue
        separator = "comma" if path.suffix.lower() == ".csv" else "tab"
        if len(fields) != 2:
            raise UserError(f"{path}, line {number}: expected 2 fields (source and target, separated by a "
                            f"{separator}), got {len(fields)}: {lines[number - 1][:80]!r}")
        source, target = fields[0].strip(), fields[1].strip()
        if not source or not target:
            raise UserError(f"{path}, line {number}: empty {'source' if not source else 'target'} field")
        pairs.append((source, target))
    if not pairs:
        raise UserError(f"{path}: no pairs found (expected lines of source<TAB>target)")
    return pairs


class PairDataset:
    """Map-style data set of (source ids, target ids) arrays for the trainer."""

    def __init__(self, sources: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> None:
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
        self.sources, self.targets = list(sources), list(targets)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.sources[index], self.targets[index]


def pair_collate(items: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``[(source ids, target ids), ...]`` -> ``(source (B, S), source_lengths (B,), target (B, T),
    target_lengths (B,))``, both right-padded with 0 (the padding id)."""
    source, source_lengths = pad_batch([np.asarray(item[0], dtype=np.int64) for item in items])
    target, target_lengths = pad_batch([np.asarray(item[1], dtype=np.int64) for item in items])
    return source, source_lengths, target, target_lengths

