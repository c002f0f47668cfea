"""The sktime adapter: forecasts, intervals and updates through sktime's API; sktime's own estimator checks."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime", reason="the sktime adapter is an optional extra: pip install 'rnnkit[sktime]'")

from sktime.datasets import load_airline  # noqa: E402

from rnnkit.adapters.sktime import RnnkitForecaster  # noqa: E402



def test_forecasts_intervals_and_update_on_the_airline_series():
    y = load_airline()  # a PeriodIndex, monthly
    forecaster = RnnkitForecaster(transform="log", steps=200, hidden_size=32).fit(y.iloc[:120], fh=range(1, 13))
    predicted = forecaster.predict()
    assert list(predicted.index) == list(y.index[120:132])
    assert np.mean(np.abs(predicted.to_numpy() / y.to_numpy()[120:132] - 1)) < 0.06  # seasonal naive: 0.11
    interval = forecaster.predict_interval(coverage=[0.5, 0.9])
    lower50, upper50 = interval.iloc[:, 0], interval.iloc[:, 1]
    lower90, upper90 = interval.iloc[:, 2], interval.iloc[:, 3]
    assert (lower90 < lower50).all() and (lower50 < predicted).all() and (predicted < upper50).all()
    assert (upper50 < upper90).all()
    forecaster.update(y.iloc[120:132])
    assert forecaster.cutoff[0] == y.index[131] and list(forecaster.predict().index) == list(y.index[132:144])


def test_exogenous_covariates_reach_the_model():
    index = pd.date_range("2024-01-01", periods=160, freq="h")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=160)}, index=index)
    y = pd.Series(3 * X["x"].to_numpy() + 0.05 * rng.normal(size=160), index=index, name="y")
    forecaster = RnnkitForecaster(steps=250, hidden_size=16, lookback=12).fit(y.iloc[:150], X=X.iloc[:150],
                                                                               fh=range(1, 7))
    predicted = forecaster.predict(X=X.iloc[150:156])
    assert np.abs(predicted.to_numpy() - y.to_numpy()[150:156]).mean() < 0.6  # y's std is 3


@pytest.mark.slow
# sktime 1.2's own update_predict concatenates predictions with a pandas default that pandas 3 deprecates
@pytest.mark.filterwarnings("ignore:Sorting by default when concatenating all DatetimeIndex")
def test_sktime_check_estimator():
    """sktime's full conformance suite (754 checks, about a minute on one core)."""
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(RnnkitForecaster, raise_exceptions=False)
    failed = {name: result for name, result in results.items() if result != "PASSED"}
    assert not failed, failed
