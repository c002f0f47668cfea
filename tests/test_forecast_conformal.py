"""Conformal intervals: the calibration's arithmetic, its coverage on exchangeable errors, and the Forecaster's use
of it (a point network gets intervals, the model folder keeps them, ``intervals="model"`` keeps the head's own)."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import UserError
from rnnkit.eval.conformal import Calibration, calibration_origins
from rnnkit.pipelines.forecaster import Forecaster


def test_offsets_are_the_finite_sample_quantile_of_the_pooled_normalised_errors():
    residuals = np.array([1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0, 9.0]).reshape(9, 1, 1)
    calibration = Calibration.from_residuals(residuals)
    assert calibration.scale.tolist() == [[5.0]]
    offsets = calibration.offsets((0.1, 0.5, 0.9))[0, 0]  # 80%: rank ceil(0.8 * 10) = 8 of 9 -> |r| = 8
    assert offsets.tolist() == pytest.approx([-8.0, 0.0, 8.0])
    assert calibration.offsets((0.01, 0.99))[0, 0].tolist() == pytest.approx([-9.0, 9.0])  # capped at the largest


def test_per_step_widths_and_nominal_coverage_on_exchangeable_errors():
    rng = np.random.default_rng(0)
    sigma = np.array([1.0, 2.0, 4.0])[None, :, None]  # the error grows with the step
    calibration = Calibration.from_residuals(rng.normal(size=(200, 3, 1)) * sigma)
    fresh = rng.normal(size=(20000, 3, 1)) * sigma
    for low, high, nominal in ((0.1, 0.9, 0.8), (0.025, 0.975, 0.95)):
        lower, upper = calibration.offsets((low, high))[..., 0], calibration.offsets((low, high))[..., 1]
        inside = (lower <= fresh) & (fresh <= upper)
        assert abs(inside.mean() - nominal) < 0.025
        assert np.abs(inside.mean(axis=0) - nominal).max() < 0.04  # every step, not only on average
    document = calibration.to_dict()
    assert np.array_equal(Calibration.from_dict(document).errors, calibration.errors)


def test_few_windows_borrow_a_width_from_the_other_steps():
    """One window, unshrunk, would normalise every error to exactly 1: the interval would be that window's error."""
    calibration = Calibration.from_residuals(np.array([1.0, -3.0] * 6).reshape(1, 12, 1))
    odd, even = calibration.scale[0::2, 0], calibration.scale[1::2, 0]
    assert (1 < odd).all() and (odd < 2).all() and (2 < even).all() and (even < 3).all()  # shrunk towards ~2
    assert calibration.errors.min() < 0.9 and calibration.errors.max() > 1.1


def test_calibration_origins_shrink_for_short_series():
    assert calibration_origins(100, 12, need=36, windows=13) == (76, list(range(76, 89)))
    assert calibration_origins(50, 12, need=36, windows=13) == (36, [36, 37, 38])
    assert calibration_origins(47, 12, need=36, windows=13) is None


def frame(n=150):
    t = np.arange(n)
    return pd.DataFrame({"t": pd.date_range("2020-01-01", periods=n, freq="D"),
                         "y": 10 + np.sin(2 * np.pi * t / 7) + 0.3 * np.random.default_rng(1).normal(size=n)})


def test_a_point_network_gets_calibrated_intervals_that_a_model_folder_keeps(tmp_path):
    options = dict(target="y", time="t", horizon=7, model={"rnn": {"hidden_size": 8}, "output": "point"},
                   train={"max_steps": 40})
    fc = Forecaster(**options).fit(frame())
    forecast = fc.predict()
    assert list(forecast.columns) == ["id", "time", "target", "forecast", "q0.1", "q0.5", "q0.9"]
    assert np.allclose(forecast["q0.5"], forecast["forecast"])
    assert (forecast["q0.1"] < forecast["forecast"]).all() and (forecast["forecast"] < forecast["q0.9"]).all()
    wide = fc.predict(quantiles=(0.025, 0.975))
    assert (wide["q0.025"] <= forecast["q0.1"]).all() and (wide["q0.975"] >= forecast["q0.9"]).all()
    fc.save(tmp_path / "model")
    pd.testing.assert_frame_equal(Forecaster.load(tmp_path / "model").predict(), forecast)
    plain = Forecaster(intervals="model", **options).fit(frame())
    assert plain.calibration is None and list(plain.predict().columns) == ["id", "time", "target", "forecast"]
    with pytest.raises(UserError, match="intervals must be one of"):
        Forecaster(target="y", intervals="bootstrap")
