"""``rnnkit export``: the files of ``rnnkit.export``, refused over an earlier export without --force, one-line
errors. (``rnnkit serve`` runs in test_deploy_serve: a real server stopped by SIGTERM.)"""

import json

import pytest

pytest.importorskip("onnxruntime")

import rnnkit  # noqa: E402
from deploy_models import seq2seq, tagger  # noqa: E402
from rnnkit.cli.main import main  # noqa: E402


def test_export_writes_the_graphs_and_refuses_to_overwrite_without_force(tmp_path, capsys):
    folder = rnnkit.save(seq2seq(), tmp_path / "run" / "model")
    out = tmp_path / "deploy" / "g2p.onnx"
    assert main(["export", str(tmp_path / "run"), "--format", "onnx", "--out", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert [p.split("/")[-1] for p in written] == ["g2p.encoder.onnx", "g2p.decoder.onnx", "g2p.json"]
    assert json.loads((out.parent / "g2p.json").read_text())["task"] == "seq2seq"
    assert main(["export", str(folder), "--out", str(out)]) == 2
    assert "g2p.decoder.onnx exists" in capsys.readouterr().err
    assert main(["export", str(folder), "--out", str(out), "--force", "--quantize"]) == 0


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "not a model folder" in capsys.readouterr().err
    folder = rnnkit.save(tagger(layer_norm=True), tmp_path / "ln")
    assert main(["export", str(folder), "--out", str(tmp_path / "m.onnx")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("rnnkit: error:") and "layer_norm" in error and error.count("\n") == 1
