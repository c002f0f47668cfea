"""Numeric and text sequences of different lengths: reading them, scaling them, and batching them padded.

A sequence is a numpy array ``(T, F)`` (float, F features per step) or ``(T,)`` (int64 token ids); a data set is
a list of them, each with its own length T. Ways in:

    from_numpy(array)                            # (N, T) univariate, (N, T, F), or a list of (T,)/(T, F) arrays
    from_wide(frame)                             # UCR style: one row per sequence; trailing NaN ends a row early
    ids, seqs = from_long(frame, id="id", time="t", features=["x", "y"])   # one row per (sequence, step)
    frame = read_table("data.csv")               # .csv / .tsv / .parquet / .pq into a pandas DataFrame (checked)

``Preprocessor`` turns raw inputs (texts, or numeric sequences) into model inputs with what it learned on the
training split (a tokenizer, or per-feature mean and standard deviation) and keeps that as JSON.
``pad_collate`` batches ``(sequence, target)`` items into ``(x, lengths, y)``, padded on the right, batch first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data import checks, inputs
from rnnkit.data.text import Tokenizer
from rnnkit.errors import UserError

IGNORE_INDEX = -100  # padded per-step class targets: torch's cross_entropy skips them


def from_numpy(data: Any) -> list[np.ndarray]:
    """Float sequences ``(T, F)`` from a (N, T) array (univariate), a (N, T, F) array, or a list of arrays."""
    if isinstance(data, np.ndarray) and data.dtype != object:
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3:
            raise UserError(f"expected a (N, T) or (N, T, F) array of sequences, got shape {data.shape}")
        return [np.asarray(row, dtype=np.float32) for row in data]
    sequences = []
    for i, item in enumerate(data):
        array = np.asarray(item, dtype=np.float32)
        array = array[:, None] if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[0] == 0:
            raise UserError(f"sequence {i}: expected a non-empty (T,) or (T, F) array, got shape {array.shape}")
        sequences.append(array)
    return sequences


def from_wide(frame: Any, columns: Sequence[str] | None = None) -> list[np.ndarray]:
    """UCR style: each row of ``frame`` (a DataFrame or 2-D array; ``columns`` picks them) is one univariate
    sequence. Trailing NaN mark a shorter sequence; a NaN inside a sequence, or inf anywhere, is an error that
    names the row (the file and line for a frame read from a file; the 0-based row of an array)."""
    values = np.asarray(frame[list(columns)] if columns is not None else frame, dtype=np.float32)
    if values.ndim != 2:
        raise UserError(f"wide format needs one row per sequence, got an array of shape {values.shape}")
    names = list(columns) if columns is not None else list(getattr(frame, "columns", range(values.shape[1])))
    sequences = []
    for i, row in enumerate(values):
        finite = np.isfinite(row)
        length = int(finite.nonzero()[0].max()) + 1 if finite.any() else 0
        bad = np.isinf(row)
        bad[:length] |= ~finite[:length]  # a NaN before the last value: a hole, not the end
        if length == 0 or bad.any():
            at = inputs.place(frame, i) if hasattr(frame, "attrs") else f"row {i}"
            column = int(np.flatnonzero(bad)[0]) if bad.any() else 0
            found = f"column {names[column]!r} is {row[column]}" if bad.any() else "every value is missing"
            raise UserError(f"{at}: a sequence must have values, and NaN only after its end; {found}")
        sequences.append(row[:length, None])
    return sequences


def from_long(frame: Any, *, id: str, time: str | None, features: Sequence[str]) -> tuple[list[Any], list[np.ndarray]]:
    """Long format: one row per step. Returns the sequence ids (in order of first appearance) and their
    ``(T, F)`` sequences, steps sorted by ``time`` (kept in file order when ``time`` is None)."""
    missing = [c for c in [id, time, *features] if c is not None and c not in frame.columns]
    if missing:
        raise UserError(f"long format: column(s) {missing} not found; columns are {list(frame.columns)}")
    ids = list(dict.fromkeys(frame[id]))
    if time is not None:
        frame = frame.sort_values([id, time], kind="stable")
        duplicated = frame.duplicated([id, time])
        if duplicated.any():
            row = frame[duplicated].iloc[0]
            raise UserError(f"long format: sequence {row[id]!r} has two rows at {time}={row[time]!r}")
    groups = dict(iter(frame.groupby(id, sort=False)))
    return ids, [np.asarray(groups[key][list(features)], dtype=np.float32) for key in ids]


def read_table(path: str | Path, *, encoding: str | None = None) -> Any:
    """A CSV/TSV/Parquet file as a pandas DataFrame, every fault a ``UserError`` (``rnnkit.data.inputs``)."""
    return inputs.read_table(path, encoding=encoding)


def is_text(data: Any) -> bool:
    """True when ``data`` is a collection of strings (texts), False for numeric sequences."""
    first = next(iter(data), None) if not isinstance(data, np.ndarray) else (data.flat[0] if data.size else None)
    return isinstance(first, str)


@dataclass
class Preprocessor:
    """What turns raw inputs into model inputs, learned on the training split and kept as JSON.

    Text: a ``Tokenizer`` (sequences of ids). Numbers: ``x' = (x - mean) / std`` per feature, mean and std over
    every step of every training sequence (``scale=False`` keeps the values as they are).
    """

    tokenizer: Tokenizer | None = None
    mean: list[float] | None = None
    std: list[float] | None = None

    @classmethod
    def fit(cls, data: Any, *, scale: bool = True, **tokenizer_options: Any) -> Preprocessor:
        if is_text(data):
            return cls(tokenizer=Tokenizer.fit(list(data), **tokenizer_options))
        steps = np.concatenate(from_numpy(data), axis=0).astype(np.float64)
        if not scale:
            return cls(mean=[0.0] * steps.shape[1], std=[1.0] * steps.shape[1])
        std = steps.std(axis=0)
        return cls(mean=steps.mean(axis=0).tolist(), std=np.where(std > 1e-8, std, 1.0).tolist())

    @property
    def input_size(self) -> int:
        """Features per step (numeric inputs); 0 for text."""
        return 0 if self.tokenizer is not None else len(self.mean or [])

    def transform(self, data: Any) -> list[np.ndarray]:
        if self.tokenizer is not None:
            if not is_text(data):
                raise UserError("this model reads text; got numeric sequences")
            return [np.asarray(self.tokenizer.encode(text), dtype=np.int64) for text in data]
        if is_text(data):
            raise UserError("this model reads numeric sequences; got text")
        sequences = from_numpy(data)
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        for i, sequence in enumerate(sequences):
            if sequence.shape[1] != len(mean):
                raise UserError(f"sequence {i} has {sequence.shape[1]} features per step; the model was trained "
                                f"on {len(mean)}")
        return [(sequence - mean) / std for sequence in sequences]

    def to_dict(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_dict() if self.tokenizer else None, "mean": self.mean,
                "std": self.std}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Preprocessor:
        tokenizer = values.get("tokenizer")
        return cls(tokenizer=Tokenizer.from_dict(tokenizer) if tokenizer else None, mean=values.get("mean"),
                   std=values.get("std"))


class SequenceDataset(torch.utils.data.Dataset):
    """Map-style data set of ``(sequence, target)`` pairs; ``targets=None`` gives ``(sequence, 0)``."""

    def __init__(self, sequences: Sequence[np.ndarray], targets: Any = None) -> None:
        if targets is not None and len(targets) != len(sequences):
            raise UserError(f"{len(sequences)} sequences but {len(targets)} targets")
        self.sequences = list(sequences)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple[np.ndarray, Any]:
        return self.sequences[index], (0 if self.targets is None else self.targets[index])


def pad_batch(sequences: Sequence[np.ndarray], fill: float = 0.0) -> tuple[Tensor, Tensor]:
    """Right-pad ``(T_i, ...)`` arrays into one ``(B, T_max, ...)`` tensor; returns it and the lengths (B,)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    first = np.asarray(sequences[0])
    out = np.full((len(sequences), int(lengths.max()), *first.shape[1:]), fill, dtype=first.dtype)
    for i, sequence in enumerate(sequences):
        out[i, : len(sequence)] = sequence
    return torch.from_numpy(out), lengths


