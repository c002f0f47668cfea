"""Reading sequence-recognition data: numeric sequences (pen points, audio frames) with their transcripts.

Two layouts:

- a folder of sequence files, one per sample: ``.npy`` ((T,) or (T, F) numbers) or ``.csv`` / ``.tsv`` (one row
  per step, one column per feature, an optional header row), with a table ``transcripts.csv`` (or ``.tsv``) in
  the folder that has the columns ``file`` (a path relative to the folder) and ``transcript``;
- a long table (``.csv``, ``.tsv`` or ``.parquet``): one row per step with an ``id`` column, an optional ``time``
  column that orders the steps, feature columns (default: every other numeric column) and a ``transcript``
  column that repeats each sequence's transcript on its rows.

Transcripts are read as text exactly as written ("0042" stays "0042"). Errors name the file, line and column.

    data = read_recognition_data("train/")                      # RecognitionData(X, y, names)
    data = read_recognition_data("train.csv", id="utt", time="t")
    data = read_inputs(["a.npy", "b.csv", "more/"])              # prediction inputs: transcripts not needed
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.sequences import read_sequences, read_table
from rnnkit.errors import UserError

SEQUENCE_SUFFIXES = (".npy", ".csv", ".tsv")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
TRANSCRIPT_TABLES = ("transcripts.csv", "transcripts.tsv")


@dataclass
class RecognitionData:
    """Sequences ``X[i]`` (T_i, F) float32, transcripts ``y[i]`` (None when the data has none), names."""

    X: list[np.ndarray]
    y: list[str] | None
    names: list[str]

    def __len__(self) -> int:
        return len(self.X)


def read_recognition_data(path: str | Path, *, id: str = "id", time: str | None = None,
                          features: Sequence[str] | None = None, transcript: str = "transcript",
                          require_transcripts: bool = True) -> RecognitionData:
    """A folder with a transcripts table, or a long table (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        table = next((path / name for name in TRANSCRIPT_TABLES if (path / name).is_file()), None)
        if table is not None:
            return _read_folder(path, table, transcript)
        if require_transcripts:
            raise UserError(f"{path}: no {' or '.join(TRANSCRIPT_TABLES)} (columns file, transcript) in the folder")
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SEQUENCE_SUFFIXES)
        if not files:
            raise UserError(f"{path}: no sequence files ({', '.join(SEQUENCE_SUFFIXES)}) in the folder")
        return RecognitionData([read_sequence_file(p) for p in files], None, [p.name for p in files])
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"{path}: expected a folder or a table (.csv, .tsv, .parquet), got {path.suffix!r}")
    return _read_long(path, id=id, time=time, features=features, transcript=transcript,
                      require_transcripts=require_transcripts)


def read_inputs(paths: Sequence[str | Path], *, id: str = "id", time: str | None = None,
                features: Sequence[str] | None = None, transcript: str = "transcript") -> RecognitionData:
    """Prediction inputs: each path a sequence file, a folder (its transcripts table when it has one, else every
    sequence file in it) or a long table (a .csv/.tsv/.parquet with the ``id`` column). Transcripts are kept when
    every input has them."""
    X: list[np.ndarray] = []
    y: list[str] | None = []
    names: list[str] = []
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() in SEQUENCE_SUFFIXES and not _has_column(path, id):
            part = RecognitionData([read_sequence_file(path)], None, [str(path)])
        else:
            part = read_recognition_data(path, id=id, time=time, features=features, transcript=transcript,
                                         require_transcripts=False)
        X += part.X
        names += part.names
        y = None if y is None or part.y is None else y + part.y
    return RecognitionData(X, y, names)


