"""Training checkpoints: crash-safe folders of tensors (safetensors) and JSON, no pickle.

Layout of ``checkpoint_dir``::

    ckpt-00000120/
        state.safetensors   # tensors: model/*, optim/*, rng/torch, rng/cuda/*, data/order, data/generator, best/*
        state.json          # everything else, and the sha256 of state.safetensors
    ckpt-00000150/
    .ckpt-00000180.tmp-1a2b3c4d/   # being written (or left by a crash): never read

A checkpoint is written into a hidden temporary folder, every file fsynced, then renamed to ``ckpt-<step>``:
a folder with that name is complete by construction. The hash additionally catches later damage (a truncated
copy, a flipped byte). Reading the latest checkpoint falls back to older ones with a warning naming the file and
the reason; it never silently starts over.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from rnnkit._version import __version__
from rnnkit.errors import ModelFileError
from rnnkit import _fs
from rnnkit.train.tensor_io import read_json_document, read_verified_tensors

FORMAT = "rnnkit-checkpoint"
# 2: the task redesign renamed model weights (the attention decoder's) and nested the task configs; a version-1
# checkpoint's model may not load into today's task models, so it is refused by name rather than half-resumed.
FORMAT_VERSION = 2
TENSORS = "state.safetensors"
STATE = "state.json"
_NAME = re.compile(r"^ckpt-(\d+)$")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """One checkpoint read back and verified: its folder, step, tensors and JSON state."""

    path: Path
    step: int
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]


def checkpoint_folders(directory: str | Path) -> list[Path]:
    """Complete checkpoint folders in ``directory``, oldest (lowest step) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in directory.iterdir()
             if path.is_dir() and (match := _NAME.match(path.name))]
    return [path for _, path in sorted(found)]


def checkpoint_step(path: str | Path) -> int:
    """The step in a checkpoint folder's name, ``ckpt-<step>``."""
    match = _NAME.match(Path(path).name)
    if match is None:
        raise ModelFileError(f"{path}: not a checkpoint folder name (ckpt-<step>)")
    return int(match.group(1))


def write_checkpoint(directory: str | Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], *,
                     keep_last: int, keep_steps: Collection[int] = ()) -> Path:
    """Write ``ckpt-<step>`` atomically, then delete all but the newest ``keep_last`` checkpoints and those of
    ``keep_steps`` (epoch ends kept for averaging)."""
    directory = Path(directory)
    final = directory / f"ckpt-{step:08d}"
    data = safetensors.torch.save(tensors)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "rnnkit_version": __version__, "step": step,
                "tensors_sha256": hashlib.sha256(data).hexdigest(), "state": state}
    _fs.write_folder(final, {TENSORS: data, STATE: _fs.json_bytes(document, allow_nan=True)})  # NaN metrics stay
    with _fs.os_errors(directory, "delete old checkpoints in"):
        for old in checkpoint_folders(directory)[:-keep_last]:
            if checkpoint_step(old) not in keep_steps:
                _fs.remove_dir(old)
    for leftover in directory.glob(".ckpt-*"):  # temporaries of writes or deletions a crash interrupted
        shutil.rmtree(leftover, ignore_errors=True)
    return final


def average_checkpoints(paths: Sequence[str | Path]) -> dict[str, torch.Tensor]:
    """The model weights of several checkpoints of one run, averaged: theta = (1/K) sum_k theta_k.

    Averaging the weights of the last few epochs smooths out the optimiser's noise around a minimum and usually
    beats any single one of them (Vaswani et al. 2017 average the last 5-20 checkpoints; Izmailov et al. 2018,
    stochastic weight averaging). Integer tensors are counters, not weights (BatchNorm's ``num_batches_tracked``):
    they are taken from the last checkpoint. Returns a state dict for ``model.load_state_dict``."""
    *_, (k, total, dtypes) = _running_sums(paths)  # the sum over all of them (one shared dict, no copies)
    return _mean(total, k, dtypes)


def trailing_averages(paths: Sequence[str | Path]) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    """``(k, mean of the last k checkpoints)`` for k = 1 .. K of ``paths`` (oldest first), as
    ``average_checkpoints`` computes each, reading every checkpoint once: the candidates for choosing how many
    to average (on validation data)."""
    for k, total, dtypes in _running_sums(paths):
        yield k, _mean(total, k, dtypes)


