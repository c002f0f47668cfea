"""`rnnkit generate train|sample|eval` end to end on a small folder of "plays"."""

from __future__ import annotations

import json

import pytest

from rnnkit.cli.main import main

PLAY = "ROMEO:\nGood morrow, sweet [Aside] \"love\".\n\nJULIET:\nGood night, good night.\n\n"



@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plays")
    for name in "abcdef":
        (folder / f"{name}.txt").write_text(PLAY * 12)
    out = tmp_path_factory.mktemp("run") / "lm"
    code = main(["generate", "train", str(folder), "--out", str(out), "--hidden-size", "32", "--embedding-size",
                 "16", "--streams", "4", "--seq-len", "32", "--epochs", "8", "--lr", "0.01", "--validation", "0.2",
                 "--test", "0.2"])
    assert code == 0
    return folder, out


@pytest.mark.trained
def test_train_writes_model_metrics_and_report_and_learns(trained, capsys):
    _, out = trained
    assert {"model", "metrics.json", "report.html", "log.jsonl"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    held = metrics["held_out"]
    assert len(held["validation"]) == len(held["test"]) == 1 and len(held["train"]) == 4  # whole files
    assert sorted(name for names in held.values() for name in names) == [f"{name}.txt" for name in "abcdef"]
    assert metrics["test_bits_per_char"] < 1.0  # the plays repeat: a uniform guess would be 4.7 bits
    assert {row["property"] for row in metrics["memory"]["best_cells"]} >= {"position in line", "inside quotes"}
    assert {row["gate"] for row in metrics["memory"]["gate_saturation"]} == {"input", "forget", "output"}
    html = (out / "report.html").read_text()
    assert "What the memory holds" in html and "data:image/png;base64" in html and "<script src" not in html


def test_sample_streams_text_and_writes_results(trained, capsys, tmp_path):
    _, out = trained
    assert main(["generate", "sample", str(out), "--prompt", "ROMEO:\\n", "--length", "40", "--temperature",
                 "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:\nGood ")  # learnt: after ROMEO comes his line
    assert main(["generate", "sample", str(out / "model"), "--prompt", "JULIET:\\n", "--length", "60", "--n", "2",
                 "--top-k", "3", "--top-p", "0.9", "--stop", "\\n\\n", "--seed", "1",
                 "--out", str(tmp_path / "s")]) == 0
    printed = capsys.readouterr()
    assert printed.out.count("--- sample") == 2
    saved = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert saved["samples"] == 2 and saved["characters_per_s"] > 0 and (tmp_path / "s" / "report.html").is_file()
    assert all("\n\n" not in text for text in saved["texts"])
    # samples that reached --length before the stop string are counted and warned about
    assert saved["capped"] == sum(len(text) == 60 for text in saved["texts"])
    warned = f"rnnkit: warning: {saved['capped']} of 2 outputs reached --length (60 tokens) before any --stop"
    assert (warned in printed.err) == (saved["capped"] > 0)
    assert main(["generate", "sample", str(out), "--prompt", "R", "--length", "5", "--stop", "\n\n\n\n"]) == 0
    assert "rnnkit: warning: 1 of 1 outputs reached --length (5 tokens)" in capsys.readouterr().err


def test_eval_scores_a_text_file(trained, capsys, tmp_path):
    folder, out = trained
    test_file = folder / json.loads((out / "metrics.json").read_text())["held_out"]["test"][0]
    assert main(["generate", "eval", str(out), str(test_file), "--out", str(tmp_path / "e")]) == 0
    assert "bits per char" in capsys.readouterr().out
    scored = json.loads((tmp_path / "e" / "metrics.json").read_text())
    expected = json.loads((out / "metrics.json").read_text())["test_bits_per_char"]
    assert scored["bits_per_char"] == pytest.approx(expected, rel=0.05)  # same text, other row layout


def test_user_errors_are_one_line(trained, capsys, tmp_path):
    folder, out = trained
    assert main(["generate", "train", str(folder), "--out", str(out)]) == 2  # not empty, no --force
    assert "not empty" in capsys.readouterr().err
    assert main(["generate", "sample", str(tmp_path / "missing")]) == 2
    assert main(["generate", "sample", str(out), "--top-p", "2", "--length", "3"]) == 2
    assert "top_p" in capsys.readouterr().err
