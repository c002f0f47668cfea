"""Data-parallel training on PyTorch's own engine: torchrun starts the processes, ``torch.distributed`` joins them
(gloo on CPU, NCCL on GPU), ``DistributedDataParallel`` averages the gradients. rnnkit adds only what makes N
processes compute what one process computes, and agree on every decision.

    torchrun --standalone --nproc-per-node 2 train.py                       # one machine, 2 processes
    torchrun --nnodes 2 --node-rank 0 --rdzv-backend c10d --rdzv-endpoint HOST:29500 --nproc-per-node 4 train.py

``train.py`` builds its model and calls ``Trainer(model, config).fit(...)`` as it would in one process: the
trainer finds the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and joins the
process group (``Trainer(..., distributed=False)`` stays alone, ``True`` insists on a group). ``launch`` re-runs
a command under torchrun (what ``--nproc N`` does).

With the same seed and the same ``TrainConfig.batch_size`` (the GLOBAL batch), N processes take the optimizer steps
one process takes, to rounding:

- Every rank draws the same permutation of the training set per epoch (the trainer's generator, seeded with
  ``config.seed``) and takes a contiguous block of each batch, ``order[i*B:(i+1)*B].tensor_split(N)[rank]``
  (sizes differing by at most one, in an uneven last batch too).
- Data sets whose items are whole batches (``rnnkit.data.streams.TokenStreams``, truncated BPTT) have
  ``shard(rank, N)``: each rank takes its rows of every batch and carries those rows' state.
- Rank r's loss is a mean over its w_r rows (or over ``model.loss_weight(batch)`` units, say tokens, for a
  model whose loss averages over those); it is scaled by N w_r / W (W = sum of the w_r, all-reduced) before
  ``backward``. DDP averages the gradients over the N ranks: sum_r (w_r / W) grad loss_r, the gradient of the
  mean over the global batch.
- Buffers stay each rank's own (``forward_sync_buffers=False``): the language model's carried state belongs
  to the rank's rows. Checkpoints, written by rank 0, hold every rank's buffers and random states.
- Validation batches are split between the ranks and the sums all-reduced; the training loss, the non-finite
  check and a callback's ``should_stop`` are all-reduced too. Progress and logs are written by rank 0 only.
- Random numbers inside the model (dropout, noise) are seeded with ``config.seed + rank``: each rank its own.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, Callable, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnnkit.errors import UserError

ENVIRONMENT = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")  # what torchrun sets
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class World:
    """This process's place among the training processes; ``World()`` is a single process."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")  # where the collectives' tensors live (NCCL: this rank's GPU)

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: Sequence[float]) -> list[float]:
        """The sums over all ranks (float64), the same on every rank."""
        if not self.active:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag: bool) -> bool:
        return self.sum([float(flag)])[0] > 0

    def from_main(self, make: Callable[[], T]) -> T:
        """``make()`` run on rank 0 alone, its result on every rank; what it raises is raised on every rank."""
        if not self.active:
            return make()
        payload: list[Any] = [None]
        if self.is_main:
            try:
                payload[0] = (make(), None)
            except Exception as error:  # every rank must leave the broadcast, with the same outcome
                payload[0] = (None, error)
        dist.broadcast_object_list(payload, src=0, device=self.device)
        value, error = payload[0]
        if error is not None:
            raise error
        return value

    def gather(self, value: T) -> list[T] | None:
        """Every rank's ``value`` in rank order on rank 0; ``None`` elsewhere."""
        if not self.active:
            return [value]
        values: list[Any] | None = [None] * self.size if self.is_main else None
        dist.gather_object(value, values, dst=0)
        return values

    def split(self, indices: Tensor) -> tuple[list[int], bool]:
        """This rank's block of a global batch's indices, and whether it is real. A rank past the end of an
        uneven last batch (fewer items than ranks) gets the batch's first item as a stand-in, to be given weight
        0: every rank must run forward and backward for DDP's all-reduce."""
        mine = indices.tensor_split(self.size)[self.rank]
        return (mine.tolist(), True) if len(mine) else (indices[:1].tolist(), False)