def _running_sums(paths: Sequence[str | Path]) -> Iterator[tuple[int, dict[str, torch.Tensor], dict]]:
    """``(k, sum of the last k checkpoints' model weights in float64, their dtypes)``, newest first; integer
    tensors (counters) stay the newest checkpoint's. The sums dict is updated in place between yields."""
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint")
    newest = paths[-1]
    total: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for k, path in enumerate(reversed(paths), 1):
        weights = strip_prefix(read_checkpoint(path).tensors, "model/")
        if not total:
            dtypes = {name: tensor.dtype for name, tensor in weights.items()}
            total = {name: tensor.double() if tensor.is_floating_point() else tensor for name, tensor in weights.items()}
        elif weights.keys() != total.keys() or any(weights[n].shape != total[n].shape for n in total):
            raise ModelFileError(f"{newest} and {path}: their model weights differ in names or shapes: not "
                                 f"checkpoints of one model")
        else:
            for name, tensor in weights.items():
                if tensor.is_floating_point():
                    total[name] = total[name] + tensor.double()
        yield k, total, dtypes


def _mean(total: dict[str, torch.Tensor], k: int, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor]:
    return {name: (tensor / k).to(dtypes[name]) if tensor.is_floating_point() else tensor
            for name, tensor in total.items()}


def strip_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix`` ("model/", "best/"), the prefix removed."""
    return {name[len(prefix):]: tensor for name, tensor in tensors.items() if name.startswith(prefix)}


def supersede_newer(directory: str | Path, step: int) -> list[Path]:
    """Rename checkpoints newer than ``step`` to ``ckpt-<n>.superseded-<id>`` (kept for inspection, never read).

    Called when training resumes from an older checkpoint (a fallback, or an explicit path): the newer ones
    belong to the abandoned run, and left in place they would be taken for the latest after the next crash.
    """
    moved = []
    for path in checkpoint_folders(directory):
        if checkpoint_step(path) > step:
            target = path.with_name(f"{path.name}.superseded-{uuid.uuid4().hex[:8]}")
            os.replace(path, target)
            moved.append(target)
    if moved:
        _fs.fsync_dir(Path(directory))
    return moved


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and verify one checkpoint folder; any damage is a ``ModelFileError`` naming the file and the fault."""
    path = Path(path)
    state_path, tensors_path = path / STATE, path / TENSORS
    for required in (state_path, tensors_path):
        if not os.path.lexists(required):  # links and special files: refused when read, with the reason
            raise ModelFileError(f"{required}: missing file")
    document = read_json_document(state_path)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{state_path}: not an rnnkit checkpoint (expected \"format\": \"{FORMAT}\")")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{state_path}: checkpoint format_version {document.get('format_version')!r}, "
                             f"this rnnkit reads {FORMAT_VERSION}; start the training again (a checkpoint "
                             "holds a run in progress: only finished model folders are migrated)")
    missing = sorted({"step", "tensors_sha256", "state"} - set(document))
    if missing:
        raise ModelFileError(f"{state_path}: missing key(s) {missing}")
    tensors = read_verified_tensors(tensors_path, document["tensors_sha256"], STATE, "truncated or modified")
    return Checkpoint(path=path, step=document["step"], tensors=tensors, state=document["state"])


def latest_checkpoint(directory: str | Path) -> Checkpoint | None:
    """The newest checkpoint that reads back intact; ``None`` if ``directory`` holds no checkpoint at all.

    A damaged newer checkpoint is skipped with a ``UserWarning`` naming the file and the reason. If checkpoints
    exist but none is intact, raises ``ModelFileError`` listing what is wrong with each.
    """
    folders = checkpoint_folders(directory)
    faults = []
    for path in reversed(folders):
        try:
            checkpoint = read_checkpoint(path)
        except ModelFileError as error:
            faults.append(str(error))
            continue
        for fault in faults:
            warnings.warn(f"skipping damaged checkpoint: {fault}; resuming from {path.name} instead", stacklevel=3)
        return checkpoint
    if faults:
        raise ModelFileError(f"{directory}: no intact checkpoint to resume from: " + " | ".join(faults))
    return None
