"""rnnkit: recurrent neural networks for sequence data. Batch-first everywhere.

    import rnnkit
    layer = rnnkit.nn.LSTM(input_size=8, hidden_size=64)       # drop-in for torch.nn.LSTM, batch first
    model = rnnkit.load("runs/demo/models/adding-lstm-100")    # any saved model folder, no pickle
    rnnkit.export(model, "deploy/model.onnx")                  # ONNX graphs with the state as inputs and outputs
"""

from rnnkit import nn
from rnnkit._version import __version__
from rnnkit.deploy import export
from rnnkit.errors import ModelFileError, UserError
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.pipelines.select import AutoClassifier, AutoForecaster
from rnnkit.tasks import (ImageCaptioner, LanguageModel, Seq2Seq, SequenceClassifier, SequenceRecognizer,
                          SequenceRegressor, SequenceTagger)
from rnnkit.train import TrainConfig, Trainer, load_model, save_model

load = load_model
save = save_model

__all__ = ["__version__", "nn", "load", "save", "export", "Trainer", "TrainConfig", "UserError", "ModelFileError",
           "Forecaster", "AutoForecaster", "ImageCaptioner", "LanguageModel", "Seq2Seq", "SequenceClassifier",
           "SequenceRecognizer", "SequenceRegressor", "SequenceTagger", "RNNClassifier", "RNNRegressor"]


def __getattr__(name: str):
    # scikit-learn is optional: the estimators are imported on first use.
    if name in ("RNNClassifier", "RNNRegressor"):
        from rnnkit.adapters import sklearn

        return getattr(sklearn, name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
