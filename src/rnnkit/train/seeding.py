"""Seeding and the random states a checkpoint must carry for an exact resume.

What is deterministic
---------------------
On CPU, the same seed, data, config, PyTorch version and thread count give bit-identical weights: the trainer
seeds python ``random``, numpy and torch (``seed_everything``) and draws the data order from its own seeded
``torch.Generator``. A resumed run continues every one of these streams where the checkpoint left them.

On GPU, the seeds are the same but some kernels are not deterministic: cuDNN's RNN backward, ``index_add``/
``scatter_add`` and embedding backward accumulate with atomics whose order varies from run to run, so weights
drift in the last bits and then apart. ``torch.use_deterministic_algorithms(True)`` (with the environment variable
``CUBLAS_WORKSPACE_CONFIG=:4096:8`` set before CUDA starts) makes most of them deterministic or raises where no
deterministic kernel exists, at some speed cost. Results also differ between CPU and GPU, between GPU models
and between library versions. rnnkit does not switch this on for you: it is a global setting with a cost.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # numpy's legacy seeding accepts 32 bits only
    torch.manual_seed(seed)  # also seeds every CUDA device


def capture_rng(prefix: str = "rng/") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The global random states as (tensors, JSON): torch's as uint8 tensors, python's and numpy's as lists."""
    tensors = {f"{prefix}torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"{prefix}cuda/{index}"] = state
    version, internal, gauss_next = random.getstate()
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    document = {
        "python": [version, list(internal), gauss_next],
        "numpy": [kind, [int(key) for key in keys], int(position), int(has_gauss), float(cached_gaussian)],
    }
    return tensors, document


def restore_rng(tensors: dict[str, torch.Tensor], document: dict[str, Any], prefix: str = "rng/") -> None:
    """Inverse of ``capture_rng``. CUDA states are restored for the devices present in both."""
    torch.set_rng_state(tensors[f"{prefix}torch"])
    cuda = sorted((name for name in tensors if name.startswith(f"{prefix}cuda/")),
                  key=lambda name: int(name.rsplit("/", 1)[1]))
    if cuda and torch.cuda.is_available():
        count = min(len(cuda), torch.cuda.device_count())
        torch.cuda.set_rng_state_all([tensors[name] for name in cuda[:count]])
    version, internal, gauss_next = document["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, position, has_gauss, cached_gaussian = document["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, cached_gaussian))
