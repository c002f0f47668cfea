"""`rnnkit recognize train|eval|MODEL_DIR` end to end on tiny folders and tables, and the errors users see."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
from test_recognition import synthetic

from rnnkit.cli import recognize
from rnnkit.cli.main import main
from rnnkit.data.recognition_io import read_inputs, read_recognition_data, read_sequence_file
from rnnkit.errors import UserError

TINY = ["--hidden-size", "16", "--num-layers", "1", "--conv-channels", "8", "--conv-kernel", "3",
        "--conv-stride", "2", "--lr", "0.01", "--batch-size", "16"]


def run(*words):
    return main(["recognize", *map(str, words)], subcommands=[recognize.register])


def _folder(path, n, seed, *, csv_every=3):
    """Sequence files (.npy, every third one .csv with a header) and transcripts.csv."""
    path.mkdir()
    X, y = synthetic(n, seed)
    rows = []
    for i, (x, text) in enumerate(zip(X, y)):
        name = f"s{i:03d}.csv" if i % csv_every == 0 else f"s{i:03d}.npy"
        if name.endswith(".csv"):
            pd.DataFrame(x, columns=["a", "b", "c", "d"]).to_csv(path / name, index=False)
        else:
            np.save(path / name, x)
        rows.append({"file": name, "transcript": text})
    pd.DataFrame(rows).to_csv(path / "transcripts.csv", index=False)
    return X, y


@pytest.mark.trained
def test_train_transcribe_and_eval_a_folder(tmp_path, capsys):
    _folder(tmp_path / "train", 160, 0)
    _folder(tmp_path / "test", 30, 1)
    out = tmp_path / "run"
    assert run("train", tmp_path / "train", "--test", tmp_path / "test", "--epochs", "6", *TINY, "--out", out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cer"] <= 0.3 and metrics["alphabet"] == "abc" and metrics["scored_on"] == "test (test)"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 5 and "CTC alignment" in html and "http" not in html
    assert {"train_loss", "val_cer"} <= set(json.loads((out / "history.json").read_text())[0])
    capsys.readouterr()

    assert run(out, tmp_path / "test" / "s001.npy", tmp_path / "test" / "s003.csv", "--beam", "4") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0].rsplit("/", 1)[1] for line in lines] == ["s001.npy", "s003.csv"]
    assert all(len(line.split("\t")) == 2 for line in lines)

    assert run("eval", out / "model", tmp_path / "test", "--beam", "4", "--out", tmp_path / "scored") == 0
    scored = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    assert scored["count"] == 30 and scored["beam"] == 4
    said = capsys.readouterr().out  # decoding progress (lines: not a terminal), the result beside its baseline
    assert "decode 30/30" in said and f"CER {scored['cer']:.4f} (most frequent training transcript baseline" in said
    assert scored["frequent_transcript_cer"] > scored["cer"]
    assert {"cer", "wer", "sequence_accuracy", "greedy"} <= set(scored)
    assert scored["greedy"]["cer"] == pytest.approx(metrics["cer"])  # same model, same data: same greedy figures

    assert run(out, tmp_path / "test", "--out", tmp_path / "each") == 0  # a folder of inputs, with transcripts
    with open(tmp_path / "each" / "transcripts.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 30


def test_long_table_with_string_transcripts(tmp_path):
    X, y = synthetic(120, 2)
    y = [text.replace("a", "0").replace("b", "1").replace("c", "2") for text in y]  # "0012": keep leading zeros
    rows = [{"utt": f"u{i}", "t": t, "f1": s[0], "f2": s[1], "f3": s[2], "f4": s[3], "text": text}
            for i, (x, text) in enumerate(zip(X, y)) for t, s in enumerate(x)]
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(tmp_path / "long.csv", index=False)  # shuffled rows
    data = read_recognition_data(tmp_path / "long.csv", id="utt", time="t", transcript="text")
    by_name = dict(zip(data.names, zip(data.X, data.y)))  # ids in the order they first appear
    assert len(by_name) == 120 and all(by_name[f"u{i}"][1] == text for i, text in enumerate(y))
    np.testing.assert_allclose(by_name["u0"][0], X[0], rtol=1e-6)  # steps sorted by t
    out = tmp_path / "run"
    assert run("train", tmp_path / "long.csv", "--id", "utt", "--time", "t", "--transcript", "text",
               "--epochs", "1", *TINY, "--out", out) == 0
    assert json.loads((out / "metrics.json").read_text())["alphabet"] == "012"
    assert read_inputs([tmp_path / "long.csv"], id="utt", time="t", transcript="text").y == data.y


def test_help_explains_the_three_forms(capsys):
    assert run("--help") == 0
    text = capsys.readouterr().out
    assert "recognize train DATA" in text and "recognize MODEL_DIR INPUT" in text and "recognize eval" in text
    assert run("train", "--help") == 0 and "--conv-stride" in capsys.readouterr().out
    assert run("eval", "--help") == 0 and "MODEL_DIR" in capsys.readouterr().out


def test_usage_and_input_errors(tmp_path, capsys):
    assert run() == 2 and "give `train DATA`" in capsys.readouterr().err
    assert run("train") == 2  # argparse: DATA and --out are required
    assert run(tmp_path / "nothing", "x.npy") == 2 and "not a model folder" in capsys.readouterr().err

    (tmp_path / "empty").mkdir()
    assert run("train", tmp_path / "empty", "--out", tmp_path / "o1") == 2
    assert "no transcripts.csv" in capsys.readouterr().err

    _folder(tmp_path / "bad", 6, 3)
    (tmp_path / "bad" / "s003.csv").write_text("a,b,c,d\n1,2,3,4\n1,oops,3,4\n")
    with pytest.raises(UserError, match=r"s003.csv, line 3, column 2: 'oops' is not a number"):
        read_recognition_data(tmp_path / "bad")
    (tmp_path / "bad" / "s003.csv").write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(UserError, match=r"s003.csv, line 2: 3 fields, but the first line has 4"):
        read_sequence_file(tmp_path / "bad" / "s003.csv")
    (tmp_path / "bad" / "transcripts.csv").write_text("file,transcript\ns001.npy,ab\nmissing.npy,ab\n")
    with pytest.raises(UserError, match=r"transcripts.csv, line 3: file 'missing.npy' not found"):
        read_recognition_data(tmp_path / "bad")
    (tmp_path / "bad" / "transcripts.csv").write_text("name,text\n")
    with pytest.raises(UserError, match=r"column\(s\) \['file', 'transcript'\] not found"):
        read_recognition_data(tmp_path / "bad")


def test_too_short_sequence_is_named_by_file(tmp_path, capsys):
    _folder(tmp_path / "data", 20, 4)
    np.save(tmp_path / "data" / "short.npy", np.zeros((3, 4), np.float32))
    with open(tmp_path / "data" / "transcripts.csv", "a") as handle:
        handle.write("short.npy,abcab\n")
    assert run("train", tmp_path / "data", "--epochs", "1", *TINY, "--validation", "0.05",
               "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err  # the stride is lowered for it (stride 1), but even 3 frames are too few
    assert "rnnkit: warning: conv_stride 2 leaves training sample" in err and "using conv_stride 1" in err
    assert "short.npy: 3 steps are too few for its transcript 'abcab'" in err


def test_pen_ink_trains_on_the_ink_and_the_model_folder_keeps_it(tmp_path, capsys):
    from rnnkit.datasets.handwriting import make_handwriting

    data = make_handwriting(["on", "no", "noon"], ["cursive"], n_per_word=8, seed=0)
    (tmp_path / "pen").mkdir()
    for i, x in enumerate(data.X):
        np.save(tmp_path / "pen" / f"w{i:02d}.npy", x)
    pd.DataFrame({"file": [f"w{i:02d}.npy" for i in range(len(data.y))], "transcript": data.y}).to_csv(
        tmp_path / "pen" / "transcripts.csv", index=False)
    out = tmp_path / "run"
    assert run("train", tmp_path / "pen", "--pen-ink", "--epochs", "1", *TINY, "--out", out) == 0
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["config"]["pen_ink"] is True and "its ink column by column" in (out / "report.html").read_text()
    capsys.readouterr()
    assert run(out, tmp_path / "pen" / "w00.npy") == 0 and "w00.npy\t" in capsys.readouterr().out
