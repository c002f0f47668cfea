"""Source/target pairs for sequence-to-sequence tasks: reading them from a TSV or CSV file, and batching them.

    pairs = read_pairs("train.tsv")                   # [("cat", "K AE1 T"), ...]
    data = PairDataset(source_ids, target_ids)        # lists of int arrays, any lengths
    source, source_lengths, target, target_lengths = pair_collate([data[i] for i in range(8)])

A pairs file has one pair per line, source then target, separated by a tab (``.tsv``, and any other suffix) or a
comma (``.csv``, read with Python's csv module, so quoted fields may hold commas and line breaks). Files are
read by ``rnnkit.data.inputs.read_text`` (UTF-8 unless told; binary files refused). Blank lines are skipped; a line
with another number of fields, or an empty field, is an error that names the file and the line. A first line
``source<TAB>target`` (any case) is a header and is skipped. ``columns=(source, target)`` names them in a header
instead: the first line is then the header, of any number of columns, and those two are read from every line

    pairs = read_pairs("bible.csv", columns=("english", "modern"))
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from rnnkit.data.inputs import read_text
from rnnkit.data.sequences import pad_batch
from rnnkit.errors import UserError

_HEADER = ("source", "target")


def read_pairs(path: str | Path, *, encoding: str | None = None,
               columns: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """The (source, target) pairs of a TSV or CSV file (UTF-8 unless ``encoding``), or of its header's two
    ``columns``; see the module docstring."""
    path = Path(path)
    text = read_text(path, encoding=encoding)
    text = text.replace("\r\n", "\n") if "\n" in text else text.replace("\r", "\n")
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows = _csv_rows(reader, path)
    else:
        rows = ((number, line.split("\t")) for number, line in enumerate(text.split("\n"), start=1))
    separator = "comma" if is_csv else "tab"
    rows = (row for row in rows if len(row[1]) > 1 or (row[1] and row[1][0].strip()))  # blank lines skipped
    header = next(rows, (1, []))[1] if columns else None
    picked = _header_columns(header, columns, path) if columns else (0, 1)
    width, fields_are = (len(header), "as in the header") if columns else (2, "source and target")
    pairs = []
    for index, (number, fields) in enumerate(rows):
        if index == 0 and not columns and tuple(field.strip().lower() for field in fields) == _HEADER:
            continue
        if len(fields) != width:
            shown = (",".join(fields) if is_csv else "\t".join(fields))[:80]
            raise UserError(f"{path}, line {number}: expected {width} fields ({fields_are}, separated by a "
                            f"{separator}), got {len(fields)}: {shown!r}")
        source, target = fields[picked[0]].strip(), fields[picked[1]].strip()
        if not source or not target:
            raise UserError(f"{path}, line {number}: empty {'source' if not source else 'target'} field")
        pairs.append((source, target))
    if not pairs:
        expected = "rows under the header" if columns else f"lines of source{',' if is_csv else '<TAB>'}target"
        raise UserError(f"{path}: no pairs found (expected {expected})")
    return pairs


def _header_columns(header: list[str], columns: tuple[str, str], path: Path) -> tuple[int, int]:
    """The positions of the ``columns`` (source, target) in a pairs file's ``header`` line."""
    names = [name.strip() for name in header]
    missing = [name for name in columns if name not in names]
    if missing:
        raise UserError(f"{path}: no column {missing[0]!r} in the header; its columns: {', '.join(names) or 'none'}")
    return names.index(columns[0]), names.index(columns[1])


def _csv_rows(reader: Any, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line where the row starts, fields)`` of a csv reader; a quote never closed names its line."""
    start = 1
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1
    except csv.Error as error:
        raise UserError(f"{path}, line {start}: {error} (an unbalanced '\"'?)") from None


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

