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
    assert write(["strokes", "--out", str(tmp_path / "strokes"), "--limit", "3"]) == 0
    table = pd.read_csv(tmp_path / "strokes" / "transcripts.csv")
    assert len(table) == 6 and np.load(tmp_path / "strokes" / table["file"][0]).shape[1] == 3
    assert write(["airline", "--out", str(tmp_path / "airline.csv")]) == 2  # never overwrites


def test_smoke_mode_trains_one_short_epoch(tmp_path, monkeypatch):
    from rnnkit.pipelines.driver import run_config
    from rnnkit.train import TrainConfig

    monkeypatch.setenv("RNNKIT_SMOKE", "1")
    config = run_config(TrainConfig(max_epochs=30), tmp_path)
    assert (config.max_epochs, config.max_steps) == (1, 3)
