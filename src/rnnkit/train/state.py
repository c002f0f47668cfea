"""What a training checkpoint holds, and putting it back: the trainer's state split into tensors and JSON.

Tensors (``state.safetensors``): ``model/<name>`` weights, ``optim/<param>/<key>`` optimizer tensors,
``rng/torch`` and ``rng/cuda/<i>`` generator states (uint8), ``data/generator`` (the data-order generator),
``data/order`` (the current epoch's permutation, mid-epoch only), ``best/<name>`` (best weights so far).

JSON (``state.json`` -> ``state``): config, counters and position in the data order (epoch, step,
batch_in_epoch, in_epoch), the running sums of the current epoch, the monitor (best metric, epochs without
improvement, plateau lr scale), history, optimizer param_groups and non-tensor state, python and numpy
random states, ``world_size`` (processes of the run; absent: 1).

Data parallel: weights, optimizer and counters are the same on every rank; random states and buffers (the
language model's carried streams) are not. Rank 0's are stored as above, rank r's (r >= 1) under
``ranks/<r>/rng/...`` and ``ranks/<r>/buffers/<name>`` (tensors) and ``ranks -> "<r>" -> rng`` (JSON). A run
resumes only with the number of processes that wrote the checkpoint.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch

from rnnkit._config import config_to_dict
from rnnkit.errors import ModelFileError, UserError
from rnnkit.train.checkpoint import TENSORS, Checkpoint, strip_prefix
from rnnkit.train.schedule import Monitor
from rnnkit.train.seeding import capture_rng, restore_rng
from rnnkit.train.tensor_io import check_and_expand, optimizer_from_flat, optimizer_to_flat, to_saveable

if TYPE_CHECKING:
    from rnnkit.train.trainer import Trainer

# Settings that may change between a run and its resumption without changing what is computed step by step
# (the length of the run changes a cosine schedule's horizon: that is the user's choice to extend it).
RESUMABLE_CHANGES = {"max_epochs", "max_steps", "patience", "checkpoint_dir", "checkpoint_every_steps",
                     "keep_last", "keep_epoch_ends", "log_path", "tensorboard_dir", "progress", "device"}


def rank_state(trainer: Trainer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """What only this rank knows: its random states and, past rank 0 (whose are the model's), its buffers."""
    rank = trainer.world.rank
    if rank == 0:
        return capture_rng()
    tensors, document = capture_rng(f"ranks/{rank}/rng/")
    tensors.update(to_saveable(_buffers(trainer.model), f"ranks/{rank}/buffers/"))
    return tensors, document


def trainer_state(trainer: Trainer, ranks: list[tuple[dict[str, torch.Tensor], dict[str, Any]]]
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Everything needed to continue ``trainer`` exactly: (tensors, JSON document). ``ranks``: every rank's
    ``rank_state`` in rank order (one process: just its own)."""
    tensors = to_saveable(trainer.model.state_dict(), "model/")
    optimizer_tensors, optimizer_document = optimizer_to_flat(trainer.optimizer)
    tensors.update(optimizer_tensors)
    for rank_tensors, _ in ranks:
        tensors.update(rank_tensors)
    tensors["data/generator"] = trainer.generator.get_state()
    if trainer.in_epoch:
        tensors["data/order"] = trainer.order.contiguous()
    if trainer.best_state is not None:
        tensors.update({f"best/{name}": tensor for name, tensor in trainer.best_state.items()})
    document = {
        "config": config_to_dict(trainer.config),
        "epoch": trainer.epoch,
        "step": trainer.step,
        "batch_in_epoch": trainer.batch_in_epoch,
        "in_epoch": trainer.in_epoch,
        "epoch_loss_sum": trainer.epoch_loss_sum,
        "epoch_sequences": trainer.epoch_sequences,
        "epoch_seconds": trainer.epoch_seconds,
        "lr": trainer.lr,
        "monitor": trainer.monitor.state(),
        "history": trainer.history,
        "optimizer": optimizer_document,
        "rng": ranks[0][1],
        "world_size": len(ranks),
    }
    if len(ranks) > 1:
        document["ranks"] = {str(rank): {"rng": rng} for rank, (_, rng) in enumerate(ranks) if rank}
    return tensors, document


def restore_trainer(trainer: Trainer, checkpoint: Checkpoint) -> None:
    """Put ``checkpoint`` back into ``trainer`` (model, optimizer, random states, data position, counters)."""
    state, tensors = checkpoint.state, checkpoint.tensors
    where = checkpoint.path / TENSORS
    world, written_by = trainer.world, state.get("world_size", 1)
    if written_by != world.size:
        raise UserError(f"{checkpoint.path} was written by a run on {written_by} process(es): resume it with "
                        f"{written_by} (torchrun --nproc-per-node {written_by}), not {world.size}; the data shards, "
                        f"random states and carried states belong to that number")
    changed = {name: (old, getattr(trainer.config, name)) for name, old in state.get("config", {}).items()
               if name not in RESUMABLE_CHANGES and _differs(old, getattr(trainer.config, name, None))}
    if changed:
        warnings.warn(f"resuming {checkpoint.path} with changed settings {changed} (checkpoint, now): the run will "
                      f"not match an uninterrupted one", stacklevel=4)
    try:
        trainer.model.load_state_dict(check_and_expand(strip_prefix(tensors, "model/"), trainer.model, where=str(where)))
        optimizer_from_flat(trainer.optimizer, tensors, state["optimizer"])
        if world.rank == 0:
            restore_rng(tensors, state["rng"])
        else:
            restore_rng(tensors, state["ranks"][str(world.rank)]["rng"], f"ranks/{world.rank}/rng/")
            buffers = strip_prefix(tensors, f"ranks/{world.rank}/buffers/")
            if buffers.keys() != _buffers(trainer.model).keys():
                raise KeyError(f"ranks/{world.rank}/buffers/: {sorted(buffers)}")
            trainer.model.load_state_dict(buffers, strict=False)
        trainer.generator.set_state(tensors["data/generator"])
        trainer.order = tensors.get("data/order")
        trainer.epoch, trainer.step = state["epoch"], state["step"]
        trainer.batch_in_epoch, trainer.in_epoch = state["batch_in_epoch"], state["in_epoch"]
        trainer.epoch_loss_sum, trainer.epoch_sequences = state["epoch_loss_sum"], state["epoch_sequences"]
        trainer.seconds_before = state["epoch_seconds"]
        trainer.lr = state["lr"]
        trainer.monitor = Monitor(**state["monitor"])
        trainer.history = list(state["history"])
        best = strip_prefix(tensors, "best/")
        trainer.best_state = best or None
        if best:
            check_and_expand(best, trainer.model, where=f"{where} (best/)")
    except ModelFileError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError) as error:  # a checkpoint from another model or version
        raise ModelFileError(f"{checkpoint.path}: cannot resume from this checkpoint: "
                             f"{type(error).__name__}: {error}") from None
    if trainer.in_epoch and trainer.order is None:
        raise ModelFileError(f"{where}: mid-epoch checkpoint without data/order")


def _buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict's entries that are not parameters (tied aliases included among the parameters)."""
    parameters = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    return {name: tensor for name, tensor in model.state_dict().items() if name not in parameters}


def _differs(old: Any, new: Any) -> bool:
    # JSON turned tuples into lists
    return (list(new) if isinstance(new, tuple) else new) != old