def pad_collate(items: Sequence[tuple[np.ndarray, Any]]) -> tuple[Tensor, Tensor, Tensor]:
    """``[(sequence, target), ...]`` -> ``(x, lengths, y)``: x (B, T, F) float or (B, T) long ids, padded with 0;
    y (B,) or (B, O) for one target per sequence, (B, T) for one per step (class targets padded with -100)."""
    sequences = [item[0] for item in items]
    x, lengths = pad_batch(sequences)
    targets = [np.asarray(item[1]) for item in items]
    if targets[0].ndim == 1 and targets[0].dtype.kind in "iu":
        y, _ = pad_batch([t.astype(np.int64) for t in targets], fill=IGNORE_INDEX)  # per step
    else:
        y = torch.from_numpy(np.stack(targets))
        y = y.long() if y.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8) else y.float()
    return x, lengths, y


def read_sequences(frame: Any, *, label: str | None = None, text: str | None = None,
                   features: Sequence[str] | None = None, id: str | None = None,
                   time: str | None = None) -> tuple[list[Any], list[Any] | None, list[Any]]:
    """Sequences, labels and ids from a table, in one of three layouts:

    - ``text=COL``: one text per row;
    - ``id=COL`` (with ``time=COL``, optional): long format, one row per step, ``features`` (default: every other
      numeric column) per step; the label is read from each sequence's first row and must not change within it;
    - otherwise wide (UCR style): one row per sequence over ``features`` (default: every column but the label).

    Returns ``(X, y, ids)``: y is None without ``label``; ids are row numbers unless ``id`` is given. Blank
    labels, empty texts, text in a numeric column and inf are refused with their place (``rnnkit.data.checks``).
    """
    columns = list(frame.columns)
    for name in (label, text, id, time, *(features or [])):
        if name is not None and name not in columns:
            raise UserError(f"{inputs.source(frame)}: column {name!r} not found; columns are {columns}")
    y = checks.labels_of(frame, label) if label else None
    if text is not None:
        X = checks.texts_of(frame, text)
        return X, y, list(range(len(X)))
    features = feature_columns(frame, label=label, id=id, time=time, features=features)
    if id is not None:
        _check_features(frame, features, missing=False)
        blank = frame[id].isna().to_numpy()
        if blank.any():
            raise UserError(f"{inputs.place(frame, int(np.flatnonzero(blank)[0]))}, column {id!r}: the sequence id "
                            f"is empty")
        ids, X = from_long(frame, id=id, time=time, features=features)
        if label is None:
            return X, None, ids
        labels = frame[[id]].assign(_label=y)
        per_id = labels.groupby(id, sort=False)["_label"].nunique()
        if (per_id > 1).any():
            raise UserError(f"sequence {per_id[per_id > 1].index[0]!r} has more than one {label!r} value")
        first = labels.groupby(id, sort=False)["_label"].first()
        return X, [first[key] for key in ids], ids
    _check_features(frame, features, missing=True)
    return from_wide(frame, features), y, list(range(len(frame)))


def feature_columns(frame: Any, *, label: str | None = None, id: str | None = None, time: str | None = None,
                    features: Sequence[str] | None = None, text: str | None = None) -> list[str] | None:
    """The feature columns ``read_sequences`` reads from ``frame``: ``features`` when given, else every numeric
    column but the label, id and time (long format) or every column but the label (wide); None for text. A model
    records them, so that prediction reads the same columns (``rnnkit.data.checks.same_columns``)."""
    if text is not None:
        return None
    if features:
        return list(features)
    if id is not None:
        return [c for c in frame.columns if c not in {label, id, time} and _numeric_like(frame[c])]
    return [c for c in frame.columns if c != label]


def _numeric_like(column: Any) -> bool:
    """A numeric column, or a text column that is mostly numbers (a typo in one cell must not drop it)."""
    import pandas

    if column.dtype.kind in "fiub":
        return True
    parsed = pandas.to_numeric(column, errors="coerce")
    return bool(parsed.notna().sum() > 0.5 * column.notna().sum())


def _check_features(frame: Any, features: Sequence[str], *, missing: bool) -> None:
    if not features:
        raise UserError(f"{inputs.source(frame)}: no numeric feature columns; columns are {list(frame.columns)}")
    checks.finite(frame, features, missing=missing)
