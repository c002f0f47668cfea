"""``TrainConfig``: every training setting, typed, JSON-round-trippable (``rnnkit._config``), checked on creation."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Literal

from rnnkit.errors import UserError


@dataclasses.dataclass
class TrainConfig:
    """Training settings. ``TrainConfig(max_epochs=20, lr=3e-3, patience=3)``.

    Fields with a "help" in their metadata are the command line's training flags (``rnnkit.cli.flags``).

    Steps count optimizer updates: with ``accumulate_steps=k`` one step is ``k`` batches (the last group of an
    epoch may be shorter: it still makes a step, its losses averaged over the batches it has).
    """

    # length
    max_epochs: int = field(default=10, metadata={"help": "passes over the training data", "flag": "--epochs"})
    max_steps: int | None = field(default=None, metadata={
        "help": "stop after this many optimizer steps, even mid-epoch (none: no limit)"})
    # batches
    batch_size: int = field(default=32, metadata={
        "help": "sequences per batch (data parallel: the global batch, split between the processes)"})
    shuffle: bool = True  # a new permutation every epoch, drawn from the trainer's own generator
    drop_last: bool = False
    accumulate_steps: int = 1
    # optimizer: AdamW; weight decay only on matrices (dim >= 2), never on biases or norm gains (as nanoGPT)
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = field(default=1e-3, metadata={"help": "learning rate (AdamW)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay, on weight matrices only"})
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9  # sgd only
    # Recurrent nets have exploding gradients (Pascanu et al. 2013): clip the global norm by default.
    # 1.0 is the usual value for LSTM/GRU language models and forecasters; None turns clipping off.
    grad_clip: float | None = field(default=1.0, metadata={
        "help": "clip the gradients' global norm to this (none: no clipping)"})
    # learning-rate schedule: linear warm-up over warmup_steps, then constant, cosine or reduce-on-plateau
    schedule: Literal["constant", "cosine", "plateau"] = field(default="constant", metadata={
        "help": "learning-rate schedule after the warm-up"})
    warmup_steps: int = field(default=0, metadata={"help": "linear learning-rate warm-up over this many steps"})
    min_lr_ratio: float = 0.0  # cosine ends at lr * min_lr_ratio
    plateau_factor: float = 0.5  # plateau: lr *= factor after plateau_patience epochs without improvement
    plateau_patience: int = 2
    # monitoring, early stopping, best weights
    monitor: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    min_delta: float = 0.0  # an improvement must beat the best by more than this
    patience: int | None = field(default=None, metadata={
        "help": "stop after this many epochs without a better validation score (none: never)"})
    restore_best: bool = True  # at the end, load the weights of the best epoch (when the monitor was seen)
    # reproducibility and device
    seed: int = field(default=0, metadata={"help": "random seed: data split, initial weights, data order"})
    device: str = "auto"  # "auto": cuda if available, else cpu
    # checkpoints, logs, progress
    checkpoint_dir: str | None = None  # a checkpoint after every epoch (and every checkpoint_every_steps)
    checkpoint_every_steps: int | None = field(default=None, metadata={
        "help": "also checkpoint every this many steps within an epoch (none: at epoch ends only)"})
    keep_last: int = 3
    keep_epoch_ends: int = 0  # also keep the last N epochs' end checkpoints (for average_checkpoints)
    log_path: str | None = None  # JSON lines, one per epoch
    tensorboard_dir: str | None = None  # used only if tensorboard is installed, silently skipped otherwise
    progress: Literal["auto", "bar", "lines", "none"] = field(default="auto", metadata={
        "help": "training progress: a bar, lines, none, or auto (a bar on a terminal, lines otherwise)"})

    def __post_init__(self) -> None:
        positive = ["max_epochs", "batch_size", "accumulate_steps", "keep_last", "plateau_patience"]
        problems = [f"{name} must be >= 1, got {getattr(self, name)!r}" for name in positive
                    if not _is_int(getattr(self, name)) or getattr(self, name) < 1]
        for name in ["max_steps", "checkpoint_every_steps", "patience"]:
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                problems.append(f"{name} must be a positive integer or None, got {value!r}")
        if not _is_int(self.keep_epoch_ends) or self.keep_epoch_ends < 0:
            problems.append(f"keep_epoch_ends must be >= 0, got {self.keep_epoch_ends!r}")
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            problems.append(f"warmup_steps must be >= 0, got {self.warmup_steps!r}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            problems.append(f"grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if not 0 < self.plateau_factor < 1:
            problems.append(f"plateau_factor must be in (0, 1), got {self.plateau_factor!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            problems.append(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        for name, allowed in [("optimizer", ("adamw", "adam", "sgd")), ("schedule", ("constant", "cosine", "plateau")),
                              ("mode", ("min", "max")), ("progress", ("auto", "bar", "lines", "none"))]:
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if problems:
            raise UserError("TrainConfig: " + "; ".join(problems))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
