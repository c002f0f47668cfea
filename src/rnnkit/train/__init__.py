"""Training: the trainer, its config and callbacks, checkpoints, seeding, and model folders.

    from rnnkit.train import Trainer, TrainConfig, save_model, load_model

    result = Trainer(model, TrainConfig(max_epochs=20, checkpoint_dir="runs/x/ckpt")).fit(train, val)
    save_model(model, "runs/x/model")
    model = load_model("runs/x/model")

The same script started by ``torchrun --nproc-per-node N`` trains data parallel: see ``rnnkit.train.distributed``.
"""

from rnnkit.train.callbacks import AnnealWithin, Callback, TimeLimit
from rnnkit.train.checkpoint import (Checkpoint, average_checkpoints, checkpoint_folders, checkpoint_step,
                                     latest_checkpoint, read_checkpoint, trailing_averages)
from rnnkit.train.config import TrainConfig
from rnnkit.train.guard import NonFiniteError
from rnnkit.train.logs import JsonlLogger, TensorBoardLogger
from rnnkit.train.model_folder import load_model, read_model_config, save_model
from rnnkit.train.progress import ProgressBar, ProgressLines
from rnnkit.train.schedule import lr_factor
from rnnkit.train.seeding import seed_everything
from rnnkit.train.trainer import FitResult, Trainer

__all__ = [
    "AnnealWithin",
    "Callback",
    "TimeLimit",
    "Checkpoint",
    "FitResult",
    "JsonlLogger",
    "NonFiniteError",
    "ProgressBar",
    "ProgressLines",
    "TensorBoardLogger",
    "TrainConfig",
    "Trainer",
    "average_checkpoints",
    "trailing_averages",
    "checkpoint_folders",
    "checkpoint_step",
    "latest_checkpoint",
    "load_model",
    "lr_factor",
    "read_checkpoint",
    "read_model_config",
    "save_model",
    "seed_everything",
]
