"""A corpus of tampered and malformed model folders: each is refused with a ``ModelFileError`` that names the file,
no code in it runs (a pickle whose ``__reduce__`` would create a file: the file never appears), nothing is
allocated for sizes the weights do not have, and nothing on disk changes (bytes, links and listings identical).

The cases edit a real language model's folder generically (the first float tensor, the first ``hidden_size`` in
the config, wherever the config nests it), and a careful tamperer's cases record the new weights' sha256, so the
checks after the hash are reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

from rnnkit.data.text import Tokenizer
from rnnkit.errors import ModelFileError
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import LanguageModel
from rnnkit.tasks.models.language_model import LanguageModelConfig
from rnnkit.train import load_model, save_model
from rnnkit.train.checkpoint import read_checkpoint, write_checkpoint

MARKER = Path("/tmp/rnnkit-tampered-model-ran-code")  # what the pickles below would create


class _Payload:
    """Unpickling this calls os.system, which creates MARKER: loading must never get that far."""

    def __reduce__(self):
        return os.system, (f"touch {MARKER}",)


PICKLE = pickle.dumps(_Payload(), protocol=4)


def _save(folder: Path) -> None:
    tokenizer = Tokenizer.fit(["abcab"], level="char")
    config = LanguageModelConfig(embedding_size=3, rnn=RecurrentConfig(hidden_size=4))
    save_model(LanguageModel.for_tokenizer(tokenizer, config), folder)


def snapshot(root: Path) -> dict[str, object]:
    """Every entry under ``root`` without following links: bytes of files, targets of links, kinds of others."""
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_dir():
            found[name] = "folder"
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size < 2**26 else \
                ("large", path.stat().st_size)
        else:
            found[name] = "special"
    return found


# --- edits ---------------------------------------------------------------------------------------------------

def _document(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write_document(folder: Path, document: dict) -> None:
    (folder / "config.json").write_text(json.dumps(document, indent=1))


def edit(change):
    def apply(folder: Path) -> None:
        document = _document(folder)
        change(document)
        _write_document(folder, document)
    return apply


def config_value(key: str, value: object):
    """Set the first ``key`` found in the document's config (nested or not)."""
    def change(document: dict) -> None:
        stack = [document["config"]]
        while stack:
            node = stack.pop()
            if key in node:
                node[key] = value
                return
            stack.extend(v for v in node.values() if isinstance(v, dict))
        raise AssertionError(f"no {key} in the config")
    return edit(change)


def raw_config(text: bytes):
    return lambda folder: (folder / "config.json").write_bytes(text)