def join(distributed: bool | None, device: str) -> tuple[World, torch.device]:
    """The process group torchrun's environment describes (initialised here unless the caller already did), and
    this rank's device; ``(World(), device)`` when alone. ``distributed``: None joins when WORLD_SIZE > 1,
    False never, True always (an error outside torchrun)."""
    if distributed is False or (distributed is None and not dist.is_initialized()
                                and int(os.environ.get("WORLD_SIZE", "1")) <= 1):
        auto = "cuda" if torch.cuda.is_available() else "cpu"
        return World(), torch.device(auto if device == "auto" else device)
    if not dist.is_available():
        raise UserError("distributed training: this PyTorch build has no torch.distributed")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device in ("auto", "cuda"):  # one GPU per process: LOCAL_RANK picks it
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    target = torch.device(device)
    if not dist.is_initialized():
        missing = [name for name in ENVIRONMENT if name not in os.environ]
        if missing:
            raise UserError(f"distributed=True needs the environment torchrun sets ({', '.join(missing)} missing): "
                            f"start the script with torchrun --nproc-per-node N")
        if target.type == "cuda":
            torch.cuda.set_device(target)
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
        atexit.register(leave)
    return World(dist.get_rank(), dist.get_world_size(), local_rank, target), target


def leave(*, together: bool = False) -> None:
    """Destroy this process's group, if it has one. ``together``: first wait at a barrier for every rank, so that
    no rank tears its connections down while another still finishes its work (a gloo rank whose peer closed
    first may abort at exit). Only where every rank is known to reach this line: the end of a command that
    succeeded on every rank; the exit hook, which also runs after an error, does not wait."""
    if not dist.is_initialized():
        return
    if together:
        dist.barrier()
    dist.destroy_process_group()


class LossOf(nn.Module):
    """``model.loss`` as a forward: DDP prepares its gradient all-reduce in ``forward``, so the loss must pass
    through the wrapper's forward (calling ``model.loss`` directly would leave the gradients unsynchronised)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> Tensor:
        return self.model.loss(batch)


def data_parallel(model: nn.Module, world: World) -> nn.Module:
    """``model.loss`` wrapped in ``DistributedDataParallel`` (rank 0's weights are broadcast to every rank here)."""
    device_ids = [world.device] if world.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(LossOf(model), device_ids=device_ids, forward_sync_buffers=False)


def batch_rows(batch: Any) -> int:
    """The leading size of the first tensor in a (nested) batch: its rows, batch first."""
    if isinstance(batch, Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for value in values:
        if isinstance(value, (Tensor, dict, list, tuple)):
            return batch_rows(value)
    raise UserError(f"cannot tell the rows of a {type(batch).__name__} batch: give the model loss_weight(batch)")


def in_worker() -> bool:
    """True inside a process torchrun started."""
    return "TORCHELASTIC_RUN_ID" in os.environ or "LOCAL_RANK" in os.environ


def torchrun_command(argv: Sequence[str], nproc: int) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc-per-node N ARGV``; ``argv`` is a script and its
    arguments, or ``["-m", "module", ...]``."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *argv]


def launch(argv: Sequence[str], nproc: int, *, threads: int | None = None) -> int:
    """Run ``argv`` as ``nproc`` processes on this machine under torchrun and return its exit status (non-zero
    when any rank failed; torchrun then stops the others and names the failed rank).

    For a CLI's ``--nproc N``: ``sys.exit(launch(["-m", "rnnkit.cli.main", *sys.argv[1:]], N))`` from the
    launching command; in the workers ``in_worker()`` is true and they train (the Trainer joins the group).
    ``threads`` sets OMP_NUM_THREADS per process (torchrun's default is 1).
    """
    if nproc < 1:
        raise UserError(f"--nproc must be >= 1, got {nproc}")
    if in_worker():
        raise UserError("already running under torchrun: launch() belongs to the launching command")
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    process = subprocess.Popen(torchrun_command(argv, nproc), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal interrupted torchrun and its workers too: let torchrun stop them
        return process.wait()
