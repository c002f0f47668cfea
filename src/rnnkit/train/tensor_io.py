"""State dicts and optimizer states as flat ``{name: tensor}`` maps for safetensors, plus strict loading.

safetensors stores named tensors and nothing else (no pickle, no code). Two things need care:

- **tied weights** (one tensor under two names, e.g. an embedding shared with the output layer): safetensors
  refuses tensors that share memory, so each tie is stored once, under its first name. The loader does not trust
  the file for which names are tied: the freshly built model says so itself (``tied_names``).
- **optimizer state**: tensors (``exp_avg``...) go to the tensor file, everything else (hyper-parameters,
  python numbers) to JSON.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as parse_safetensors  # parses bytes into tensors: no pickle, no code

from rnnkit.errors import ModelFileError


def read_json_document(path: Path) -> Any:
    """A JSON file's document; bad bytes or bad JSON are a ``ModelFileError`` naming the file and the place."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None


def read_verified_tensors(path: Path, recorded_sha256: Any, recorded_in: str, damage: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file whose sha256 must equal the one ``recorded_in`` records.

    The same bytes are hashed and parsed, so what is checked is what is loaded. ``damage`` ends the mismatch message.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != recorded_sha256:
        raise ModelFileError(f"{path}: sha256 mismatch ({len(data)} bytes hash to {digest[:12]}..., "
                             f"{recorded_in} records {str(recorded_sha256)[:12]}...): {damage}")
    try:
        return parse_safetensors(data)
    except Exception as error:  # safetensors raises its own error type for every kind of malformed file
        raise ModelFileError(f"{path}: not a safetensors file ({error})") from None


def _identity(tensor: torch.Tensor) -> tuple:
    # Same storage, offset, shape and strides = the same tensor under another name.
    return (tensor.device, tensor.dtype, tensor.untyped_storage().data_ptr(), tensor.storage_offset(),
            tuple(tensor.shape), tuple(tensor.stride()))


def tied_names(state_dict: dict[str, torch.Tensor]) -> dict[str, str]:
    """``{alias: first_name}`` for every entry that is the very same tensor as an earlier entry."""
    first: dict[tuple, str] = {}
    aliases = {}
    for name, tensor in state_dict.items():
        if tensor.numel() == 0:  # empty tensors have no storage to share
            continue
        key = _identity(tensor)
        if key in first:
            aliases[name] = first[key]
        else:
            first[key] = name
    return aliases


def to_saveable(state_dict: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """Contiguous CPU copies, ties stored once; copies also break any other memory sharing (views)."""
    aliases = tied_names(state_dict)
    return {
        prefix + name: tensor.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        for name, tensor in state_dict.items()
        if name not in aliases
    }


def check_and_expand(tensors: dict[str, torch.Tensor], model: torch.nn.Module, *,
                     where: str) -> dict[str, torch.Tensor]:
    """Check ``tensors`` (as written by ``to_saveable``) against ``model``; return a full state dict.

    Names must match exactly (tied aliases excepted) and shapes must agree; any difference is a
    ``ModelFileError`` naming ``where`` and the tensors. Values are cast to the model's dtypes by
    ``load_state_dict``.
    """
    expected = model.state_dict()
    aliases = tied_names(expected)
    wanted = [name for name in expected if name not in aliases]
    missing = [name for name in wanted if name not in tensors]
    unexpected = sorted(set(tensors) - set(wanted))
    problems = []
    if missing:
        problems.append(f"missing tensor(s) {missing}")
    if unexpected:
        problems.append(f"unexpected tensor(s) {unexpected}")
    for name in wanted:
        if name in tensors and tuple(tensors[name].shape) != tuple(expected[name].shape):
            problems.append(f"tensor {name!r} has shape {list(tensors[name].shape)}, "
                            f"the model expects {list(expected[name].shape)}")
    if problems:
        raise ModelFileError(f"{where}: " + "; ".join(problems))
    full = dict(tensors)
    full.update({alias: tensors[name] for alias, name in aliases.items()})
    return full


def optimizer_to_flat(optimizer: torch.optim.Optimizer,
                      prefix: str = "optim/") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors and a JSON document."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}{param_id}/{key}"] = value.detach().to("cpu").clone(
                    memory_format=torch.contiguous_format)
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], document: dict[str, Any],
                        prefix: str = "optim/") -> None:
    """Inverse of ``optimizer_to_flat``: load the state into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        if name.startswith(prefix):
            param_id, key = name[len(prefix):].split("/", 1)
            state.setdefault(int(param_id), {})[key] = tensor
    for param_id, entries in document["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    # JSON turned tuples (Adam's betas) into lists: give values back the types the live optimizer uses.
    groups = []
    for saved, live in zip(document["param_groups"], optimizer.param_groups, strict=True):
        groups.append({key: tuple(value) if isinstance(live.get(key), tuple) else value
                       for key, value in saved.items()})
    optimizer.load_state_dict({"state": state, "param_groups": groups})
