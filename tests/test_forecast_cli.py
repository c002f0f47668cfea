"""`rnnkit forecast train` and `rnnkit forecast predict`: files written, exit codes, one-line user errors."""

import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli.main import main



@pytest.fixture
def stores_csv(tmp_path):
    """Two stores, daily, with a known-future promo flag, and 3 future rows per store (promo known, sales not)."""
    rng = np.random.default_rng(0)
    frames = []
    for store in ("north", "south"):
        days = pd.date_range("2024-01-01", periods=83, freq="D")
        promo = rng.integers(0, 2, size=83).astype(float)
        sales = 20 + 5 * np.sin(2 * np.pi * np.arange(83) / 7) + 4 * promo + rng.normal(size=83)
        sales[-3:] = np.nan
        frames.append(pd.DataFrame({"store": store, "date": days.strftime("%Y-%m-%d"), "sales": sales,
                                    "promo": promo}))
    path = tmp_path / "stores.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_then_predict(stores_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["forecast", "train", str(stores_csv), "--target", "sales", "--time", "date", "--id",
                             "store", "--covariates", "promo", "--horizon", "7", "--max-steps", "30", "--hidden-size",
                             "8", "--folds", "2", "--baselines", "seasonal_naive", "--budget", "none", "--out",
                             str(out)], capsys)
    assert code == 0, err
    assert "rnnkit" in stdout and "seasonal_naive" in stdout and "MASE" in stdout
    assert {p.name for p in out.iterdir()} == {"model", "forecast.csv", "backtest.csv", "metrics.json", "report.html",
                                                "history.json", "log.jsonl", "checkpoints", "rnnkit-run.json"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["backtest"]) == {"rnnkit", "seasonal_naive"} and metrics["horizon"] == 7
    assert 0 <= metrics["backtest"]["rnnkit"]["coverage_80"] <= 1
    forecast = pd.read_csv(out / "forecast.csv")  # promo is known 3 days ahead: the forecast stops there
    assert len(forecast) == 2 * 3 and forecast["time"].iloc[0] == "2024-03-21"
    backtest = pd.read_csv(out / "backtest.csv")
    assert set(backtest["model"]) == {"rnnkit", "seasonal_naive"} and len(backtest) == 2 * 2 * 7 * 2

    history = pd.read_csv(stores_csv)
    future = history.groupby("store").head(83).copy()
    code, _, err = run(["forecast", "predict", str(out), "--data", str(stores_csv), "--horizon", "4", "--out",
                        str(tmp_path / "next")], capsys)
    assert code == 2 and "known-future covariates ['promo'] are given for 3 step(s) after the last target " \
                          "value, the forecast needs 4" in err
    extended = pd.concat([future, future.groupby("store").tail(4).assign(
        date=lambda d: (pd.to_datetime(d["date"]) + pd.Timedelta(days=4)).dt.strftime("%Y-%m-%d"), sales=np.nan)])
    extended.to_csv(tmp_path / "extended.csv", index=False)
    code, stdout, err = run(["forecast", "predict", str(out), "--data", str(tmp_path / "extended.csv"),
                             "--horizon", "3", "--out", str(tmp_path / "next")], capsys)
    assert code == 0, err
    forecast = pd.read_csv(tmp_path / "next" / "forecast.csv")
    assert len(forecast) == 2 * 3 and {"q0.1", "q0.9"} <= set(forecast.columns)
    assert (tmp_path / "next" / "report.html").is_file() and (tmp_path / "next" / "metrics.json").is_file()


def test_default_is_a_budgeted_selection_on_the_airline_series_and_predict_needs_no_data(tmp_path, capsys):
    out = tmp_path / "air"
    code, stdout, err = run(["forecast", "train", "--budget", "2m", "--max-steps", "10", "--baselines",
                             "seasonal_naive", "theta", "--out", str(out)], capsys)
    assert code == 0, err
    assert "chosen: " in stdout and "rnnkit RNN alone" in stdout and "selection" in stdout  # the progress lines
    assert "epoch " not in stdout  # and not the many short fits' training lines (hundreds per fit before)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"rnnkit", "rnnkit RNN alone", "seasonal_naive", "theta"} == set(metrics["backtest"])
    selection = metrics["selection"]
    scores = {row["candidate"]: row["score"] for row in selection["candidates"]}
    best_first = sorted(["seasonal_naive", "theta"], key=scores.get)
    assert selection["chosen"] == "mean of rnn + " + " + ".join(best_first)
    assert selection["fold_mase"]["chosen"] == scores[selection["chosen"]]
    assert f"the recurrent ensemble and {best_first[0]} and {best_first[1]}, the best baselines" in selection["why"]
    kinds = [row["kind"] for row in selection["candidates"]]
    assert kinds[:2] == ["baseline", "baseline"] and "hybrid" in kinds and kinds[-1] == "combination"
    html = (out / "report.html").read_text()
    assert "Selection" in html and "Candidates, in the order tried" in html and selection["chosen"] in html
    forecast = pd.read_csv(out / "forecast.csv")
    assert forecast["time"].iloc[0] == "1961-01-01" and len(forecast) == 12 and "rnn" in forecast
    assert (out / "model" / "auto.json").is_file() and (out / "backtest.csv").is_file()
    code, _, err = run(["forecast", "predict", str(out), "--out", str(tmp_path / "p")], capsys)
    assert code == 0, err
    assert pd.read_csv(tmp_path / "p" / "forecast.csv")["forecast"].tolist() == pytest.approx(
        forecast["forecast"].tolist())
    code, _, err = run(["forecast", "predict", str(out), "--out", str(tmp_path / "p")], capsys)
    assert code == 2 and "exists and is not empty" in err


@pytest.mark.parametrize("argv, message", [
    (["--time", "date"], "--target COL is required with DATA"),
    (["--target", "revenue", "--time", "date"], "column(s) ['revenue'] not found"),
    (["--target", "sales", "--time", "date"], "has 83 duplicate timestamp(s)"),  # two stores without --id
])
def test_user_errors_are_one_line(stores_csv, tmp_path, capsys, argv, message):
    code, _, err = run(["forecast", "train", str(stores_csv), *argv, "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "--id" in err or "duplicate" not in message


def test_the_rnn_alone_is_shown_beside_the_chosen_model_without_a_warning_and_baselines_warn():
    from rnnkit.pipelines.forecast import yardsticks
    sticks = yardsticks({"backtest": {"rnnkit": {"MASE": 0.9}, "rnnkit RNN alone": {"MASE": 0.8},
                                      "seasonal_naive": {"MASE": 0.85}, "theta": {"MASE": 1.2}}})
    assert [s.text for s in sticks] == ["MASE 0.9000 (rnnkit RNN alone 0.8000)",
                                        "MASE 0.9000 (seasonal naive baseline 0.8500)",
                                        "MASE 0.9000 (theta baseline 1.2000)"]
    assert [s.warning for s in sticks] == [None, "the model's MASE is worse than the seasonal naive baseline's", None]
