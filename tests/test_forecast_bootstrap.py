"""Bootstrapped training copies (``rnnkit.data.timeseries.bootstrap``): what a copy keeps and redraws, and that a
forecaster trains on the copies without keeping them."""

import numpy as np
import pytest

from rnnkit.data.timeseries import SeriesColumns, bootstrapped, to_panel
from rnnkit.datasets import load_airline
from rnnkit.errors import UserError
from rnnkit.pipelines.forecaster import Forecaster

COLUMNS = SeriesColumns(target="passengers", time="month")


def airline_panel(rows=132):
    return to_panel(load_airline().iloc[:rows], COLUMNS)


def seasonal_profile(y, season=12):
    """Each month's mean share of its year's mean: the shape of the season."""
    years = y[: len(y) // season * season].reshape(-1, season)
    return (years / years.mean(axis=1, keepdims=True)).mean(axis=0)


def test_copies_keep_the_trend_and_season_and_redraw_the_noise():
    panel = airline_panel()
    original = panel.series[0].target[:, 0]
    augmented = bootstrapped(panel, copies=3, seed=0)
    assert [s.id for s in augmented.series[1:]] == [f"{panel.series[0].id} bootstrap {k}" for k in range(3)]
    for copy in augmented.series[1:]:
        y = copy.target[:, 0]
        assert y.shape == original.shape and (y > 0).all()
        assert not np.allclose(y, original)
        assert np.abs(np.log(y) - np.log(original)).max() < 0.3  # a few percent (up to 0.19 seen)
        assert np.abs(seasonal_profile(y) - seasonal_profile(original)).max() < 0.05  # up to 0.022 seen
        assert abs(y[-12:].mean() / y[:12].mean() - original[-12:].mean() / original[:12].mean()) < 0.3
    assert augmented.series[0] is panel.series[0]


def test_the_same_seed_draws_the_same_copies_and_another_seed_others():
    panel = airline_panel()
    first, again, other = (bootstrapped(panel, 2, seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first.series[1].target, again.series[1].target)
    assert not np.allclose(first.series[1].target, other.series[1].target)


def test_series_that_stl_cannot_split_get_no_copies():
    assert len(bootstrapped(airline_panel(24), 3, 0).series) == 1  # two seasons: STL needs more
    assert len(bootstrapped(airline_panel(), 0, 0).series) == 1
    data = load_airline().iloc[:60].assign(step=range(60))
    steps = to_panel(data, SeriesColumns(target="passengers"))  # no time column: no season
    assert len(bootstrapped(steps, 3, 0).series) == 1


def test_a_forecaster_trains_on_the_copies_and_keeps_none(tmp_path):
    data = load_airline().iloc[:132]
    options = dict(target="passengers", time="month", horizon=12, transform="log", intervals="model",
                   model={"rnn": {"hidden_size": 8}}, train={"max_steps": 4, "seed": 0})
    plain = Forecaster(**options).fit(data)
    boot = Forecaster(bootstrap=3, **options).fit(data)
    assert list(boot.scalers) == list(plain.scalers) and [s.id for s in boot.tail.series] == [
        s.id for s in plain.tail.series]
    assert not np.allclose(boot.predict()["forecast"], plain.predict()["forecast"])  # it trained on other windows
    boot.save(tmp_path / "model")
    loaded = Forecaster.load(tmp_path / "model")
    assert loaded.config.bootstrap == 3
    np.testing.assert_allclose(loaded.predict()["forecast"], boot.predict()["forecast"], rtol=1e-5)


@pytest.mark.parametrize("value", [-1, 1.5, "4"])
def test_a_bootstrap_count_must_be_a_whole_number_from_zero(value):
    with pytest.raises(UserError, match="bootstrap must be an integer >= 0"):
        Forecaster(target="y", bootstrap=value)
