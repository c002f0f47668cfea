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
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as parse_safetensors  # parses bytes into tensors: no pickle, no code

from rnnkit.errors import ModelFileError


MAX_JSON_BYTES = 256 * 2**20  # a config.json or state.json larger than this is not one rnnkit wrote


def read_model_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a file of a model folder or checkpoint: a regular file of the folder itself (not a symbolic
    link, which could point at any file, a device or a pipe), at most ``limit`` bytes; else ``ModelFileError``."""
    if path.is_symlink():
        raise ModelFileError(f"{path}: is a symbolic link (to {os.readlink(path)}); a model folder holds its own "
                             f"files: copy the file there instead")
    if not path.is_file():
        raise ModelFileError(f"{path}: missing file" if not path.exists() else f"{path}: not a regular file")
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise ModelFileError(f"{path}: {size} bytes, more than the {limit} a file of this kind can be")
    try:
        return path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"key(s) {repeated} given twice")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (write null, or a number)")


def read_json_document(path: Path) -> Any:
    """A JSON file's document; bad bytes or bad JSON are a ``ModelFileError`` naming the file and the place.

    Strict JSON: no NaN/Infinity tokens, no key given twice (which one would count?), bounded size and depth."""
    data = read_model_file(path, MAX_JSON_BYTES)
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: JSON nested too deeply") from None
    except ValueError as error:  # the hooks above, or an integer of thousands of digits
        raise ModelFileError(f"{path}: invalid JSON: {error}") from None


def read_verified_tensors(path: Path, recorded_sha256: Any, recorded_in: str, damage: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file whose sha256 must equal the one ``recorded_in`` records.

    The same bytes are hashed and parsed, so what is checked is what is loaded. ``damage`` ends the mismatch message.
    """
    data = read_model_file(path)
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
    ``ModelFileError`` naming ``where`` and the tensors. Floating-point values may come in another floating-point
    dtype (cast by ``load_state_dict``); integers for floats, or floats for integers, are refused.
    """
    expected = model.state_dict()
    aliases = tied_names(expected)
    problems = _compare(tensors, {name: tensor for name, tensor in expected.items() if name not in aliases})
    if problems:
        raise ModelFileError(f"{where}: " + "; ".join(problems))
    full = dict(tensors)
    full.update({alias: tensors[name] for alias, name in aliases.items()})
    return full


def check_finite(tensors: dict[str, torch.Tensor], *, where: str) -> None:
    """Refuse weights holding NaN or inf (a diverged or tampered model would write NaN outputs)."""
    bad = [name for name, tensor in tensors.items() if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if bad:
        raise ModelFileError(f"{where}: tensor(s) {bad[:5]}{' ...' if len(bad) > 5 else ''} hold NaN or inf values")


def check_shapes_before_building(tensors: dict[str, torch.Tensor], probe: torch.nn.Module, *, where: str) -> None:
    """``check_and_expand`` on a model built on the meta device (no memory): a config that would allocate sizes
    the weights do not have is refused before the real model is built. Ties are found by parameter identity
    (meta tensors have no storage to compare)."""
    seen: set[int] = set()
    wanted = {}
    for name, tensor in probe.state_dict(keep_vars=True).items():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            wanted[name] = tensor
    problems = _compare(tensors, wanted)
    if problems:
        raise ModelFileError(f"{where}: " + "; ".join(problems))


def _compare(tensors: dict[str, torch.Tensor], wanted: dict[str, torch.Tensor]) -> list[str]:
    """What differs between the tensors of a file and those a model wants: names, shapes, kinds of dtype."""
    missing = [name for name in wanted if name not in tensors]
    unexpected = sorted(set(tensors) - set(wanted))
    problems = [f"missing tensor(s) {missing}"] if missing else []
    problems += [f"unexpected tensor(s) {unexpected}"] if unexpected else []
    for name, tensor in wanted.items():
        if name not in tensors:
            continue
        if tuple(tensors[name].shape) != tuple(tensor.shape):
            problems.append(f"tensor {name!r} has shape {list(tensors[name].shape)}, "
                            f"the model expects {list(tensor.shape)}")
        elif tensors[name].is_floating_point() != tensor.is_floating_point():
            problems.append(f"tensor {name!r} is {tensors[name].dtype}, the model expects {tensor.dtype}")
    return problems


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
