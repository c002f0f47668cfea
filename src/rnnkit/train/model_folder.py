"""Model folders, rnnkit's one model-file format: a folder with ``config.json`` and ``model.safetensors``.

``config.json``::

    {"format": "rnnkit-model", "format_version": 2, "rnnkit_version": "0.1.0",
     "task": "forecasting", "config": {...the task's config dataclass...},
     "extra": {...vocabulary, scaler, label names...}, "weights_sha256": "<sha256 of model.safetensors>"}

``model.safetensors`` holds the ``state_dict`` (tied weights once, under their first name). Loading reads JSON
and safetensors only: it never unpickles and never runs anything named by the files; the task name is looked up
in a registry of classes the program already has. Folders of an earlier format version load through
``rnnkit.train.migrate`` (or are refused with a message naming the version).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

import safetensors.torch
import torch

from rnnkit._version import __version__
from rnnkit.errors import ModelFileError, UserError
from rnnkit import _fs
from rnnkit.train.migrate import migrate_config, migrate_weights
from rnnkit.train.tensor_io import (check_and_expand, check_finite, check_shapes_before_building, read_json_document,
                                   read_verified_tensors, to_saveable)

FORMAT = "rnnkit-model"
FORMAT_VERSION = 2
MIGRATABLE = (1,)  # earlier versions rnnkit.train.migrate brings to FORMAT_VERSION
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
_KEYS = {"format", "format_version", "rnnkit_version", "task", "config", "extra", "weights_sha256"}


def save_model(model: torch.nn.Module, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` (a ``TaskModel``: it has ``to_config()``) to ``folder``, atomically. Returns the folder.

    The files are written into a hidden temporary folder next to ``folder`` and renamed into place, so a crash
    never leaves a half-written model folder. An existing non-empty ``folder`` is an error unless ``overwrite``;
    even then only a folder holding nothing but model-folder files is replaced.
    """
    folder = Path(folder)
    if not callable(getattr(model, "to_config", None)):
        raise UserError(f"save_model needs a task model (a TaskModel with to_config()), got {type(model).__name__}")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: exists and is not a folder")
    present = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    if present and not overwrite:
        raise UserError(f"{folder}: folder exists and is not empty; pass overwrite=True to replace it")
    foreign = [name for name in present if name not in (CONFIG, WEIGHTS)]
    if foreign:  # overwrite=True must not delete someone's other files
        raise UserError(f"{folder}: refusing to replace a folder that holds other files than a model: {foreign}")
    document = model.to_config()
    weights = safetensors.torch.save(to_saveable(model.state_dict()), metadata={"format": "pt"})
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "rnnkit_version": __version__,
              "task": document["task"], "config": document["config"], "extra": document.get("extra", {}),
              "weights_sha256": hashlib.sha256(weights).hexdigest()}
    try:
        config_bytes = _fs.json_bytes(config)
    except (TypeError, ValueError) as error:  # e.g. a numpy array or NaN in extra_state()
        raise UserError(f"{type(model).__name__}.to_config() is not plain JSON: {error}") from None
    _fs.remove_leftovers(folder)  # of an earlier save that was killed
    _fs.write_folder(folder, {WEIGHTS: weights, CONFIG: config_bytes})
    return folder


def read_model_config(folder: str | Path) -> dict[str, Any]:
    """The checked ``config.json`` document of a model folder, in the current format version (no weights read,
    nothing built)."""
    return _read_config(folder)[0]


def _read_config(folder: str | Path) -> tuple[dict[str, Any], int]:
    """``read_model_config`` and the format version the file was written in."""
    path = Path(folder) / CONFIG
    if not Path(folder).is_dir():
        raise ModelFileError(f"{folder}: not a model folder (no such folder)")
    if not os.path.lexists(path):  # a link or a special file is refused by read_json_document, with its reason
        raise ModelFileError(f"{path}: missing file")
    document = read_json_document(path)
    if not isinstance(document, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(document).__name__}")
    if document.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an rnnkit model (\"format\" is {document.get('format')!r}, "
                             f"expected {FORMAT!r})")
    version = document.get("format_version")
    if isinstance(version, bool) or (version != FORMAT_VERSION and version not in MIGRATABLE):  # True == 1
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelFileError(f"{path}: format_version {version!r}"
                             + (" is from a newer rnnkit" if newer else " is not valid")
                             + f"; this rnnkit ({__version__}) reads versions {[*MIGRATABLE, FORMAT_VERSION]}")
    missing, unknown = sorted(_KEYS - set(document) - {"extra"}), sorted(set(document) - _KEYS)
    if missing or unknown:
        raise ModelFileError(f"{path}: " + "; ".join(
            ([f"missing key(s) {missing}"] if missing else []) + ([f"unknown key(s) {unknown}"] if unknown else [])))
    if version != FORMAT_VERSION:
        document = migrate_config(document, where=str(path))
    return document, version


