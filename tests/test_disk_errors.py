"""Errors from the operating system while writing: a full disk (a file-size limit stands in for it), no write
permission. Each is one ``UserError`` line naming the path, and no temporary file or folder is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from rnnkit import _fs
from rnnkit.data.text import Tokenizer
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import LanguageModel
from rnnkit.tasks.models.language_model import LanguageModelConfig
from rnnkit.train import load_model, save_model
from rnnkit.train.checkpoint import write_checkpoint

SRC = Path(__file__).resolve().parents[1] / "src"

# Runs in a child process with a 16 KiB file-size limit: writes past it fail with EFBIG (SIGXFSZ, which would
# kill the process, is ignored), as they fail with ENOSPC on a full disk.
CHILD = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import torch
    from rnnkit import _fs
    from rnnkit.data.text import Tokenizer
    from rnnkit.errors import UserError
    from rnnkit.nn import RecurrentConfig
    from rnnkit.tasks import LanguageModel
    from rnnkit.tasks.models.language_model import LanguageModelConfig
    from rnnkit.train import save_model
    from rnnkit.train.checkpoint import write_checkpoint

    out = Path(sys.argv[1])
    config = LanguageModelConfig(rnn=RecurrentConfig(hidden_size=64))
    model = LanguageModel.for_tokenizer(Tokenizer.fit(["abcdefgh"], level="char"), config)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))
    writes = {
        "model": lambda: save_model(model, out / "model"),
        "checkpoint": lambda: write_checkpoint(out / "checkpoints", 1, {"w": torch.zeros(10000)}, {}, keep_last=1),
        "file": lambda: _fs.atomic_write(out / "metrics.json", b" " * 100000),
    }
    for name, write in writes.items():
        try:
            write()
        except UserError as error:
            print(f"{name}\\t{error}")
        else:
            print(f"{name}\\tno error")
""")


def tiny(hidden_size: int) -> LanguageModel:
    return LanguageModel.for_tokenizer(Tokenizer.fit(["abcdefgh"], level="char"),
                                       LanguageModelConfig(rnn=RecurrentConfig(hidden_size=hidden_size)))


def test_a_full_disk_is_one_line_naming_the_path_and_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("the user's own file")
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    results = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert set(results) == {"model", "checkpoint", "file"}
    for name, message in results.items():
        assert "File too large" in message and str(out) in message, (name, message)
    assert sorted(path.name for path in out.iterdir()) == ["checkpoints", "mine.txt"]  # no .tmp-* anywhere
    assert list((out / "checkpoints").iterdir()) == []
    assert (out / "mine.txt").read_text() == "the user's own file"
    model = tiny(64)
    save_model(model, out / "model")  # with room again, the same save goes through
    assert isinstance(load_model(out / "model"), LanguageModel)


DENIED = r"locked/(model|metrics.json|checkpoints\S*): cannot write \(Permission denied\)$"


def _deny(path, *args, **kwargs):
    raise PermissionError(13, "Permission denied", str(path))


@pytest.mark.parametrize("real", [True, False], ids=["chmod", "simulated"])
def test_no_write_permission_is_one_line_naming_the_path(tmp_path: Path, monkeypatch, real: bool) -> None:
    if real and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "locked"
    folder.mkdir()
    if real:
        folder.chmod(0o500)
    else:
        monkeypatch.setattr(_fs, "write_file", _deny)
        monkeypatch.setattr(os, "replace", _deny)
    model = tiny(4)
    try:
        with pytest.raises(UserError, match=DENIED):
            save_model(model, folder / "model")
        with pytest.raises(UserError, match=DENIED):
            _fs.atomic_write(folder / "metrics.json", b"{}")
        with pytest.raises(UserError, match=DENIED):
            write_checkpoint(folder / "checkpoints", 1, {"w": torch.zeros(2)}, {}, keep_last=1)
        assert [p.name for p in folder.rglob("*") if p.name.startswith(".")] == []
    finally:
        folder.chmod(0o700)


def test_leftovers_of_a_killed_save_are_removed_by_the_next_one(tmp_path: Path) -> None:
    for leftover in (".model.tmp-0badf00d", ".model.old-12345678"):
        (tmp_path / leftover).mkdir()
        (tmp_path / leftover / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".model.del-87654321").write_bytes(b"x")
    save_model(tiny(4), tmp_path / "model")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_an_interrupted_folder_write_removes_its_temporary(tmp_path: Path, monkeypatch) -> None:
    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(_fs, "write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _fs.write_folder(tmp_path / "model", {"a": b"1"})
    assert list(tmp_path.iterdir()) == []
