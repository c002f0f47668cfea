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
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data import inputs
from rnnkit.data.sequences import read_sequences
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
                          require_transcripts: bool = True, encoding: str | None = None) -> RecognitionData:
    """A folder with a transcripts table, or a long table (see the module docstring); text UTF-8 unless
    ``encoding``."""
    path = inputs.input_path(path, "any")
    if path.is_dir():
        table = next((path / name for name in TRANSCRIPT_TABLES if (path / name).is_file()), None)
        if table is not None:
            return _read_folder(path, table, transcript, encoding)
        if require_transcripts:
            raise UserError(f"{path}: no {' or '.join(TRANSCRIPT_TABLES)} (columns file, transcript) in the folder")
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SEQUENCE_SUFFIXES)
        if not files:
            raise UserError(f"{path}: no sequence files ({', '.join(SEQUENCE_SUFFIXES)}) in the folder")
        return RecognitionData([read_sequence_file(p, encoding=encoding) for p in files], None,
                               [p.name for p in files])
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"{path}: expected a folder or a table (.csv, .tsv, .parquet), got {path.suffix!r}")
    return _read_long(path, id=id, time=time, features=features, transcript=transcript,
                      require_transcripts=require_transcripts, encoding=encoding)


def read_inputs(paths: Sequence[str | Path], *, id: str = "id", time: str | None = None,
                features: Sequence[str] | None = None, transcript: str = "transcript",
                encoding: str | None = None) -> RecognitionData:
    """Prediction inputs: each path a sequence file, a folder (its transcripts table when it has one, else every
    sequence file in it) or a long table (a .csv/.tsv/.parquet with the ``id`` column). Transcripts are kept when
    every input has them."""
    X: list[np.ndarray] = []
    y: list[str] | None = []
    names: list[str] = []
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() in SEQUENCE_SUFFIXES and not _has_column(path, id, encoding):
            part = RecognitionData([read_sequence_file(path, encoding=encoding)], None, [str(path)])
        else:
            part = read_recognition_data(path, id=id, time=time, features=features, transcript=transcript,
                                         require_transcripts=False, encoding=encoding)
        X += part.X
        names += part.names
        y = None if y is None or part.y is None else y + part.y
    return RecognitionData(X, y, names)


def read_sequence_file(path: str | Path, *, encoding: str | None = None) -> np.ndarray:
    """One sequence (T, F) float32 from a ``.npy`` file or a ``.csv``/``.tsv`` file (rows are steps)."""
    path = inputs.input_path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        values = _read_npy(path)
    elif suffix in (".csv", ".tsv"):
        values = _read_numeric_csv(path, "\t" if suffix == ".tsv" else ",", encoding)
    else:
        raise UserError(f"{path}: unknown sequence file type {suffix!r}; use {', '.join(SEQUENCE_SUFFIXES)}")
    values = values[:, None] if values.ndim == 1 else values
    if values.ndim != 2 or len(values) == 0:
        raise UserError(f"{path}: expected a non-empty (T,) or (T, F) sequence, got shape {values.shape}")
    if not np.isfinite(values).all():
        row, column = np.argwhere(~np.isfinite(values))[0]
        raise UserError(f"{path}: step {row + 1}, feature {column + 1} is {values[row, column]} (not finite)")
    return values.astype(np.float32)


def _read_npy(path: Path) -> np.ndarray:
    """A numeric .npy array: never unpickled (object arrays are refused), damage named."""
    data = inputs.read_bytes(path)
    if not data.startswith(b"\x93NUMPY"):
        raise UserError(f"{path}: not a .npy file (no NumPy header)")
    try:
        values = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise UserError(f"{path}: not a readable numeric .npy array ({error})") from None
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiub":
        raise UserError(f"{path}: expected numbers, got an array of dtype {getattr(values, 'dtype', '?')}")
    return values


