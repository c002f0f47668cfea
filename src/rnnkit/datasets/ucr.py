"""UCR/UEA time-series classification archives shipped inside the PyPI packages sktime or aeon.

    X_train, y_train, X_test, y_test = load_ucr("JapaneseVowels")   # lists of (T, C) float32 arrays, str labels

The ``.ts`` files are read straight from the installed package's folder: neither package is imported (aeon
would start numba), so installing one with ``pip install --no-deps sktime`` is enough. Data sets: ``UCR_DATASETS``.
The train/test split is the archive's own. Format of a ``.ts`` data line: channels separated by ``:``, values
in a channel by ``,``, the class label last; channels of one case have one length, cases may differ.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from rnnkit.errors import UserError

UCR_DATASETS = ("JapaneseVowels", "GunPoint", "ItalyPowerDemand")
PACKAGES = ("sktime", "aeon")
INSTALL_HINT = "pip install --no-deps sktime   (or: pip install 'rnnkit[datasets]')"


def ucr_folder(name: str) -> Path:
    """The folder holding ``{name}_TRAIN.ts`` and ``{name}_TEST.ts`` in the first installed package."""
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
        if (folder / f"{name}_TRAIN.ts").is_file():
            return folder
    raise UserError(f"UCR data set {name!r} not found in an installed sktime or aeon package; "
                    f"install one: {INSTALL_HINT}")


def read_ts(path: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """A ``.ts`` file: the cases as (T, C) float32 arrays and their class labels (strings)."""
    sequences, labels = [], []
    in_data = False
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *channels, label = line.split(":")
        try:
            values = [np.asarray(channel.split(","), dtype=np.float32) for channel in channels]
        except ValueError as error:
            raise UserError(f"{path}:{number}: {error}") from None
        if not values or len({len(v) for v in values}) != 1:
            raise UserError(f"{path}:{number}: channels of one case must have one length")
        sequences.append(np.stack(values, axis=1))
        labels.append(label.strip())
    if not sequences:
        raise UserError(f"{path}: no @data section with cases")
    return sequences, labels


def load_ucr(name: str) -> tuple[list[np.ndarray], list[str], list[np.ndarray], list[str]]:
    """``X_train, y_train, X_test, y_test`` of a UCR/UEA data set (the archive's split)."""
    if name not in UCR_DATASETS:
        raise UserError(f"unknown UCR data set {name!r}; available: {list(UCR_DATASETS)}")
    folder = ucr_folder(name)
    X_train, y_train = read_ts(folder / f"{name}_TRAIN.ts")
    X_test, y_test = read_ts(folder / f"{name}_TEST.ts")
    return X_train, y_train, X_test, y_test
