"""Model folders: an exact round trip, atomic and careful writes, and a clear error for every kind of damage."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from rnnkit.errors import ModelFileError, UserError
from rnnkit.tasks.base import TaskModel
from rnnkit.train import load_model, read_model_config, save_model


@dataclasses.dataclass
class TinyConfig:
    vocab_size: int = 5
    hidden_size: int = 3
    tie_weights: bool = False


class TinyTagger(TaskModel):
    """Embedding -> GRU -> linear over the vocabulary, with the vocabulary as extra state."""

    task = "tiny"
    config_class = TinyConfig

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        if config.hidden_size < 1:
            raise ValueError(f"hidden_size must be >= 1, got {config.hidden_size}")
        self.config = config
        self.vocab = [f"t{i}" for i in range(config.vocab_size)]
        self.embed = torch.nn.Embedding(config.vocab_size, config.hidden_size)
        self.rnn = torch.nn.GRU(config.hidden_size, config.hidden_size, batch_first=True)
        self.out = torch.nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.out.weight = self.embed.weight  # one tensor, two names in the state dict
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(self.embed(tokens))  # (B, T, H)
        return self.out(output)  # (B, T, V)

    def extra_state(self) -> dict[str, Any]:
        return {"vocab": self.vocab}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.vocab = list(extra["vocab"])


TASKS = {"tiny": TinyTagger}


def trained(tie: bool = False) -> TinyTagger:
    model = TinyTagger(TinyConfig(tie_weights=tie))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    model.vocab = ["<pad>", "a", "b", "c", "d"]
    return model


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("tie", [False, True])
def test_round_trip_gives_identical_outputs(tmp_path: Path, tie: bool) -> None:
    model = trained(tie)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m", tasks=TASKS)
    assert isinstance(loaded, TinyTagger) and not loaded.training
    assert loaded.vocab == model.vocab and loaded.config == model.config
    tokens = torch.tensor([[1, 2, 3, 4], [4, 3, 0, 0]])
    assert torch.equal(loaded(tokens), model.eval()(tokens))
    assert (loaded.out.weight is loaded.embed.weight) == tie  # ties come back as ties
    document = json.loads((tmp_path / "m" / "config.json").read_text())
    assert document["format"] == "rnnkit-model" and document["format_version"] == 2
    assert document["task"] == "tiny" and document["config"] == {"vocab_size": 5, "hidden_size": 3, "tie_weights": tie}
    assert document["extra"] == {"vocab": ["<pad>", "a", "b", "c", "d"]}
    names = safetensors.torch.load_file(str(tmp_path / "m" / "model.safetensors")).keys()
    assert ("out.weight" in names) != tie  # a tied tensor is stored once
    assert read_model_config(tmp_path / "m") == document


def test_save_refuses_to_overwrite_unless_asked_and_leaves_no_temporaries(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    save_model(trained(), folder)
    before = snapshot(folder)
    with pytest.raises(UserError, match="not empty; pass overwrite=True"):
        save_model(trained(), folder)
    assert snapshot(folder) == before
    other = trained()
    save_model(other, folder, overwrite=True)
    assert snapshot(folder) != before
    assert torch.equal(load_model(folder, tasks=TASKS).embed.weight, other.embed.weight)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m"]  # no .tmp or .old folder left
    (tmp_path / "empty").mkdir()
    save_model(trained(), tmp_path / "empty")  # an empty folder is fine


def test_overwrite_never_deletes_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"other files than a model: \['notes.txt'\]"):
        save_model(trained(), tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_save_needs_a_task_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="needs a task model.*Linear"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "m")


def test_save_rejects_extra_state_that_is_not_json(tmp_path: Path) -> None:
    model = trained()
    model.vocab = {"a", "b"}  # a set is not JSON
    with pytest.raises(UserError, match="not plain JSON"):
        save_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists() and list(tmp_path.iterdir()) == []


def _edit_config(folder: Path, change) -> None:
    path = folder / "config.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _replace_weights(folder: Path, change) -> None:
    """Rewrite model.safetensors and record its new hash, as a careful tamperer would."""
    tensors = safetensors.torch.load_file(str(folder / "model.safetensors"))
    data = change(tensors)
    data = data if isinstance(data, bytes) else safetensors.torch.save(data)
    (folder / "model.safetensors").write_bytes(data)
    _edit_config(folder, lambda document: document.update(weights_sha256=hashlib.sha256(data).hexdigest()))


def _without(name):
    def change(tensors):
        del tensors[name]
        return tensors
    return change


def _with(name, tensor):
    def change(tensors):
        tensors[name] = tensor
        return tensors
    return change


DAMAGE = {
    "missing config": (lambda f: (f / "config.json").unlink(), r"config.json: missing file"),
    "missing weights": (lambda f: (f / "model.safetensors").unlink(), r"model.safetensors: missing file"),
    "invalid json": (lambda f: (f / "config.json").write_text('{\n  "format": "rnnkit-model",\n  "task": }'),
                     r"config.json: invalid JSON at line 3 column 11"),
    "not utf-8": (lambda f: (f / "config.json").write_bytes(b"\xff\xfe{}"), r"config.json: not UTF-8"),
    "not an object": (lambda f: (f / "config.json").write_text("[1, 2]"), r"config.json: expected a JSON object"),
    "wrong format": (lambda f: _edit_config(f, lambda d: d.update(format="keras")), r"not an rnnkit model"),
    "newer version": (lambda f: _edit_config(f, lambda d: d.update(format_version=3)),
                      r"format_version 3 is from a newer rnnkit; this rnnkit \(.*\) reads versions \[1, 2\]"),
    "missing key": (lambda f: _edit_config(f, lambda d: d.pop("weights_sha256")),
                    r"missing key\(s\) \['weights_sha256'\]"),
    "unknown top key": (lambda f: _edit_config(f, lambda d: d.update(pickle="x")), r"unknown key\(s\) \['pickle'\]"),
    "unknown task": (lambda f: _edit_config(f, lambda d: d.update(task="os.system")),
                     r"unknown task 'os.system'; known tasks: \['tiny'\]"),
    "unknown config key": (lambda f: _edit_config(f, lambda d: d["config"].update(hiden_size=3)),
                           r"config.json: config: unknown key\(s\) \['hiden_size'\]"),
    "bad config value": (lambda f: _edit_config(f, lambda d: d["config"].update(hidden_size=0)),
                         r"config.json: cannot build task 'tiny'.*hidden_size must be >= 1"),
    "truncated weights": (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:50]),
                          r"model.safetensors: sha256 mismatch \(50 bytes"),
    "tampered weights": (lambda f: (f / "model.safetensors").write_bytes(
        (f / "model.safetensors").read_bytes()[:-4] + b"\x00\x00\x80\x7f"), r"model.safetensors: sha256 mismatch"),
    "not safetensors": (lambda f: _replace_weights(f, lambda t: b"\x80\x04K\x01."),  # a pickle, hash updated
                        r"model.safetensors: not a safetensors file"),
    "missing tensor": (lambda f: _replace_weights(f, _without("rnn.bias_hh_l0")),
                       r"model.safetensors: missing tensor\(s\) \['rnn.bias_hh_l0'\]"),
    "unexpected tensor": (lambda f: _replace_weights(f, _with("decoder.weight", torch.zeros(2))),
                          r"model.safetensors: unexpected tensor\(s\) \['decoder.weight'\]"),
    "wrong shape": (lambda f: _replace_weights(f, _with("out.bias", torch.zeros(7))),
                    r"model.safetensors: tensor 'out.bias' has shape \[7\], the model expects \[5\]"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_folder_gives_a_clear_error_and_changes_nothing(tmp_path: Path, name: str) -> None:
    damage, message = DAMAGE[name]
    folder = tmp_path / "m"
    save_model(trained(), folder)
    damage(folder)
    before = snapshot(folder)
    with pytest.raises(ModelFileError, match=message):
        load_model(folder, tasks=TASKS)
    assert snapshot(folder) == before and sorted(path.name for path in tmp_path.iterdir()) == ["m"]


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such folder"):
        load_model(tmp_path / "nothing", tasks=TASKS)


def test_load_model_of_finds_the_model_in_a_run_folder_and_checks_its_kind(tmp_path: Path) -> None:
    from rnnkit.data.text import Tokenizer
    from rnnkit.nn import RecurrentConfig
    from rnnkit.tasks import LanguageModel, LanguageModelConfig, Seq2Seq
    from rnnkit.train.model_folder import load_model_of

    config = LanguageModelConfig(rnn=RecurrentConfig(hidden_size=4))
    model = LanguageModel.for_tokenizer(Tokenizer.fit(["abc"], level="char"), config)
    save_model(model, tmp_path / "run" / "model")
    for path in (tmp_path / "run", tmp_path / "run" / "model"):  # a CLI --out, or the model folder itself
        loaded = load_model_of(path, LanguageModel, "a language model")
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    with pytest.raises(UserError, match=f"'{LanguageModel.task}' model, not a seq2seq model"):
        load_model_of(tmp_path / "run", Seq2Seq, "a seq2seq model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a model folder"):
        load_model_of(tmp_path / "empty", LanguageModel, "a language model")