def _read_numeric_csv(path: Path, delimiter: str, encoding: str | None) -> np.ndarray:
    """The rows of numbers of a sequence file (an optional header row), worded as ``rnnkit.data.inputs`` words
    the faults of every table; a short row is refused here (a table would read its empty cells as missing)."""
    text = inputs.read_text(path, encoding=encoding)
    inputs.check_quotes(text, str(path), delimiter)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    first = next((i for i, row in enumerate(rows) if any(cell.strip() for cell in row)), None)
    if first is None:
        raise UserError(f"{path}: no data (the file holds only blank lines)")
    header = not all(_is_number(cell) for cell in rows[first])
    start, width = (first + 1 if header else first), len(rows[first])
    values = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise UserError(f"{path}, line {number}: {len(row)} fields, but the {'header' if header else 'first line'}"
                            f" has {width}")
        for column, cell in enumerate(row, start=1):
            if not _is_number(cell):
                raise UserError(f"{path}, line {number}, column {column}: {cell!r} is not a number")
            if not np.isfinite(float(cell)):
                raise UserError(f"{path}, line {number}, column {column}: {cell.strip()} is not a finite number")
        values.append([float(cell) for cell in row])
    if not values:
        raise UserError(f"{path}: a header ({', '.join(rows[first])}) but no rows")
    return np.asarray(values, dtype=np.float64)


def _read_folder(folder: Path, table: Path, transcript: str, encoding: str | None) -> RecognitionData:
    text = inputs.read_text(table, encoding=encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if table.suffix == ".tsv" else ",",
                            strict=True)
    try:
        columns = reader.fieldnames or []
        missing = [c for c in ("file", transcript) if c not in columns]
        if missing:
            raise UserError(f"{table}: column(s) {missing} not found; columns are {columns}")
        rows, start = [], 2
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise UserError(f"{table}, line {reader.line_num}: {error} (an unbalanced '\"'?)") from None
    X, y, names, width = [], [], [], None
    for line, row in rows:
        name, text = (row["file"] or "").strip(), row[transcript]
        if not name:
            raise UserError(f"{table}, line {line}: the file column is empty")
        if text is None:
            raise UserError(f"{table}, line {line}: no {transcript!r} value")
        file = folder / name
        if not file.resolve().is_relative_to(folder.resolve()):
            raise UserError(f"{table}, line {line}: file {name!r} is outside the folder {folder}")
        if not file.is_file():
            raise UserError(f"{table}, line {line}: file {name!r} not found in {folder}")
        sequence = read_sequence_file(file, encoding=encoding)
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
               require_transcripts: bool, encoding: str | None) -> RecognitionData:
    frame = inputs.read_table(path, encoding=encoding, dtype={transcript: str})
    if id not in frame.columns:
        raise UserError(f"{path}: long format needs the sequence id column {id!r}; columns are "
                        f"{list(frame.columns)} (or give a folder of sequence files with transcripts.csv)")
    has_transcripts = transcript in frame.columns
    if require_transcripts and not has_transcripts:
        raise UserError(f"{path}: column {transcript!r} (the transcripts) not found; columns are "
                        f"{list(frame.columns)}")
    if has_transcripts and not require_transcripts:  # prediction input: transcripts only when all are there
        has_transcripts = bool(frame[transcript].fillna("").str.strip().ne("").all())
    used = {id, time, transcript}
    if not features and not [c for c in frame.columns if c not in used]:
        raise UserError(f"{path}: no feature columns besides {sorted(c for c in used if c)}")
    X, y, ids = read_sequences(frame.drop(columns=[c for c in [transcript] if not has_transcripts and c in frame]),
                               label=transcript if has_transcripts else None, id=id, time=time, features=features)
    return RecognitionData(X, [str(t) for t in y] if y is not None else None, [str(key) for key in ids])


def _has_column(path: Path, column: str, encoding: str | None) -> bool:
    """True when the first line of a CSV/TSV file names ``column`` (a long table, not a sequence file)."""
    if path.suffix.lower() not in (".csv", ".tsv"):
        return False
    text = inputs.read_text(path, encoding=encoding)
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    header = next(csv.reader([first], delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
    return column in [cell.strip() for cell in header]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
