"""Forecasting data: reading and checking tables, calendar, scalers without leakage, windows, rolling origins."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.timeseries import (
    Scaler,
    Series,
    SeriesColumns,
    SeriesScalers,
    WindowDataset,
    calendar_cycles,
    calendar_feature_names,
    calendar_features,
    encode_series,
    read_table,
    rolling_origins,
    season_length,
    seasonal_mae,
    to_panel,
    training_origins,
)
from rnnkit.data.timeseries.scale import boxcox_lambda
from rnnkit.datasets import load_airline
from rnnkit.errors import UserError

COLUMNS = SeriesColumns(target=("y",), time="t")


def frame(times, values, **extra):
    return pd.DataFrame({"t": pd.to_datetime(times), "y": values, **extra})


def days(n, start="2024-01-01"):
    return pd.date_range(start, periods=n, freq="D")


def test_airline_is_144_months_with_the_known_values():
    data = load_airline()
    assert len(data) == 144 and data["passengers"].iloc[[0, 1, -1]].tolist() == [112, 118, 432]
    panel = to_panel(data, SeriesColumns(target="passengers", time="month"))
    assert panel.freq == "MS" and len(panel.series) == 1 and len(panel.series[0]) == 144
    assert season_length(panel.freq) == 12


def test_long_format_gives_one_series_per_id_in_order():
    data = pd.concat([frame(days(5), np.arange(5.0), k=["b"] * 5), frame(days(3), np.arange(3.0), k=["a"] * 3)])
    panel = to_panel(data, SeriesColumns(target="y", time="t", id="k"))
    assert [s.id for s in panel.series] == ["b", "a"] and [len(s) for s in panel.series] == [5, 3]
    assert panel.freq == "D"


@pytest.mark.parametrize("problem, message", [
    ("duplicate", r"'series' has 1 duplicate timestamp\(s\); the first, 2024-01-03 00:00:00, is at rows \[3, 4\]"),
    ("unsorted", r"not in time order: row 3 \(2024-01-02 00:00:00\) comes after row 2 \(2024-01-03"),
    ("gap", r"1 missing timestamp\(s\) at frequency 'D' \(gaps\); the first is 2024-01-04"),
    ("nan", r"1 missing value\(s\); the first is column 'y' at 2024-01-03 00:00:00 \(row 3\)"),
    ("column", r"column\(s\) \['z'\] not found; the columns are \['t', 'y'\]"),
    ("text", r"data, row 2, column 'y': 'oops' is not a number"),
    ("time", r"time column 't' has a value that is not a date or time at row 2: 'soon'"),
])
def test_problems_are_named_with_row_and_timestamp(problem, message):
    times, values = list(days(8)), list(np.arange(8.0))
    columns = COLUMNS
    if problem == "duplicate":
        times[3] = times[2]
    elif problem == "unsorted":
        times[1], times[2] = times[2], times[1]
    elif problem == "gap":
        del times[3], values[3]
    elif problem == "nan":
        values[2] = np.nan
    elif problem == "column":
        columns = SeriesColumns(target="z", time="t")
    data = frame(times, values)
    if problem == "text":
        data["y"] = data["y"].astype(object)
        data.loc[1, "y"] = "oops"
    if problem == "time":
        data["t"] = data["t"].astype(str).astype(object)
        data.loc[1, "t"] = "soon"
    with pytest.raises(UserError, match=message):
        to_panel(data, columns)


def test_nothing_is_filled_unless_asked_and_then_as_asked():
    times = list(days(6))
    del times[2]
    data = frame(times, [0.0, 1.0, 3.0, np.nan, 5.0])
    for fill, expected in [("interpolate", [0, 1, 2, 3, 4, 5]), ("ffill", [0, 1, 1, 3, 3, 5]),
                           ("zero", [0, 1, 0, 3, 0, 5])]:
        series = to_panel(data, COLUMNS, fill=fill).series[0]
        assert series.target[:, 0].tolist() == expected, fill
    unsorted = data.iloc[[1, 0, 2, 3, 4]]
    assert to_panel(unsorted, COLUMNS, fill="zero", sort=True).series[0].target[:2, 0].tolist() == [0, 1]


def test_frequency_is_inferred_despite_gaps_and_checked_against_the_grid():
    times = list(pd.date_range("2024-01-01", periods=40, freq="30min"))
    del times[10]
    panel = to_panel(frame(times, np.arange(39.0)), COLUMNS, fill="interpolate")
    assert panel.freq == "30min" and len(panel.series[0]) == 40
    off_grid = list(days(6))
    off_grid[4] = off_grid[4] + pd.Timedelta(hours=5)
    with pytest.raises(UserError, match="off the 'D' grid"):
        to_panel(frame(off_grid, np.arange(6.0)), COLUMNS, freq="D")


def test_future_rows_carry_known_covariates_only():
    data = frame(days(10), [*np.arange(7.0), np.nan, np.nan, np.nan], temp=np.arange(10.0))
    series = to_panel(data, SeriesColumns(target="y", time="t", future_covariates="temp")).series[0]
    assert len(series) == 7 and len(series.future) == 10 and len(series.index) == 10
    data.loc[8, "temp"] = np.nan
    with pytest.raises(UserError, match="future rows .* missing known-future covariates at 2024-01-09"):
        to_panel(data, SeriesColumns(target="y", time="t", future_covariates="temp"))


def test_read_table_reads_csv_and_parquet(tmp_path):
    data = frame(days(4), [1.0, 2.0, 3.0, 4.0])
    data.to_csv(tmp_path / "a.csv", index=False)
    data.to_parquet(tmp_path / "a.parquet")
    for name in ("a.csv", "a.parquet"):
        series = to_panel(read_table(tmp_path / name), COLUMNS).series[0]
        assert series.target[:, 0].tolist() == [1, 2, 3, 4]
    with pytest.raises(UserError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_calendar_features_are_periodic_fourier_terms():
    index = pd.date_range("2024-01-01", periods=48 * 14, freq="30min")
    features = calendar_features(index, "30min")
    names = calendar_feature_names("30min")
    assert features.shape == (len(index), len(names))
    day = names.index("time_of_day_sin1")
    assert np.allclose(features[:48 * 7, day], features[48 * 7:, day])  # one day is one cycle
    assert np.allclose(features[12, day], 1.0)  # 06:00 is a quarter of the day
    week = names.index("day_of_week_cos1")
    assert np.allclose(features[0, week], 1.0) and np.allclose(features[48 * 7, week], 1.0)  # Mondays


def test_only_cycles_the_data_spans_twice_are_encoded():
    """Over a shorter span a cycle is a slow ramp that a network would extrapolate past the data."""
    week = pd.date_range("2024-01-01", periods=48 * 10, freq="30min")
    assert calendar_cycles(week, "30min") == ["time_of_day"]
    assert calendar_cycles(pd.date_range("2024-01-01", periods=48 * 20, freq="30min"), "30min") == [
        "time_of_day", "day_of_week"]
    assert calendar_cycles(pd.date_range("1949-01-01", periods=132, freq="MS"), "MS") == ["month_of_year"]
    assert calendar_cycles(pd.date_range("1949-01-01", periods=20, freq="MS"), "MS") == []
    assert calendar_features(week, "30min", ["time_of_day"]).shape == (len(week), 6)


def test_scaler_round_trips_and_log_scale():
    values = np.array([[1.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    scaler = Scaler.fit(values, log=True)
    z = scaler.transform(values)
    assert np.allclose(z[:, 0].mean(), 0) and np.allclose(z[:, 0].std(), 1) and np.allclose(z[:, 1], 0)
    assert np.allclose(scaler.inverse_transform(z), values)
    assert Scaler.from_dict(scaler.to_dict()) == scaler
    with pytest.raises(UserError, match="log transform needs positive values"):
        Scaler.fit(np.array([[1.0], [0.0]]), log=True)


def test_box_cox_lambda_follows_how_the_seasonal_swing_grows_with_the_level():
    t = np.arange(120)
    level = np.exp(0.02 * t) * 100
    season = np.sin(2 * np.pi * t / 12)
    multiplicative, additive = level * (1 + 0.2 * season), 100 + t + 20 * season  # the swing: growing, constant
    assert boxcox_lambda(multiplicative, 12) == 0.0 and boxcox_lambda(additive, 12) == 1.0
    assert boxcox_lambda(multiplicative[:20], 12) == 1.0  # under two whole seasons: no transform
    values = np.stack([multiplicative, additive + 50], axis=1)
    scaler = Scaler.fit(values, boxcox=[0.0, 0.5])
    logged = Scaler.fit(values[:, :1], log=True).transform(values[:, :1])[:, 0]
    assert np.allclose(scaler.transform(values)[:, 0], logged)
    assert np.allclose(scaler.inverse_transform(scaler.transform(values)), values)
    assert Scaler.from_dict(scaler.to_dict()) == scaler
    series = Series("s", pd.RangeIndex(120), values, np.zeros((120, 0)), np.zeros((120, 0)))
    assert SeriesScalers.fit(series, 120, transform="boxcox", season=12).target.boxcox == [0.0, 1.0]
    with pytest.raises(UserError, match="Box-Cox transform needs positive values"):
        Scaler.fit(np.array([[1.0], [0.0]]), boxcox=[0.5])


def test_scalers_see_the_training_rows_only():
    """No leakage: changing the rows after the training cut changes neither the scalers nor the training inputs."""
    data = frame(days(60), np.arange(60.0), temp=np.sin(np.arange(60.0)))
    columns = SeriesColumns(target="y", time="t", past_covariates="temp")
    series = to_panel(data, columns).series[0]
    altered = data.copy()
    altered.loc[40:, ["y", "temp"]] = 1e6
    other = to_panel(altered, columns).series[0]
    a, b = SeriesScalers.fit(series, 40), SeriesScalers.fit(other, 40)
    assert a.to_dict() == b.to_dict()
    rows_a = encode_series(series, a, "D", calendar=["day_of_week"], horizon=0)[0][:40]
    rows_b = encode_series(other, b, "D", calendar=["day_of_week"], horizon=0)[0][:40]
    assert np.array_equal(rows_a, rows_b)
    origins = training_origins(60, lookback=10, horizon=5, stop=40)
    assert origins[0] == 10 and origins[-1] + 5 == 40  # the last training window ends at the cut


def test_windows_gather_the_right_rows():
    series = to_panel(frame(days(30), np.arange(30.0), temp=np.arange(30.0) * 10),
                      SeriesColumns(target="y", time="t", future_covariates="temp")).series[0]
    scalers = SeriesScalers(Scaler([0.0], [1.0]), Scaler([], []), Scaler([0.0], [1.0]))
    encoded = encode_series(series, scalers, "D", calendar=[], horizon=0)
    data = WindowDataset([encoded, encoded], [[5, 20], [7]], lookback=5, horizon=3)
    batch = data.collate([data[0], data[1], data[2]])
    assert batch.past.shape == (3, 5, 2) and batch.future.shape == (3, 3, 1) and batch.target.shape == (3, 3, 1)
    assert batch.past[0, :, 0].tolist() == [0, 1, 2, 3, 4] and batch.target[0, :, 0].tolist() == [5, 6, 7]
    assert batch.future[1, :, 0].tolist() == [200, 210, 220]
    assert batch.target[2, :, 0].tolist() == [7, 8, 9]  # the second series' rows start at offset 30
    with pytest.raises(ValueError, match="origin 28 needs rows"):
        WindowDataset([encoded], [[28]], lookback=5, horizon=3)
    assert torch.equal(data.view([[], [7]]).batch().target, batch.target[2:])


def test_rolling_origins_end_at_the_series_end():
    assert rolling_origins(100, horizon=12, folds=3) == [64, 76, 88]
    assert rolling_origins(100, horizon=12, folds=3, stride=1) == [86, 87, 88]
    with pytest.raises(UserError, match="has 30 rows; 3 folds of horizon 12 every 12 steps need at least 61"):
        rolling_origins(30, horizon=12, folds=3, min_history=25)
    history = np.array([[1.0], [2.0], [4.0], [8.0]])
    assert seasonal_mae(history, 2).tolist() == [4.5]  # |4-1|, |8-2|
