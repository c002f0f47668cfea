"""A small, model-agnostic trainer (in the spirit of minGPT's ``trainer.py``): the model supplies its loss.

    trainer = Trainer(model, TrainConfig(max_epochs=20, lr=3e-3, patience=3, checkpoint_dir="runs/x/ckpt"))
    result = trainer.fit(train_data, val_data)             # map-style datasets: len() and [i]
    result = trainer.fit(train_data, val_data, resume=True)  # after a crash: continue exactly where it was

The model needs ``loss(batch) -> scalar Tensor`` and may have ``evaluate_batch(batch) -> dict[str, float]``
(default: ``{"loss": loss(batch)}``), and ``evaluate_summary(means) -> dict[str, float]`` for a metric that is not
a mean over batches (corpus BLEU: from averaged n-gram counts). Batches are ``collate_fn([data[i] for i in
indices])``.

Determinism: a fresh ``fit`` seeds python, numpy and torch with ``config.seed`` (after your model was built: seed
before building it too, e.g. with ``seed_everything``), and draws the data order from its own generator. On CPU
the same seed gives bit-identical weights, and a resumed run the same weights as an uninterrupted one; GPUs are
another matter, see ``rnnkit.train.seeding``.

Many processes: started by torchrun, the same script trains data parallel (``Trainer(..., distributed=None)``
joins when torchrun's environment says so); ``config.batch_size`` is then the global batch, and N processes take
one process's steps. See ``rnnkit.train.distributed``. Every rank runs ``fit`` (and ``evaluate``) and gets the
same ``FitResult``; save models and write reports on ``trainer.world.is_main`` only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch.utils.data import default_collate

from rnnkit import _smoke
from rnnkit.errors import ModelFileError, UserError
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.callbacks import call_hook
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import batch_rows, data_parallel, join
from rnnkit.train.guard import check_grad_norm, check_loss
from rnnkit.train.logs import JsonlLogger, TensorBoardLogger
from rnnkit.train.progress import make_progress
from rnnkit.train.schedule import Monitor, lr_factor
from rnnkit.train.seeding import seed_everything
from rnnkit.train.state import rank_state, restore_trainer, trainer_state
from rnnkit.train.tensor_io import check_and_expand, to_saveable


@dataclasses.dataclass
class FitResult:
    """``history``: one dict per epoch (epoch, step, train_loss, val_* metrics, lr, seconds, sequences_per_s).
    ``stopped_reason``: ``"max_epochs"``, ``"max_steps"``, ``"early_stopping"`` or ``"callback"``."""

    history: list[dict[str, Any]]
    best_metric: float | None
    best_epoch: int | None
    stopped_reason: str


class Trainer:
    """Trains ``model`` with ``config``; ``callbacks`` are objects with optional ``on_*`` hooks (see callbacks).

    ``distributed``: None joins the process group when torchrun started this process with WORLD_SIZE > 1 (or one
    is already initialised), False trains alone, True requires a group. The launch, not the recipe, decides how
    many processes run, so this is an argument and not a ``TrainConfig`` setting; a checkpoint records the number.
    """

    def __init__(self, model: torch.nn.Module, config: TrainConfig | None = None, callbacks: Sequence[Any] = (), *,
                 distributed: bool | None = None):
        # RNNKIT_SMOKE (rnnkit._smoke): one epoch of a few steps, a check that the code runs
        self.config = config = _smoke.train_config(config if config is not None else TrainConfig())
        self.world, self.device = join(distributed, config.device)
        self.model = model.to(self.device)
        self.optimizer = _make_optimizer(model, config)
        # the loss through DistributedDataParallel's forward (it all-reduces the gradients), or the model's own
        self.ddp = data_parallel(model, self.world) if self.world.active else None
        self.callbacks = list(callbacks)
        self.generator = torch.Generator()  # the data order, independent of the model's random numbers
        self.monitor = Monitor(config.mode, config.min_delta)
        self.best_state: dict[str, torch.Tensor] | None = None  # best weights (CPU, ties stored once)
        self.history: list[dict[str, Any]] = []
        self.epoch = self.step = self.batch_in_epoch = self.batches_per_epoch = self.total_steps = 0
        self.in_epoch = False  # True between an epoch's first batch and its record (mid-epoch checkpoints)
        self.order: torch.Tensor | None = None  # this epoch's permutation of the training indices
        self.epoch_loss_sum, self.epoch_sequences, self.seconds_before = 0.0, 0, 0.0
        self.epoch_first_batch, self._epoch_clock = 0, time.monotonic()
        self.last_loss, self.last_batch_size, self.lr = math.nan, 0, config.lr
        self.should_stop = self.resumed = False

    @property
    def epoch_loss(self) -> float:
        """Mean training loss per sequence over this epoch so far."""
        return self.epoch_loss_sum / self.epoch_sequences if self.epoch_sequences else math.nan

    @property
    def epoch_seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self._epoch_clock

    def fit(self, train_data: Any, val_data: Any = None, collate_fn: Callable | None = None, *,
            resume: bool | str | Path = False) -> FitResult:
        """Train; ``resume=True`` continues from the latest intact checkpoint in ``config.checkpoint_dir`` (or
        starts fresh if it holds none), ``resume=path`` from that checkpoint folder or checkpoint directory."""
        if self.history or self.step:  # counters, generator and monitor would carry over half-way: refuse
            raise UserError("this Trainer has already run fit(); build a new Trainer (use resume= to continue a run)")
        if any(getattr(module, "precision", None) == "int8" for module in self.model.modules()):
            raise UserError("precision='int8' runs inference only: train at 'fp32' or 'bf16-mixed', then switch the "
                            "trained model with rnnkit.nn.set_precision(model, 'int8')")
        config, collate, world = self.config, collate_fn or default_collate, self.world
        count = len(train_data)
        part = _shard(train_data, world)
        self.batches_per_epoch = count // config.batch_size if config.drop_last else -(-count // config.batch_size)
        if self.batches_per_epoch == 0:
            raise UserError(f"train_data has {count} items: not one batch of batch_size={config.batch_size}")
        self.total_steps = self.steps_for(config.max_epochs)
        if val_data is None and config.monitor != "train_loss" and (config.patience or config.schedule == "plateau"):
            raise UserError(f"monitor={config.monitor!r} (for patience/plateau) needs val_data, or use "
                            f"monitor='train_loss'")
        if part is None and world.active and config.batch_size < world.size:
            raise UserError(f"batch_size={config.batch_size} is the global batch, split between {world.size} "
                            f"processes: it needs at least one item per process")
        if part is not None and batch_rows(collate([part[0]])) == 0:
            raise UserError(f"the training batches have fewer rows than the {world.size} processes")
        self._start(resume)
        reporters = [make_progress(config.progress)] if world.is_main else []  # progress and logs: rank 0 only
        reporters += [JsonlLogger(config.log_path)] if config.log_path and world.is_main else []
        reporters += [TensorBoardLogger(config.tensorboard_dir)] if config.tensorboard_dir and world.is_main else []
        reporters = [reporter for reporter in reporters if reporter is not None]
        callbacks = reporters + self.callbacks
        try:
            call_hook(callbacks, "on_fit_start", self)
            while (reason := self._stop_reason()) is None:
                if not self.in_epoch:
                    self._begin_epoch(count)
                self._epoch_clock, self.epoch_first_batch = time.monotonic(), self.batch_in_epoch
                call_hook(callbacks, "on_epoch_start", self)
                self._train_epoch(train_data if part is None else part, part is not None, collate, callbacks)
                self._end_epoch(val_data, collate, callbacks)
            if config.restore_best and self.best_state is not None:
                self.model.load_state_dict(check_and_expand(self.best_state, self.model, where="best weights"))
            call_hook(callbacks, "on_fit_end", self)
        except Exception as error:
            if world.active:  # torchrun stops the other ranks; say which one failed, and why
                print(f"rnnkit: rank {world.rank} of {world.size} failed: {type(error).__name__}: {error}",
                      file=sys.stderr, flush=True)
            raise
        finally:
            for reporter in reporters:  # end a progress bar's line, close TensorBoard, even on an error
                getattr(reporter, "close", lambda: None)()
        return FitResult(self.history, self.monitor.best, self.monitor.best_epoch, reason)

    def steps_for(self, epochs: int) -> int:
        """Optimizer steps in ``epochs`` epochs, at most ``max_steps``: the horizon of a cosine schedule."""
        steps_per_epoch = -(-self.batches_per_epoch // self.config.accumulate_steps)
        return min(steps_per_epoch * epochs, self.config.max_steps or math.inf)

    @torch.no_grad()
    def evaluate(self, data: Any, collate_fn: Callable | None = None) -> dict[str, float]:
        """``model.evaluate_batch`` over ``data`` in eval mode, averaged weighted by batch size (keys unprefixed),
        then through ``model.evaluate_summary`` when the model has one.

        Many processes (every rank calls it): whole batches go round the ranks (or, for data with ``shard``,
        each rank takes its rows of every batch, weighted by them), and the sums are all-reduced."""
        collate, size, world = collate_fn or default_collate, self.config.batch_size, self.world
        if len(data) == 0:
            raise UserError("evaluate: the dataset is empty")
        evaluate = getattr(self.model, "evaluate_batch", None) or (lambda batch: {"loss": self.model.loss(batch)})
        part = _shard(data, world)
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        total = 0.0
        for number, start in enumerate(range(0, len(data), size)):
            if part is None and number % world.size != world.rank:
                continue
            items = [(data if part is None else part)[i] for i in range(start, min(start + size, len(data)))]
            batch = collate(items)
            weight = len(items) * (1 if part is None else batch_rows(batch))
            if weight == 0:  # fewer rows than ranks: this rank has none
                continue
            for name, value in evaluate(_to_device(batch, self.device)).items():
                sums[name] = sums.get(name, 0.0) + float(value) * weight
            total += weight
        self.model.train(was_training)
        if world.active:  # rank 0 always has the first batch, so its names are everyone's
            names = world.from_main(lambda: list(sums))
            *values, total = world.sum([sums.get(name, 0.0) for name in names] + [total])
            sums = dict(zip(names, values))
        means = {name: value / total for name, value in sums.items()}
        summary = getattr(self.model, "evaluate_summary", None)
        return summary(means) if summary else means

    def _start(self, resume: bool | str | Path) -> None:
        directory = self.config.checkpoint_dir
        found = self.world.from_main(lambda: _find_checkpoint(directory, resume))  # rank 0 reads, all restore
        if found is None:
            seed_everything(self.config.seed + self.world.rank)  # each rank its own dropout; rank 0 as one process
            self.generator.manual_seed(self.config.seed)  # the data order: the same on every rank
            return
        restore_trainer(self, found)
        self.resumed = True
        if directory is not None and self.world.is_main:  # newer checkpoints belong to the run we abandon
            ckpt.supersede_newer(directory, found.step)

    def _stop_reason(self) -> str | None:
        config = self.config
        if self.should_stop:
            return "callback"
        if config.patience is not None and self.monitor.bad_epochs >= config.patience:
            return "early_stopping"
        if config.max_steps is not None and self.step >= config.max_steps:
            return "max_steps"
        if self.epoch >= config.max_epochs and not self.in_epoch:
            return "max_epochs"
        return None

    def _begin_epoch(self, count: int) -> None:
        self.epoch += 1
        self.order = torch.randperm(count, generator=self.generator) if self.config.shuffle else torch.arange(count)
        self.batch_in_epoch, self.in_epoch = 0, True
        self.epoch_loss_sum, self.epoch_sequences, self.seconds_before = 0.0, 0, 0.0

    def _train_epoch(self, data: Any, sharded: bool, collate: Callable, callbacks: list[Any]) -> None:
        """``data``: the training set, or (``sharded``) this rank's share of every whole-batch item."""
        config, batches, world = self.config, self.batches_per_epoch, self.world
        size, accumulate = config.batch_size, config.accumulate_steps
        self.model.train()
        for index in range(self.batch_in_epoch, batches):
            group_start = index - index % accumulate
            group_size = min(accumulate, batches - group_start)  # the epoch's last group may be shorter
            if index == group_start:
                self.optimizer.zero_grad(set_to_none=True)
            indices = self.order[index * size:(index + 1) * size]
            mine, real = (indices.tolist(), True) if sharded else world.split(indices)
            batch = _to_device(collate([data[i] for i in mine]), self.device)
            syncing = self.ddp is None or index + 1 - group_start == group_size  # DDP: all-reduce once a group
            with contextlib.nullcontext() if syncing else self.ddp.no_sync():
                loss = self.model.loss(batch) if self.ddp is None else self.ddp(batch)
                if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                    raise UserError(f"model.loss(batch) must return a scalar tensor, got {_describe(loss)}")
                # float() waits for the device each batch: the price of catching a NaN within one step
                self.last_loss, scale = self._global_loss(loss, batch, real)
                self.last_batch_size = len(indices)
                check_loss(self.last_loss, epoch=self.epoch, step=self.step + 1, batch=index + 1, batches=batches,
                           lr=self.lr)
                (loss * scale / group_size).backward()  # scale: 1.0 (exact) in one process
            self.epoch_loss_sum += self.last_loss * len(indices)
            self.epoch_sequences += len(indices)
            self.batch_in_epoch = index + 1
            if index + 1 - group_start == group_size:
                self._optimizer_step()
                done = index + 1 == batches or (config.max_steps is not None and self.step >= config.max_steps)
                every = config.checkpoint_every_steps
                if config.checkpoint_dir and every and self.step % every == 0 and not done:
                    self._save_checkpoint()  # the epoch's end writes its own, after validation
            call_hook(callbacks, "on_batch_end", self)
            if world.active:  # a callback's stop (on any rank: callbacks may differ by rank) stops every rank
                self.should_stop = world.any(self.should_stop)
            if self.should_stop or (config.max_steps is not None and self.step >= config.max_steps):
                break

    def _global_loss(self, loss: torch.Tensor, batch: Any, real: bool) -> tuple[float, float]:
        """(the loss over the global batch, the factor on this rank's loss before backward): N w_r / W."""
        local = float(loss.detach())
        if not self.world.active:
            return local, 1.0
        loss_weight = getattr(self.model, "loss_weight", None)  # a loss averaged over tokens, not rows
        weight = 0.0 if not real else float(loss_weight(batch)) if loss_weight else float(batch_rows(batch))
        total_weight, total = self.world.sum([weight, weight * local if weight else 0.0])
        return total / total_weight, self.world.size * weight / total_weight

    def _optimizer_step(self) -> None:
        config = self.config
        parameters = [p for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
        if config.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
        check_grad_norm(float(norm), epoch=self.epoch, step=self.step + 1, batch=self.batch_in_epoch,
                        batches=self.batches_per_epoch, lr=self.lr, grad_clip=config.grad_clip)
        self.lr = config.lr * self.monitor.lr_scale * lr_factor(
            config.schedule, self.step, warmup_steps=config.warmup_steps, total_steps=self.total_steps,
            min_lr_ratio=config.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        self.optimizer.step()
        self.step += 1

    def _end_epoch(self, val_data: Any, collate: Callable, callbacks: list[Any]) -> None:
        config = self.config
        train_seconds = self.epoch_seconds
        record: dict[str, Any] = {"epoch": self.epoch, "step": self.step, "train_loss": self.epoch_loss}
        if val_data is not None:
            record.update({f"val_{name}": value for name, value in self.evaluate(val_data, collate).items()})
        record.update(lr=self.lr, seconds=self.epoch_seconds,
                      sequences_per_s=self.epoch_sequences / max(train_seconds, 1e-9))
        if config.monitor in record:
            if self.monitor.update(float(record[config.monitor]), self.epoch) and config.restore_best:
                self.best_state = to_saveable(self.model.state_dict())
            if config.schedule == "plateau":
                self.monitor.plateau_step(config.plateau_factor, config.plateau_patience)
        elif config.patience or config.schedule == "plateau":
            raise UserError(f"monitor={config.monitor!r} is not among the epoch's metrics {sorted(record)}")
        self.history.append(record)
        self.in_epoch = False
        call_hook(callbacks, "on_epoch_end", self)
        if config.checkpoint_dir:
            self._save_checkpoint()

    def _save_checkpoint(self) -> None:
        ranks = self.world.gather(rank_state(self))  # every rank's random states and buffers, on rank 0
        if ranks is None:
            return
        tensors, state = trainer_state(self, ranks)
        epoch_ends = [record["step"] for record in self.history[-self.config.keep_epoch_ends:]] \
            if self.config.keep_epoch_ends else []
        ckpt.write_checkpoint(self.config.checkpoint_dir, self.step, tensors, state, keep_last=self.config.keep_last,
                              keep_steps=epoch_ends)


def _find_checkpoint(directory: str | None, resume: bool | str | Path) -> ckpt.Checkpoint | None:
    if resume is True and directory is None:
        raise UserError("resume=True needs config.checkpoint_dir (or pass resume=<checkpoint path>)")
    if resume is True:
        return ckpt.latest_checkpoint(directory)
    if resume:
        path = Path(resume)
        found = ckpt.read_checkpoint(path) if (path / ckpt.STATE).exists() else ckpt.latest_checkpoint(path)
        if found is None:
            raise ModelFileError(f"{path}: no checkpoint there to resume from")
        return found
    if directory is not None and ckpt.checkpoint_folders(directory):
        raise UserError(f"{directory} holds checkpoints of an earlier run: pass resume=True to continue it, "
                        f"or use an empty checkpoint_dir")
    return None


def _shard(data: Any, world: Any) -> Any:
    """This rank's share of a data set whose items are whole batches (``data.shard``); None for item data."""
    return data.shard(world.rank, world.size) if world.active and hasattr(data, "shard") else None


def _make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # Weight decay on matrices only: decaying biases and norm gains only hurts (as minGPT/nanoGPT do).
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise UserError(f"{type(model).__name__} has no trainable parameters")
    groups = [{"params": [p for p in trainable if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0}]
    groups = [group for group in groups if group["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    optimizer = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    # The fused kernel updates every tensor in one pass: on a CPU PyTorch's default is one tensor at a time, 8x
    # slower (a 20,000-word embedding: 12 ms a step against 1.6 ms), a third of a text classifier's epoch.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in trainable)
    return optimizer(groups, lr=config.lr, betas=tuple(config.betas), fused=fused)


def _to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) tuple, list or dict batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(_to_device(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(value, device) for value in batch)
    return batch


def _describe(value: Any) -> str:
    return f"a tensor of shape {list(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