def load_model(folder: str | Path, tasks: Mapping[str, type] | None = None) -> torch.nn.Module:
    """Build the model saved in ``folder`` and load its weights; returned in eval mode.

    ``tasks`` maps task names to ``TaskModel`` classes (default: ``rnnkit.tasks.TASKS``). Every fault is a
    ``ModelFileError`` naming the file: missing file, invalid JSON, unknown task or config key, weights hash
    mismatch, not a safetensors file, missing or unexpected tensors, wrong shapes. Nothing on disk is changed.
    """
    folder = Path(folder)
    document, version = _read_config(folder)
    config_path, weights_path = folder / CONFIG, folder / WEIGHTS
    if tasks is None:
        from rnnkit.tasks import TASKS  # imported when needed: the trainer and checkpoints work without the tasks

        tasks = TASKS
    task = document["task"]
    if not isinstance(task, str) or task not in tasks:
        raise ModelFileError(f"{config_path}: unknown task {task!r}; known tasks: {sorted(tasks)}")
    if not os.path.lexists(weights_path):
        raise ModelFileError(f"{weights_path}: missing file")
    tensors = read_verified_tensors(weights_path, document["weights_sha256"], CONFIG,
                                    "the file was truncated, modified or belongs to another model")
    if version != FORMAT_VERSION:
        tensors = migrate_weights(task, tensors)
    check_finite(tensors, where=str(weights_path))
    try:  # first on the meta device: sizes in the config that the weights do not have allocate nothing
        with torch.device("meta"):
            probe = _build(tasks[task], document, config_path)
    except NotImplementedError:  # an operation without a meta kernel: the shapes are checked after building
        probe = None
    if probe is not None:
        check_shapes_before_building(tensors, probe, where=str(weights_path))
    model = _build(tasks[task], document, config_path)
    model.load_state_dict(check_and_expand(tensors, model, where=str(weights_path)))
    return model.eval()


def _build(cls: type, document: dict[str, Any], config_path: Path) -> torch.nn.Module:
    """``cls.from_config(document)``, every refusal of the values in the file a ``ModelFileError``."""
    task = document["task"]
    try:
        return cls.from_config(document, where=str(config_path))
    except ModelFileError:
        raise
    except UserError as error:  # unknown or missing config keys, invalid values
        message = str(error)
        raise ModelFileError(message if str(config_path) in message else f"{config_path}: {message}") from None
    except NotImplementedError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RuntimeError, OverflowError) as error:
        raise ModelFileError(f"{config_path}: cannot build task {task!r} from its config: "
                             f"{type(error).__name__}: {error}") from None


def model_folder_in(path: str | Path) -> Path:
    """``path`` itself, or ``path/model`` when ``path`` is a CLI run folder (an ``--out``) that holds the model."""
    path = Path(path)
    return path / "model" if (path / "model" / CONFIG).is_file() else path


def load_model_of(path: str | Path, kind: type, what: str) -> torch.nn.Module:
    """``load_model`` on a model folder or a run folder holding one (``model_folder_in``), refused with a
    ``UserError`` naming the task found unless the model is a ``kind`` (``what`` names it for the message)."""
    folder = model_folder_in(path)
    if not (folder / CONFIG).is_file():
        raise UserError(f"{path}: not a model folder (no {CONFIG}, nor model/{CONFIG})")
    model = load_model(folder)
    if not isinstance(model, kind):
        raise UserError(f"{folder}: a {model.task!r} model, not {what}")
    return model
