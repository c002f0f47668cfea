"""Time series: tables in, checked series out, and what a forecaster builds from them. Batch first.

    frame      read a CSV, Parquet or DataFrame into checked series (``read_table``, ``to_panel``)
    features   calendar features and season lengths from timestamps
    scale      per-series scalers fitted on training rows only
    backtest   rolling-origin cut-offs and the one backtest table every model fills
    windows    scaled series as row tensors, and lookback -> horizon windows over them
    bootstrap  bootstrapped copies of seasonal series (STL + moving blocks) to train on beside them

pandas is an optional dependency (``rnnkit[forecast]``): it is imported when a table is read, not before.
"""

from rnnkit.data.timeseries.backtest import forecast_table, quantile_column, rolling_origins, seasonal_mae
from rnnkit.data.timeseries.bootstrap import bootstrapped
from rnnkit.data.timeseries.features import (
    calendar_cycles,
    calendar_feature_names,
    calendar_features,
    season_length,
)
from rnnkit.data.timeseries.frame import Panel, Series, SeriesColumns, future_index, pandas, read_table, to_panel
from rnnkit.data.timeseries.scale import Scaler
from rnnkit.data.timeseries.windows import (
    ForecastBatch,
    SeriesScalers,
    WindowDataset,
    encode_series,
    known_steps,
    training_origins,
)

__all__ = [
    "ForecastBatch", "Panel", "Scaler", "Series", "SeriesColumns", "SeriesScalers", "WindowDataset",
    "bootstrapped", "calendar_cycles", "calendar_feature_names", "calendar_features", "encode_series",
    "forecast_table", "future_index", "known_steps", "pandas", "quantile_column", "read_table", "rolling_origins",
    "season_length", "seasonal_mae", "to_panel", "training_origins",
]