def weights_bytes(data: bytes):
    """Replace model.safetensors with ``data`` and record its sha256, as a careful tamperer would."""
    def apply(folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(data)
        edit(lambda document: document.update(weights_sha256=hashlib.sha256(data).hexdigest()))(folder)
    return apply


def tensors(change):
    """Change the tensors (a dict) and save them, hash recorded."""
    def apply(folder: Path) -> None:
        loaded = safetensors.torch.load_file(str(folder / "model.safetensors"))
        change(loaded)
        weights_bytes(safetensors.torch.save(loaded))(folder)
    return apply


def first_float(loaded: dict) -> str:
    return next(name for name, tensor in loaded.items() if tensor.is_floating_point() and tensor.dim() == 2)


def on_first(change):
    def apply(loaded: dict) -> None:
        name = first_float(loaded)
        loaded[name] = change(loaded[name])
    return tensors(apply)


def header(text: bytes, declared: int | None = None, body: bytes = b""):
    """A safetensors file by hand: 8-byte little-endian header length, the JSON header, the data."""
    return weights_bytes(struct.pack("<Q", len(text) if declared is None else declared) + text + body)


def link(name: str, target):
    def apply(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to(target(folder) if callable(target) else target)
    return apply


def other_model_config(folder: Path) -> Path:
    other = folder.parent / "other"
    _save(other)
    return other / "config.json"


def fifo(name: str):
    def apply(folder: Path) -> None:
        (folder / name).unlink()
        os.mkfifo(folder / name)
    return apply


def sparse(name: str, size: int):
    def apply(folder: Path) -> None:
        with open(folder / name, "r+b") as handle:
            handle.truncate(size)  # a hole: no disk used, but st_size says it is huge
    return apply


def torch_save_zip(folder: Path) -> None:
    path = folder / "zip.bin"
    torch.save({"weight": _Payload()}, path)
    weights_bytes(path.read_bytes())(folder)
    path.unlink()


CORPUS = {
    # pickles in disguise (any of them unpickled would create MARKER)
    "pickle as config.json": (raw_config(PICKLE), r"config\.json: (not UTF-8|invalid JSON)"),
    "pickle as weights": (weights_bytes(PICKLE), r"model\.safetensors: not a safetensors file"),
    "torch.save zip as weights": (torch_save_zip, r"model\.safetensors: not a safetensors file"),
    "pickle after a valid header": (header(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', body=PICKLE),
                                    r"not a safetensors file"),
    "pickle as weights, hash unchanged": (lambda f: (f / "model.safetensors").write_bytes(PICKLE),
                                          r"model\.safetensors: sha256 mismatch"),
    # safetensors headers
    "shorter than the length field": (weights_bytes(b"\x10\x00"), r"not a safetensors file"),
    "empty weights file": (weights_bytes(b""), r"not a safetensors file"),
    "header longer than the file": (header(b"{}", declared=2**20), r"not a safetensors file"),
    "header length 2**63": (header(b"{}", declared=2**63), r"not a safetensors file"),
    "header not JSON": (header(b"{not json"), r"not a safetensors file"),
    "offsets past the end": (header(b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', body=b"\0" * 4),
                             r"not a safetensors file"),
    "offsets not matching the shape": (header(b'{"w":{"dtype":"F32","shape":[9],"data_offsets":[0,4]}}',
                                              body=b"\0" * 4), r"not a safetensors file"),
    "unknown dtype": (header(b'{"w":{"dtype":"Q99","shape":[1],"data_offsets":[0,4]}}', body=b"\0" * 4),
                      r"not a safetensors file"),
    # tensors: names, shapes, dtypes, values
    "wrong dtype (int)": (on_first(lambda t: t.to(torch.int32)), r"is torch\.int32, the model expects torch\.float32"),
    "wrong dtype (bool)": (on_first(lambda t: t > 0), r"is torch\.bool, the model expects torch\.float32"),
    "transposed": (on_first(lambda t: t.t().contiguous()), r"has shape \[\d+, \d+\], the model expects"),
    "extra dimension": (on_first(lambda t: t[None]), r"has shape \[1, \d+, \d+\], the model expects"),
    "NaN weight": (on_first(lambda t: t.index_put((torch.tensor([0]),), torch.tensor(float("nan")))),
                   r"hold NaN or inf values"),
    "inf weight": (on_first(lambda t: t + float("inf")), r"hold NaN or inf values"),
    "missing tensor": (tensors(lambda loaded: loaded.pop(first_float(loaded))), r"missing tensor\(s\)"),
    "extra tensor": (tensors(lambda loaded: loaded.update({"__import__('os')": torch.zeros(1)})),
                     r"unexpected tensor\(s\) \[\"__import__\('os'\)\"\]"),
    "no tensors at all": (tensors(lambda loaded: loaded.clear()), r"missing tensor\(s\)"),
    "flipped byte": (lambda f: (f / "model.safetensors").write_bytes(
        (f / "model.safetensors").read_bytes()[:-1] + b"\x7f"), r"sha256 mismatch"),
    "truncated weights": (lambda f: (f / "model.safetensors").write_bytes(
        (f / "model.safetensors").read_bytes()[:-16]), r"sha256 mismatch"),
    "hash not a string": (edit(lambda d: d.update(weights_sha256=["0" * 64])), r"sha256 mismatch"),
    # links and special files
    "config links to another model's": (link("config.json", other_model_config), r"config\.json: is a symbolic link"),
    "config links to /etc/passwd": (link("config.json", "/etc/passwd"), r"config\.json: is a symbolic link"),
    "weights link to /dev/zero": (link("model.safetensors", "/dev/zero"), r"model\.safetensors: is a symbolic link"),
    "dangling link": (link("model.safetensors", "/nonexistent/w"), r"model\.safetensors: is a symbolic link"),
    "config is a fifo": (fifo("config.json"), r"config\.json: (missing|not a regular) file"),
    "weights are a folder": (lambda f: ((f / "model.safetensors").unlink(), (f / "model.safetensors").mkdir()),
                             r"model\.safetensors: (missing|not a regular) file"),
    # config.json: JSON that is not what rnnkit writes
    "empty config": (raw_config(b""), r"config\.json: invalid JSON"),
    "config is null": (raw_config(b"null"), r"expected a JSON object"),
    "UTF-16 config": (lambda f: raw_config(json.dumps(_document(f)).encode("utf-16"))(f), r"not UTF-8"),
    "NaN token": (raw_config(b'{"format": NaN}'), r"NaN is not JSON"),
    "Infinity token": (raw_config(b'{"format": -Infinity}'), r"-Infinity is not JSON"),
    "duplicate key": (lambda f: raw_config(json.dumps(_document(f))[:-1].encode() + b', "task": "x"}')(f),
                      r"key\(s\) \['task'\] given twice"),
    "deeply nested": (raw_config(b"[" * 100000 + b"]" * 100000), r"(nested too deeply|expected a JSON object)"),
    "10,000-digit number": (raw_config(b'{"format": ' + b"9" * 10000 + b"}"), r"invalid JSON"),
    "huge file (sparse)": (sparse("config.json", 2**30), r"config\.json: 1073741824 bytes, more than the"),
    "format is not rnnkit's": (edit(lambda d: d.update(format="pytorch-pickle")), r"not an rnnkit model"),
    "format_version a string": (edit(lambda d: d.update(format_version="1")), r"format_version '1'"),
    "format_version true": (edit(lambda d: d.update(format_version=True)), r"format_version True"),
    "version 1, config a list": (edit(lambda d: d.update(format_version=1, config=[1])), r"config\.json"),
    "version 1, config a string": (edit(lambda d: d.update(format_version=1, config="rnn")), r"config\.json"),
    # config values: path traversal, wrong types, sizes the weights do not have
    "task is a path": (edit(lambda d: d.update(task="../../../etc/passwd")), r"unknown task '\.\./\.\./\.\./etc/passwd'"),
    "task is a list": (edit(lambda d: d.update(task=["language-model"])), r"unknown task"),
    "cell is a path": (config_value("cell", "../../tmp/evil.py"), r"config\.json"),
    "hidden_size huge": (config_value("hidden_size", 10**7), r"has shape .* the model expects"),
    "hidden_size negative": (config_value("hidden_size", -4), r"config\.json"),
    "hidden_size a string": (config_value("hidden_size", "4"), r"config\.json"),
    "hidden_size a float": (config_value("hidden_size", 4.5), r"config\.json"),
    "vocab_size huge": (config_value("vocab_size", 10**9), r"(has shape|config\.json)"),
    "unknown config key": (edit(lambda d: d["config"].update(__class__="os")),
                           r"unknown key\(s\) \['__class__'\]"),
    "config is a list": (edit(lambda d: d.update(config=[1, 2])), r"config\.json"),
    "extra is a string": (edit(lambda d: d.update(extra="os.system('x')")), r"config\.json"),
    "tokenizer tokens not strings": (edit(lambda d: d["extra"]["tokenizer"].update(tokens=[1, 2, 3, 4, 5])),
                                     r"config\.json"),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_tampered_model_folder_is_refused_runs_nothing_and_changes_nothing(tmp_path: Path, name: str) -> None:
    tamper, message = CORPUS[name]
    folder = tmp_path / "m"
    _save(folder)
    tamper(folder)
    before = snapshot(tmp_path)
    MARKER.unlink(missing_ok=True)
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(folder)
    assert time.perf_counter() - started < 10  # no giant allocation, no endless read
    assert "\n" not in str(caught.value) and str(folder) in str(caught.value)
    assert not MARKER.exists(), "loading ran code from the folder"
    assert snapshot(tmp_path) == before


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 30


def test_a_pickle_beside_the_model_is_never_read(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    _save(folder)
    (folder / "pytorch_model.bin").write_bytes(PICKLE)
    (folder / "optimizer.pt").write_bytes(PICKLE)
    MARKER.unlink(missing_ok=True)
    load_model(folder)
    assert not MARKER.exists()


def test_tampered_checkpoints_are_refused_the_same_way(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "ck", 3, {"model/w": torch.ones(2)}, {"epoch": 1}, keep_last=2)
    (path / "state.json").unlink()
    (path / "state.json").symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match=r"state\.json: is a symbolic link"):
        read_checkpoint(path)
    (path / "state.json").unlink()
    (path / "state.json").write_bytes(PICKLE)
    with pytest.raises(ModelFileError, match=r"state\.json: (not UTF-8|invalid JSON)"):
        read_checkpoint(path)
    assert not MARKER.exists()
