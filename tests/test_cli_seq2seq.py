"""``rnnkit seq2seq train|translate|eval`` on a tiny pairs file, and the errors for bad pairs files."""

import io
import json
import random

import pytest

from rnnkit.cli import seq2seq
from rnnkit.cli.main import main
from rnnkit.data.pairs import read_pairs
from rnnkit.errors import UserError


def run(argv):
    return main(argv, subcommands=[seq2seq.register])


def write_pairs(path, count, seed):
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        word = "".join(rng.choice("abcd") for _ in range(rng.randint(2, 4)))
        lines.append(f"{word}\t{word.upper()}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_translate_eval(tmp_path, capsys, monkeypatch):
    train, test = write_pairs(tmp_path / "train.tsv", 200, 0), write_pairs(tmp_path / "test.tsv", 20, 1)
    out = tmp_path / "run"
    code = run(["seq2seq", "train", str(train), "--test", str(test), "--out", str(out), "--no-lowercase",
                "--epochs", "2", "--hidden-size", "16", "--embedding-dim", "8", "--beam", "2"])
    assert code == 0
    for name in ("metrics.json", "report.html", "history.json", "model/config.json", "model/model.safetensors"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("bleu", "chrf", "exact_match", "wer", "ter", "greedy_exact_match", "copy_bleu", "capped",
                "greedy_capped"):
        assert key in metrics
    assert metrics["max_output_length"] >= 1.5 * 4 and metrics["output_length_ratio"] >= 1.5  # from the pairs
    assert metrics["scored_on"] == "test (test.tsv)" and metrics["count"] == 20
    assert "data:image/png;base64" in (out / "report.html").read_text()  # learning curves and attention maps
    capsys.readouterr()

    assert run(["seq2seq", "translate", str(out), "abc", "--beam", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("ab\n\ncd\nda\n"))
    assert run(["seq2seq", "translate", str(out / "model"), "-"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3  # blank lines are skipped

    assert run(["seq2seq", "eval", str(out), str(test), "--beam", "1"]) == 0
    evaluated = out / "eval-test"
    assert (evaluated / "report.html").is_file() and (evaluated / "translations.tsv").is_file()
    alone = json.loads((evaluated / "metrics.json").read_text())
    assert alone["count"] == 20

    # an ensemble of the model with itself decodes as the model does; the members are recorded
    capsys.readouterr()
    assert run(["seq2seq", "translate", str(out), "abc", "--beam", "2"]) == 0
    single = capsys.readouterr().out
    assert run(["seq2seq", "translate", str(out), "abc", "--ensemble", str(out / "model"), "--beam", "2"]) == 0
    assert capsys.readouterr().out == single
    assert run(["seq2seq", "eval", str(out), str(test), "--beam", "1", "--ensemble", str(out),
                "--out", str(tmp_path / "ensemble")]) == 0
    together = json.loads((tmp_path / "ensemble" / "metrics.json").read_text())
    assert together["ensemble"] == [str(out), str(out)] and together["exact_match"] == alone["exact_match"]
    assert run(["seq2seq", "eval", str(out), str(test), "--beam", "1", "--ensemble", str(out), "--ensemble",
                str(out / "model"), "--out", str(tmp_path / "three"), "--force"]) == 0
    assert len(json.loads((tmp_path / "three" / "metrics.json").read_text())["ensemble"]) == 3
    assert run(["seq2seq", "translate", str(out), "abc", "--ensemble", str(tmp_path / "missing")]) == 2


def test_outputs_cut_at_the_length_cap_are_counted_and_warned_about(tmp_path, capsys):
    train = write_pairs(tmp_path / "train.tsv", 60, 0)  # targets of 2-4 characters
    out = tmp_path / "run"
    assert run(["seq2seq", "train", str(train), "--out", str(out), "--epochs", "1", "--max-steps", "2",
                "--hidden-size", "8", "--embedding-dim", "8", "--beam", "1", "--max-output-length", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "model" / "config.json").read_text())["config"]["max_output_length"] == 2
    assert metrics["max_output_length"] == 2 and metrics["capped"] > 0  # 2 tokens: most outputs are cut
    printed = capsys.readouterr()
    count = metrics["count"]
    assert f"{metrics['capped']} of {count} outputs cut at the length cap" in printed.out
    assert f"rnnkit: warning: {metrics['capped']} of {count} outputs reached the maximum output length" in printed.err
    assert "--max-output-length" in printed.err and "Warning:" in (out / "report.html").read_text()


@pytest.mark.parametrize("text, message", [
    ("a\tb\nc\n", r"bad\.tsv, line 2: expected 2 fields"),
    ("a\tb\tc\n", r"bad\.tsv, line 1: expected 2 fields .* got 3"),
    ("a\tb\n\t x\n", r"bad\.tsv, line 2: empty source field"),
    ("\n\n", r"bad\.tsv: no pairs found"),
])
def test_bad_pairs_files_name_file_and_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_pairs(path)
    assert run(["seq2seq", "train", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "rnnkit: error:" in capsys.readouterr().err


def test_csv_pairs_with_header_and_quotes(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text('source,target\n"a, b",c\nd,"e ""f"""\n', encoding="utf-8")
    assert read_pairs(path) == [("a, b", "c"), ("d", 'e "f"')]


def test_translate_needs_a_seq2seq_model(tmp_path, capsys):
    assert run(["seq2seq", "translate", str(tmp_path / "missing"), "abc"]) == 2
    assert "rnnkit: error:" in capsys.readouterr().err


def test_other_seeds_share_the_split_and_decode_as_an_ensemble(tmp_path, capsys):
    # word level, a word of its own in each pair: which pairs are held out decides the vocabulary
    lines = [f"w{i} abc\tW{i} ABC" for i in range(120)]
    (tmp_path / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    flags = ["--source-level", "word", "--target-level", "word", "--max-steps", "2", "--hidden-size", "8",
             "--embedding-dim", "8", "--beam", "1"]
    for seed, split in [("0", "0"), ("2", "0"), ("0", "5")]:
        assert run(["seq2seq", "train", str(tmp_path / "pairs.tsv"), *flags, "--seed", seed, "--split-seed", split,
                    "--out", str(tmp_path / f"s{seed}-{split}")]) == 0
    eval_args = ["seq2seq", "eval", str(tmp_path / "s0-0"), str(tmp_path / "pairs.tsv"), "--beam", "1"]
    assert run([*eval_args, "--ensemble", str(tmp_path / "s2-0"), "--out", str(tmp_path / "together")]) == 0
    assert "copy-the-input baseline" in capsys.readouterr().out
    assert run([*eval_args, "--ensemble", str(tmp_path / "s0-5"), "--out", str(tmp_path / "apart")]) == 2
    assert "other vocabularies" in capsys.readouterr().err


def test_columns_name_the_source_and_target_in_a_header(tmp_path, capsys):
    path = tmp_path / "bible.csv"
    path.write_text('id,english,modern\n1,"thou art, sir",you are\n\n2,thee,you\n', encoding="utf-8")
    assert read_pairs(path, columns=("english", "modern")) == [("thou art, sir", "you are"), ("thee", "you")]
    assert read_pairs(path, columns=("modern", "english"))[1] == ("you", "thee")
    with pytest.raises(UserError, match=r"bible\.csv: no column 'french' in the header; its columns: id, english"):
        read_pairs(path, columns=("english", "french"))
    path = tmp_path / "bible.tsv"
    path.write_text("id\tenglish\tmodern\n1\tthee\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line 2: expected 3 fields \(as in the header, separated by a tab\), got 2"):
        read_pairs(path, columns=("english", "modern"))
    path.write_text("id\tenglish\tmodern\n\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"no pairs found \(expected rows under the header\)"):
        read_pairs(path, columns=("english", "modern"))
    assert run(["seq2seq", "train", str(path), "--columns", "english", "french", "--out", str(tmp_path / "o")]) == 2
    assert "no column 'french'" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_train_and_eval_read_the_named_columns(tmp_path, capsys):
    rows = [f"{i},{word},{word[::-1]}" for i, word in enumerate(["abc", "bca", "cab", "acb", "bac", "cba"] * 4)]
    path = tmp_path / "pairs.csv"
    path.write_text("n,source_text,reversed\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert run(["seq2seq", "train", str(path), "--columns", "source_text", "reversed", "--epochs", "1",
                "--hidden-size", "8", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["count"] > 0
    assert run(["seq2seq", "eval", str(out), str(path), "--columns", "source_text", "reversed", "--out",
                str(tmp_path / "eval")]) == 0
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["count"] == 24
    assert run(["seq2seq", "eval", str(out), str(path), "--out", str(tmp_path / "eval2")]) == 2  # 3 fields
    assert "expected 2 fields" in capsys.readouterr().err