def read_sequence_file(path: str | Path) -> np.ndarray:
    """One sequence (T, F) float32 from a ``.npy`` file or a ``.csv``/``.tsv`` file (rows are steps)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise UserError(f"{path}: not a numeric .npy array ({error})") from None
        if values.dtype.kind not in "fiub":
            raise UserError(f"{path}: expected numbers, got an array of dtype {values.dtype}")
    elif suffix in (".csv", ".tsv"):
        values = _read_numeric_csv(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise UserError(f"{path}: unknown sequence file type {suffix!r}; use {', '.join(SEQUENCE_SUFFIXES)}")
    values = values[:, None] if values.ndim == 1 else values
    if values.ndim != 2 or len(values) == 0:
        raise UserError(f"{path}: expected a non-empty (T,) or (T, F) sequence, got shape {values.shape}")
    if not np.isfinite(values).all():
        row, column = np.argwhere(~np.isfinite(values))[0]
        raise UserError(f"{path}: step {row + 1}, feature {column + 1} is {values[row, column]} (not finite)")
    return values.astype(np.float32)


def _read_numeric_csv(path: Path, delimiter: str) -> np.ndarray:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    first = next((i for i, row in enumerate(rows) if any(cell.strip() for cell in row)), None)
    if first is None:
        raise UserError(f"{path}: the file is empty")
    start = first + 1 if not all(_is_number(cell) for cell in rows[first]) else first  # a header row
    values, width = [], None
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        if width is None:
            width = len(row)
        if len(row) != width:
            raise UserError(f"{path}, line {number}: {len(row)} columns, but the first data line has {width}")
        for column, cell in enumerate(row, start=1):
            if not _is_number(cell):
                raise UserError(f"{path}, line {number}, column {column}: {cell!r} is not a number")
        values.append([float(cell) for cell in row])
    if not values:
        raise UserError(f"{path}: a header but no rows of numbers")
    return np.asarray(values, dtype=np.float64)


def _read_folder(folder: Path, table: Path, transcript: str) -> RecognitionData:
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if table.suffix == ".tsv" else ",")
        columns = reader.fieldnames or []
        missing = [c for c in ("file", transcript) if c not in columns]
        if missing:
            raise UserError(f"{table}: column(s) {missing} not found; columns are {columns}")
        rows = [(reader.line_num, row) for row in reader]
    X, y, names, width = [], [], [], None
    for line, row in rows:
        name, text = (row["file"] or "").strip(), row[transcript]
        if not name:
            raise UserError(f"{table}, line {line}: the file column is empty")
        if text is None:
            raise UserError(f"{table}, line {line}: no {transcript!r} value")
        file = folder / name
        if not file.is_file():
            raise UserError(f"{table}, line {line}: file {name!r} not found in {folder}")
        sequence = read_sequence_file(file)
        if width is not None and sequence.shape[1] != width[0]:
            raise UserError(f"{file}: {sequence.shape[1]} features per step, but {width[1]} has {width[0]}")
        width = width or (sequence.shape[1], name)
        X.append(sequence)
        y.append(text)
        names.append(name)
    if not X:
        raise UserError(f"{table}: no rows")
    return RecognitionData(X, y, names)


def _read_long(path: Path, *, id: str, time: str | None, features: Sequence[str] | None, transcript: str,
               require_transcripts: bool) -> RecognitionData:
    if path.suffix.lower() in (".csv", ".tsv"):
        import pandas

        frame = pandas.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype={transcript: str})
    else:
        frame = read_table(path)
    if id not in frame.columns:
        raise UserError(f"{path}: long format needs the sequence id column {id!r}; columns are "
                        f"{list(frame.columns)} (or give a folder of sequence files with transcripts.csv)")
    has_transcripts = transcript in frame.columns
    if require_transcripts and not has_transcripts:
        raise UserError(f"{path}: column {transcript!r} (the transcripts) not found; columns are "
                        f"{list(frame.columns)}")
    if has_transcripts:
        frame[transcript] = frame[transcript].fillna("").astype(str)
    used = {id, time, transcript}
    features = list(features or [c for c in frame.columns if c not in used and frame[c].dtype.kind in "fiub"])
    if not features:
        raise UserError(f"{path}: no numeric feature columns besides {sorted(c for c in used if c)}")
    for column in features:
        if column in frame.columns and frame[column].dtype.kind not in "fiub":
            bad = frame[column][frame[column].notna()].iloc[0]
            raise UserError(f"{path}: feature column {column!r} is not numeric (e.g. {bad!r})")
    X, y, ids = read_sequences(frame, label=transcript if has_transcripts else None, id=id, time=time,
                               features=features)
    for key, sequence in zip(ids, X):
        if not np.isfinite(sequence).all():
            raise UserError(f"{path}: sequence {key!r} has missing or non-finite feature values")
    return RecognitionData(X, [str(t) for t in y] if y is not None else None, [str(key) for key in ids])


def _has_column(path: Path, column: str) -> bool:
    """True when the first line of a CSV/TSV file names ``column`` (a long table, not a sequence file)."""
    if path.suffix.lower() not in (".csv", ".tsv"):
        return False
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
    return column in [cell.strip() for cell in header]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
