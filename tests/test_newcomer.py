"""The newcomer's path (issue 21): reports that render any label, results beside their baselines."""

import json

import numpy as np
import pandas as pd

from rnnkit.cli.main import main


def _labelled_texts(count, seed, labels):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        k = int(rng.integers(len(labels)))
        words = list(rng.choice(["the", "car", "is", "on"], size=3)) + [f"w{k}"]
        rows.append({"tweet": " ".join(rng.permutation(words)), "label": labels[k]})
    return pd.DataFrame(rows)


def test_dollar_and_long_labels_reach_the_report(tmp_path, capsys):
    labels = ["costs $5", "a $x_$ \\foo$ label of quite some length for a tick", "plain"]
    _labelled_texts(90, 0, labels).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--label", "label", "--text", "tweet",
                 "--hidden-size", "8", "--embedding-dim", "8", "--epochs", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["labels"]) == sorted(labels)
    assert "majority_class_accuracy" in metrics
    assert "$x_$" in (out / "report.html").read_text()
    assert "majority class" in capsys.readouterr().out


def _parsers(parser):
    yield parser
    for action in parser._actions:
        for sub in (getattr(action, "choices", None) or {}).values() if hasattr(action, "_choices_actions") else ():
            yield from _parsers(sub)


def test_help_shows_every_default_and_a_description():
    from rnnkit.cli import caption, common, recognize
    from rnnkit.cli.main import build_parser

    forms = [caption._train_parser(), caption._caption_parser(), recognize._train_parser(),
             recognize._eval_parser(), recognize._transcribe_parser()]
    parsers = list(_parsers(build_parser())) + [common.explain(p) for p in forms]
    assert len(parsers) > 15
    for parser in parsers:
        assert parser.description, parser.prog
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
                assert "default" in (action.help or ""), (parser.prog, action.option_strings)


def test_baselines_and_calibration_beside_the_model():
    from rnnkit.eval.yardstick import calibration, said, versus

    text = said([versus("MASE", 1.2, "seasonal naive", 1.0, higher_is_better=False),
                 calibration("80% interval covered", 0.39, 0.80)])
    assert "MASE 1.2000 (seasonal naive baseline 1.0000)" in text
    assert "80% interval covered 0.39 (target 0.80)" in text
    assert text.count("WARNING:") == 2
    assert "WARNING" not in said([versus("accuracy", 0.9, "majority class", 0.5), calibration("c", 0.78, 0.8)])


def test_datasets_writers_make_the_readme_data(tmp_path):
    from rnnkit.datasets.__main__ import main as write

    assert write(["airline", "--out", str(tmp_path / "airline.csv")]) == 0
    assert pd.read_csv(tmp_path / "airline.csv").shape == (144, 2)
    assert write(["strokes", "--part", "train", "--out", str(tmp_path / "strokes"), "--limit", "10"]) == 0
    assert write(["strokes", "--part", "test", "--out", str(tmp_path / "test_strokes"), "--limit", "10"]) == 0
    train = pd.read_csv(tmp_path / "strokes" / "transcripts.csv")
    test = pd.read_csv(tmp_path / "test_strokes" / "transcripts.csv")
    assert (len(train), len(test)) == (16, 2) and not set(train["transcript"]) & set(test["transcript"])
    assert np.load(tmp_path / "strokes" / train["file"][0]).shape[1] == 3
    assert write(["airline", "--out", str(tmp_path / "airline.csv")]) == 2  # never overwrites
    assert write(["airline", "--part", "test", "--out", str(tmp_path / "x.csv")]) == 2  # no split of its own
    assert write(["sales", "--out", str(tmp_path / "sales.csv")]) == 0
    sales = pd.read_csv(tmp_path / "sales.csv")
    assert sales["store"].nunique() == 12 and len(sales) == 12 * 156 and (sales["sales"] > 0).all()
    assert write(["tweets", "--part", "test", "--out", str(tmp_path / "new.csv"), "--limit", "50"]) == 0
    assert list(pd.read_csv(tmp_path / "new.csv").columns) == ["text", "sentiment"]


def test_smoke_mode_keeps_a_few_examples(tmp_path, monkeypatch):
    from rnnkit.datasets.__main__ import main as write

    monkeypatch.setenv("RNNKIT_SMOKE", "1")
    assert write(["tweets", "--part", "train", "--out", str(tmp_path / "tweets.csv")]) == 0
    # 150 rows: every field is quoted, so no text is split at a stray carriage return
    assert len(pd.read_csv(tmp_path / "tweets.csv")) == 150


def test_count_progress_draws_a_bar_and_writes_lines():
    import io

    from rnnkit.train.progress import CountProgress

    lines = io.StringIO()
    progress = CountProgress("decode", "lines", stream=lines, every_seconds=0.0)
    for done in (64, 128, 130):
        progress(done, 130)
    text = lines.getvalue().splitlines()
    assert len(text) == 3 and text[0].startswith("decode 64/130 [#########") and "ETA" in text[0]
    assert text[-1].startswith("decode 130/130 [####################]") and "ETA" not in text[-1]
    silent = io.StringIO()
    CountProgress("decode", "none", stream=silent)(1, 2)
    assert silent.getvalue() == ""


def test_smoke_mode_trains_one_short_epoch(tmp_path, monkeypatch):
    from rnnkit.pipelines.driver import run_config
    from rnnkit.train import TrainConfig

    monkeypatch.setenv("RNNKIT_SMOKE", "1")
    config = run_config(TrainConfig(max_epochs=30), tmp_path)
    assert (config.max_epochs, config.max_steps) == (1, 3)


def test_predict_with_labels_is_scored_beside_the_majority_class(tmp_path, capsys):
    _labelled_texts(60, 0, ["a", "b"]).to_csv(tmp_path / "train.csv", index=False)
    _labelled_texts(20, 1, ["a", "b"]).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "run"
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--label", "label", "--text", "tweet",
                 "--budget", "none", "--hidden-size", "8", "--embedding-dim", "8", "--epochs", "1",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["classify", "predict", str(out), str(tmp_path / "new.csv"), "--out", str(tmp_path / "new")]) == 0
    said = capsys.readouterr().out
    metrics = json.loads((tmp_path / "new" / "metrics.json").read_text())
    assert f"accuracy {metrics['accuracy']:.4f} (majority class baseline" in said
    assert 0 <= metrics["majority_class_accuracy"] <= 1
