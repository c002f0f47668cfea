"""Run folders: what `rnnkit <task> train --out DIR [--force | --resume]` may write into, and what it refuses."""

from __future__ import annotations

import json

import pytest

from rnnkit.errors import UserError
from rnnkit.pipelines.run_folder import CHECKPOINTS, MARKER, open_run, prepare_output

SETTINGS = {"data": "train.csv", "rnn": {"hidden_size": 8, "cell": "lstm"}, "train": {"lr": 0.01, "progress": "none"}}


def started(tmp_path, **settings):
    out = open_run(tmp_path / "run", "classify train", {**SETTINGS, **settings})
    (out / CHECKPOINTS / "ckpt-00000004").mkdir(parents=True)
    (out / "metrics.json").write_text("{}")
    return out


def test_a_new_folder_is_created_and_marked(tmp_path):
    out = open_run(tmp_path / "a" / "run", "classify train", {**SETTINGS, "columns": ("x", "y")})
    marker = json.loads((out / MARKER).read_text())
    assert marker["format"] == "rnnkit-run" and marker["command"] == "classify train"
    assert marker["settings"]["columns"] == ["x", "y"] and marker["settings"]["rnn"]["hidden_size"] == 8
    empty = tmp_path / "empty"
    empty.mkdir()
    assert open_run(empty, "classify train", SETTINGS) == empty
    assert open_run(tmp_path / "fresh", "classify train", SETTINGS, resume=True).is_dir()  # nothing to continue


def test_a_run_folder_is_continued_only_with_resume(tmp_path):
    out = started(tmp_path)
    with pytest.raises(UserError, match="holds a run of `rnnkit classify train`; pass --resume to continue it"):
        open_run(out, "classify train", SETTINGS)
    assert open_run(out, "classify train", {**SETTINGS, "train": {"lr": 0.01, "progress": "bar"}}, resume=True)
    assert (out / CHECKPOINTS / "ckpt-00000004").is_dir()  # kept for the trainer to continue from
    with pytest.raises(UserError, match="pass one of them"):
        open_run(out, "classify train", SETTINGS, resume=True, force=True)


def test_force_starts_a_run_over(tmp_path):
    out = started(tmp_path)
    open_run(out, "classify train", {**SETTINGS, "data": "other.csv"}, force=True)
    assert not (out / CHECKPOINTS).exists() and (out / "metrics.json").exists()
    assert json.loads((out / MARKER).read_text())["settings"]["data"] == "other.csv"


@pytest.mark.parametrize("change, message", [
    ({"train": {"lr": 0.02, "progress": "none"}}, "train.lr was 0.01 in the run, now 0.02"),
    ({"rnn": {"hidden_size": 8}}, 'rnn.cell was "lstm" in the run, now unset'),
    ({"test": "test.csv"}, 'test was unset in the run, now "test.csv"'),
])
def test_resume_refuses_other_settings_naming_them(tmp_path, change, message):
    out = started(tmp_path)
    with pytest.raises(UserError, match="cannot resume the run in .* with other settings") as error:
        open_run(out, "classify train", {**SETTINGS, **change}, resume=True)
    assert message in str(error.value)


def test_resume_refuses_folders_rnnkit_did_not_make(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not made by rnnkit"):
        open_run(mine, "classify train", SETTINGS, resume=True)
    out = started(tmp_path)
    with pytest.raises(UserError, match="not `rnnkit generate train`"):
        open_run(out, "generate train", SETTINGS, resume=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"holds files rnnkit did not write \(notes.txt\)"):
        open_run(out, "classify train", SETTINGS, resume=True)
    assert open_run(out, "classify train", SETTINGS, force=True)  # --force writes beside them, deletes nothing
    assert (out / "notes.txt").read_text() == "mine"
    (out / MARKER).write_text("{not json")
    with pytest.raises(UserError, match="not a readable run marker"):
        open_run(out, "classify train", SETTINGS, resume=True)
    assert (mine / "notes.txt").read_text() == "mine" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_temporaries_of_killed_writes_never_block_and_are_removed(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".model.tmp-0badf00d").mkdir()
    (out / ".model.tmp-0badf00d" / "model.safetensors").write_bytes(b"half")
    (out / ".metrics.json.tmp-12345678").write_text("{")
    (out / ".model.old-abcdef01").mkdir()
    open_run(out, "classify train", SETTINGS)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]
    (out / ".model.tmp-0badf00d").mkdir()
    open_run(out, "classify train", SETTINGS, resume=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]
    (out / ".hidden.tmp-notours").mkdir()  # not a name rnnkit makes: the user's
    with pytest.raises(UserError, match="did not write"):
        open_run(out, "classify train", SETTINGS, resume=True)


def test_prepare_output_for_predictions(tmp_path):
    out = tmp_path / "pred"
    out.mkdir()
    (out / ".predictions.csv.tmp-0badf00d").write_text("half")
    assert prepare_output(out) == out and list(out.iterdir()) == []
    (out / "predictions.csv").write_text("id,predicted\n")
    with pytest.raises(UserError, match="not empty"):
        prepare_output(out)
    assert prepare_output(out, force=True) == out
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        open_run(tmp_path / "file", "classify train", SETTINGS)


def test_a_run_that_never_trained_is_started_afresh(tmp_path):
    out = open_run(tmp_path / "run", "classify train", SETTINGS)  # then reading the data failed: a typo
    assert open_run(out, "classify train", {**SETTINGS, "data": "fixed.csv"}) == out
    assert json.loads((out / MARKER).read_text())["settings"]["data"] == "fixed.csv"
    (out / MARKER).write_text("{}")  # not rnnkit's marker: never overwritten
    with pytest.raises(UserError, match="not an rnnkit run marker"):
        open_run(out, "classify train", SETTINGS)
