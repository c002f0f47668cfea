"""The budgeted search engine: durations, the budget's clock, trials run, failed or skipped, the table; and the
exponential smoothing of the ES-RNN hybrid."""

import math

import numpy as np
import pytest

from rnnkit.errors import UserError
from rnnkit.pipelines.select import Budget, Search, parse_duration
from rnnkit.pipelines.select.smoothing import Smoothing


def test_durations():
    assert [parse_duration(text) for text in ("90s", "5m", "1h30m", "2.5m", "45", 12)] == [90, 300, 5400, 150, 45, 12]
    for bad in ("soon", "5x", "", "0s", -3):
        with pytest.raises(UserError, match="budget must be"):
            parse_duration(bad)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_trials_run_fail_or_are_skipped_and_fill_one_table():
    clock = Clock()
    search = Search(Budget(100, clock=clock), progress="none")

    def slow(score, seconds):
        def run():
            clock.now += seconds
            return score, {"forecasts": score}
        return run

    def refuse():
        raise UserError("a log transform needs positive values")

    search.run("a", {"size": 16}, slow(0.5, 30))
    search.run("b", {"size": 32}, refuse)
    search.reserve = 20
    search.run("c", {"size": 64}, slow(0.4, 30), estimate=30)  # 70 left: 30 + 20 reserved fit
    search.run("d", {"size": 128}, slow(0.1, 30), estimate=30)  # 40 left: does not
    assert [t.status for t in search.trials] == ["ok", "failed: a log transform needs positive values", "ok",
                                                 "skipped: budget"]
    assert search.best().name == "c" and [t.name for t in search.ranked()] == ["c", "a"]
    assert search.best(lambda t: t.settings["size"] < 64).result == {"forecasts": 0.5}
    assert search.seconds() == pytest.approx(20.0)  # a, b (0 s), c; the skipped trial did not run
    table = search.table()
    assert table[0] == {"candidate": "a", "size": 16, "score": 0.5, "seconds": 30.0, "status": "ok"}
    assert table[1]["score"] is None and table[3]["seconds"] == 0.0
    assert math.isclose(Budget(100, clock=clock).left(), 100)


def test_the_progress_count_moves_with_refinements(capsys):
    clock = Clock()
    search = Search(Budget(100, clock=clock), planned=4, progress="lines", what="selection")
    search.run("a", {}, lambda: (0.5, None))
    assert search.refine(search.trials[0], lambda: (0.4, None), estimate=1.0)  # another seed, say
    search.run("b", {}, lambda: (0.6, None))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" [")[0] for line in lines] == ["selection 1/4", "selection 2/4", "selection 3/4"]
    assert "a 0.4 (again)" in lines[1] and "best 0.4" in lines[2]


def seasonal(n=96, season=12, seed=0):
    t = np.arange(n)
    pattern = 1 + 0.3 * np.sin(2 * np.pi * t / season)
    return 100 * np.exp(0.01 * t) * pattern * (1 + 0.02 * np.random.default_rng(seed).normal(size=n)), pattern


def test_smoothing_recovers_a_multiplicative_season_and_is_causal():
    y, pattern = seasonal()
    smoothing = Smoothing.fit(y, 12)
    assert smoothing.multiplicative
    priors = smoothing.priors(y, ahead=12)
    assert priors.shape == (108,)
    assert np.corrcoef(priors[48:96], pattern[48:96])[0, 1] > 0.95
    deseasonalised = smoothing.deseasonalise(y, priors[:96])
    assert np.allclose(smoothing.reseasonalise(deseasonalised, priors[:96]), y)
    trend = 100 * np.exp(0.01 * np.arange(96))
    relative = deseasonalised[48:] / trend[48:]
    assert relative.std() / relative.mean() < 0.05 < (y / trend).std() / (y / trend).mean()  # the swing is gone
    changed = y.copy()
    changed[60:] *= 3  # row t's prior uses rows before t only
    assert np.array_equal(smoothing.priors(changed)[:61], smoothing.priors(y)[:61])
    later = smoothing.priors(y[:60], ahead=24)  # past the data: the latest index of each phase
    assert np.array_equal(later[72:84], later[60:72])
    additive = Smoothing.fit(y - 200, 12)
    assert not additive.multiplicative
    with pytest.raises(ValueError, match="needs a season >= 2 and at least 24 rows"):
        Smoothing.fit(y[:20], 12)
