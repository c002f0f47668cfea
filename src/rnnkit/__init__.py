"""rnnkit: recurrent neural networks for sequence data. Batch-first everywhere.

    import rnnkit
    layer = rnnkit.nn.LSTM(input_size=8, hidden_size=64)       # drop-in for torch.nn.LSTM, batch first
    model = rnnkit.load("runs/demo/models/lstm-adding-50")     # any saved model folder, no pickle
"""

from rnnkit import nn
from rnnkit._version import __version__
from rnnkit.errors import ModelFileError, UserError
from rnnkit.train import TrainConfig, Trainer, load_model, save_model

load = load_model
save = save_model

__all__ = ["__version__", "nn", "load", "save", "Trainer", "TrainConfig", "UserError", "ModelFileError"]
