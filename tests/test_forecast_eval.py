"""Forecast metrics, the classical baselines and the shared rolling-origin backtest."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.timeseries import SeriesColumns, to_panel
from rnnkit.datasets import load_airline, load_elecdemand
from rnnkit.errors import UserError
from rnnkit.eval import forecast_metrics as fm
from rnnkit.eval.baselines import affordable, backtest_baselines, ets, holt_winters, naive, sarima, seasonal_naive
from rnnkit.eval.reports.forecast import compare, forecast_report
from rnnkit.pipelines.forecaster import Forecaster

AIRLINE = SeriesColumns(target="passengers", time="month")



def test_metrics_by_hand():
    y, f = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert fm.mae(y, f) == 15 and fm.rmse(y, f) == pytest.approx(np.sqrt((100 + 400) / 2))
    assert fm.mape(y, f) == pytest.approx(10.0)
    assert fm.smape(y, f) == pytest.approx(100 * (20 / 210 + 40 / 380) / 2)
    assert fm.mase(y, f, np.array([10.0, 20.0])) == pytest.approx(1.0)  # |e| / s = 1, 1
    assert fm.coverage(y, y - 1, y + 1) == 1.0 and fm.coverage(y, f, f + 5) == 0.0
    assert np.isnan(fm.mape(np.array([0.0, 1.0]), np.array([1.0, 1.0])))
    assert fm.pinball(np.array([1.0]), np.array([0.0]), 0.9) == pytest.approx(0.9)
    text = fm.format_table([{"model": "a", "MAE": 1.23456}, {"model": "bb", "MAE": float("nan")}])
    assert text.splitlines() == ["model  MAE  ", "a      1.235", "bb          "]


def test_simple_baselines():
    history = np.arange(1.0, 25.0)  # 1..24
    assert naive(history, 3, 12).tolist() == [24, 24, 24]
    assert seasonal_naive(history, 14, 12).tolist() == [*range(13, 25), 13, 14]


def test_published_airline_1960_references():
    """The references the issue quotes: seasonal naive 9.99, airline SARIMA 2.90, Holt-Winters 2.21."""
    y = load_airline()["passengers"].to_numpy(float)
    train, test = y[:132], y[132:]
    assert fm.mape(test, seasonal_naive(train, 12, 12)) == pytest.approx(9.99, abs=0.005)
    assert fm.mape(test, sarima(train, 12, 12)) == pytest.approx(2.90, abs=0.01)
    assert fm.mape(test, holt_winters(train, 12, 12)) == pytest.approx(2.21, abs=0.01)


def test_ets_takes_a_trend_only_where_the_series_has_one():
    t = np.arange(96)
    rng = np.random.default_rng(0)
    season = 1 + 0.1 * np.sin(2 * np.pi * t / 12)
    level = 100 * season + rng.normal(0, 1, 96)
    trending = (100 + 2 * t) * season + rng.normal(0, 1, 96)
    flat = ets(level, 24, 12)
    assert abs(flat[12:].mean() - flat[:12].mean()) < 1  # no drift from one year to the next
    rising = ets(trending, 24, 12)
    assert (rising[12:].mean() - rising[:12].mean()) / 12 == pytest.approx(2, abs=0.3)
    assert np.array_equal(holt_winters(trending, 24, 12), rising)  # with a trend, the Holt-Winters of the references
    assert affordable("ets", 12) and not affordable("ets", 48) and affordable("holt_winters", 48)


def test_baselines_and_the_network_share_origins_and_table():
    data = load_airline().iloc[:120]
    fc = Forecaster(target="passengers", time="month", horizon=12, transform="log", model={"rnn": {"hidden_size": 8}},
                    train={"max_steps": 40})
    table, scores = compare(fc, fc.read(data), folds=2, baselines=("naive", "seasonal_naive"))
    assert [row["model"] for row in scores] == ["rnnkit", "naive", "seasonal_naive"]
    for model in ("rnnkit", "naive", "seasonal_naive"):
        rows = table[table["model"] == model]
        assert sorted(set(rows["origin_time"].astype(str))) == ["1956-12-01", "1957-12-01"]
        assert len(rows) == 24 and rows["step"].tolist() == [*range(1, 13)] * 2
    snaive = table[table["model"] == "seasonal_naive"]
    assert fm.mase(snaive["actual"].to_numpy(), snaive["forecast"].to_numpy(), snaive["scale"].to_numpy()) \
        == pytest.approx(scores[2]["MASE"])
    assert "coverage_80" in scores[0] and "coverage_80" not in scores[2]
    with pytest.raises(UserError, match="unknown baseline"):
        backtest_baselines(fc.read(data), 12, 1, names=("prophet",))


def test_forecast_report_is_self_contained(tmp_path):
    data = load_airline().iloc[:100]
    fc = Forecaster(target="passengers", time="month", horizon=6, model={"rnn": {"hidden_size": 8}},
                    train={"max_steps": 20})
    panel = fc.read(data)
    table, scores = compare(fc, panel, folds=1, baselines=("seasonal_naive",))
    fc.fit_panel(panel)
    html = forecast_report(fc, panel, fc.predict(), table, scores).to_html()
    assert html.count("data:image/png;base64") == 3 and "http" not in html.replace("http-equiv", "")
    assert "seasonal_naive" in html and "coverage_80" in html


def test_elecdemand_loads_with_its_covariates():
    data = load_elecdemand()
    assert list(data.columns) == ["time", "demand", "workday", "temperature"] and len(data) == 17520
    panel = to_panel(data, SeriesColumns(target="demand", time="time", future_covariates=("temperature", "workday")))
    assert panel.freq == "30min" and len(panel.series[0]) == 17520
    assert data["demand"].between(2.5, 10).all() and set(data["workday"]) == {0.0, 1.0}


def test_elecdemand_day_ahead_with_temperature_beats_yesterday():
    """A small model on 6 weeks of half-hours, with temperature and workday, beats seasonal naive on MASE."""
    data = load_elecdemand().iloc[:48 * 42]
    fc = Forecaster(target="demand", time="time", future_covariates=("temperature", "workday"), horizon=48,
                    model={"rnn": {"hidden_size": 32}, "output": "point"}, train={"max_steps": 400}, intervals="model")
    table, scores = compare(fc, fc.read(data), folds=4, stride=48, baselines=("seasonal_naive",), retrain=False)
    by_model = {row["model"]: row["MASE"] for row in scores}
    assert by_model["rnnkit"] < 0.8 * by_model["seasonal_naive"]


def test_missing_optional_dependency_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_statsmodels(name, *args, **kwargs):
        if name.startswith("statsmodels"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_statsmodels)
    for module in [m for m in list(__import__("sys").modules) if m.startswith("statsmodels")]:
        monkeypatch.delitem(__import__("sys").modules, module)
    with pytest.raises(UserError, match=r"statsmodels is needed for the Holt-Winters baseline .* "
                                        r"pip install 'rnnkit\[forecast\]'"):
        holt_winters(np.arange(1.0, 30.0), 3, 12)


def test_unsorted_long_table_with_gaps_is_reported_before_training():
    data = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"]), "y": [1.0, 2.0, 3.0]})
    with pytest.raises(UserError, match="not in time order"):
        Forecaster(target="y", time="t", horizon=1).fit(data)


def test_baselines_that_take_minutes_at_the_season_are_left_out_and_announced():
    data = load_elecdemand().iloc[-1000:]  # half-hours: a season of 48 steps
    panel = Forecaster(target="demand", time="time", horizon=48).read(data[["time", "demand"]])
    told = []
    table = backtest_baselines(panel, 48, 2, names=("seasonal_naive", "holt_winters", "sarima"),
                               announce=told.append)
    assert sorted(set(table["model"])) == ["holt_winters", "seasonal_naive"]
    assert "sarima left out" in told[0] and len(table) == 2 * 2 * 48
