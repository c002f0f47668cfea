"""The forecasting selection: folds inside the training span that never show a window its own future, and
``AutoForecaster`` end to end (the candidates table, the chosen combination beside the recurrent ensemble,
calibrated quantiles, the model folder, a budget too small for the whole search)."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import UserError
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.pipelines.select import AutoForecaster, Budget
from rnnkit.pipelines.select.folds import plan_folds
from rnnkit.pipelines.select.forecast import MAX_SEEDS
from rnnkit.pipelines.select.members import BaselineMember, HybridMember, RnnMember


def monthly(n=96, seed=0):
    t = np.arange(n)
    y = (100 + 2 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) + 3 * np.random.default_rng(seed).normal(size=n)
    return pd.DataFrame({"t": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": y})


TINY = dict(target="y", time="t", horizon=12, model={"rnn": {"hidden_size": 4}}, train={"max_steps": 5})


def test_fold_forecasts_never_see_rows_from_their_origin_on():
    data = monthly(80)
    panel = Forecaster(**TINY).read(data)
    folds = plan_folds(panel, 12, 12, need=36, folds=2, windows=2)
    assert folds.origins == [[50, 56, 62, 68]] and [folds.cut(k) for k in range(2)] == [[50], [62]]
    assert folds.actual.shape == (1, 4, 12, 1) and np.array_equal(folds.actual[0, 3, :, 0], data["y"][68:80])
    last = folds.origins[0][-1]
    altered = Forecaster(**TINY).read(data.assign(y=np.where(np.arange(80) >= last, 1e4, data["y"])))
    config = Forecaster(**TINY).config
    for make in (lambda: RnnMember(config), lambda: HybridMember(config), lambda: BaselineMember("theta", 12)):
        assert np.array_equal(folds.backtest(panel, make), folds.backtest(altered, make))
    assert plan_folds(panel, 12, 12, need=36).windows == 3  # 3 folds of 4 windows do not fit in 80 rows
    with pytest.raises(UserError, match="needs at least 68 rows per series"):
        plan_folds(panel.cut([60]), 12, 12, need=56)


@pytest.fixture(scope="module")
def auto():
    return AutoForecaster(budget="5m", progress="none", baselines=("seasonal_naive", "theta"),
                          **TINY | {"train": {"max_steps": 30}}).fit(monthly().iloc[:84])


def test_the_selection_tries_each_kind_and_reports_the_ensemble_beside_the_choice(auto):
    names = [row["candidate"] for row in auto.table]
    assert names[:2] == ["seasonal_naive", "theta"]
    kinds = {row["kind"] for row in auto.table}
    assert kinds == {"baseline", "rnn", "hybrid", "combination"}
    transforms = {row["transform"] for row in auto.table if row["kind"] == "rnn"}
    assert transforms == {"none", "log", "boxcox"}
    assert [row["status"] for row in auto.table] == ["ok"] * len(auto.table)
    recurrent = [row for row in auto.table if row["kind"] in ("rnn", "hybrid")]
    assert len(recurrent) == 4 and len({row["lookback"] for row in recurrent}) == 1  # 84 rows: 24 months, not 36
    scores = {row["candidate"]: row["score"] for row in auto.table}
    combinations = [row["candidate"] for row in auto.table if row["kind"] == "combination"]
    best_first = sorted(["seasonal_naive", "theta"], key=scores.get)
    assert combinations[1:] == ["mean of rnn + seasonal_naive", "mean of rnn + theta",  # scored beside it
                                "mean of rnn + " + " + ".join(best_first)]  # the one used: the two best, in thirds
    assert auto.summary["chosen"] == combinations[-1] and auto.combination.baselines == best_first
    assert auto.combination.weights == pytest.approx([1 / 3] * 3)
    assert auto.summary["fold_mase"]["chosen"] == scores[combinations[-1]]
    backtest = auto.backtest  # the chosen model's fold forecasts are the mean of its three parts'
    part = {model: rows["forecast"].to_numpy() for model, rows in backtest.groupby("model", sort=False)}
    assert np.allclose(part["rnnkit"], (part["rnnkit RNN alone"] + part["seasonal_naive"] + part["theta"]) / 3)
    windows = auto.summary["folds"] * auto.summary["windows_per_fold"]
    assert auto.calibration.errors.shape == (len(combinations) * windows * 12, 1)  # every combination's fold errors
    assert auto.summary["fold_mase"]["rnn"] == scores[combinations[0]] and combinations[0] == "rnn ensemble (3)"
    seeds = sorted((row["score"], row["seeds"]) for row in auto.table if row["kind"] in ("rnn", "hybrid")
                   and row["status"] == "ok")
    assert min(count for _, count in seeds[:3]) >= 2 and max(count for _, count in seeds) == MAX_SEEDS  # the best: more
    # seeds, round by round (the ranking may change between rounds)
    assert len(auto.members) == auto.summary["seeds"] * 3 + len(auto.combination.baselines)


def test_predictions_beat_seasonal_naive_with_intervals_and_survive_the_folder(auto, tmp_path):
    forecast = auto.predict()
    assert list(forecast.columns) == ["id", "time", "target", "forecast", "rnn", "q0.1", "q0.5", "q0.9"]
    assert (forecast["q0.1"] < forecast["forecast"]).all() and (forecast["forecast"] < forecast["q0.9"]).all()
    assert np.allclose(forecast["q0.5"], forecast["forecast"])
    actual = monthly()["y"].to_numpy()[84:96]
    naive = monthly()["y"].to_numpy()[72:84]
    assert np.abs(forecast["forecast"] - actual).mean() < 0.5 * np.abs(naive - actual).mean()
    auto.save(tmp_path / "auto")
    pd.testing.assert_frame_equal(AutoForecaster.load(tmp_path / "auto").predict(), forecast)
    with pytest.raises(UserError, match="already holds a model"):
        auto.save(tmp_path / "auto")


def test_a_small_budget_skips_what_does_not_fit_and_still_forecasts():
    ticks = iter(range(10**6))
    budget = Budget(10, clock=lambda: next(ticks))  # every look at the clock takes a second: the same on any CPU
    small = AutoForecaster(budget=budget, progress="none", baselines=("seasonal_naive",), **TINY)
    small.fit(monthly().iloc[:84])
    statuses = [row["status"] for row in small.table if row["kind"] in ("rnn", "hybrid")]
    assert statuses[0] == "ok" and "skipped: budget" in statuses
    assert small.summary["seeds"] >= 1 and len(small.predict()) == 12
    with pytest.raises(UserError, match="not fitted yet"):
        AutoForecaster(target="y").predict()
