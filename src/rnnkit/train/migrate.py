"""Model folders written by an earlier rnnkit, brought to the current format when they are loaded.

Format version 1 -> 2 (the task redesign: one ``RecurrentConfig`` nested in every task config):

- each recurrent stack's settings (``cell``, ``hidden_size``, ``num_layers``, ``bidirectional``, ``dropout``)
  move into one nested ``"rnn"``: the sequence encoder's (classification, regression, tagging, recognition,
  seq2seq), the attention decoder's (seq2seq, captioning), the language model's and the forecaster's;
- forecasting: the network's settings move into ``"network"``; the ``Forecaster``'s own config (kept in
  ``extra.forecaster``) splits into its columns and time, ``"model"`` (the network) and ``"train"``;
- the attention decoder's cells became one recurrent layer: ``decoder.cells.{i}.weight_ih`` is now
  ``decoder.rnn.weight_ih_l{i}`` (``weight_hh``, ``bias_ih``, ``bias_hh`` alike);
- the ``many-to-one`` task was removed: such a folder is refused, naming the version.

Only the layout changes: every number is kept, so a migrated model predicts exactly as it did. Nothing on disk is
rewritten; saving the loaded model writes the current version.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from rnnkit.errors import ModelFileError

RNN_KEYS = ("cell", "hidden_size", "num_layers", "bidirectional", "dropout")
SEQUENCE_TASKS = ("sequence-classification", "sequence-regression", "sequence-tagging", "sequence-recognition")
DECODER_TASKS = ("seq2seq", "captioning")
FORECAST_NETWORK_KEYS = ("decoder", "output", "quantiles", "loss", "skip", "step_embedding")
# ForecasterConfig (version 1) -> TrainConfig: the training settings it re-declared
FORECASTER_TRAIN_KEYS = {"steps": "max_steps", "batch_size": "batch_size", "lr": "lr",
                         "weight_decay": "weight_decay", "patience": "patience", "seed": "seed",
                         "progress": "progress", "device": "device"}
_DECODER_CELL = re.compile(r"^decoder\.cells\.(\d+)\.(weight_ih|weight_hh|bias_ih|bias_hh)$")


def migrate_config(document: dict[str, Any], where: str) -> dict[str, Any]:
    """A version-1 ``config.json`` document in the version-2 layout (a new dict; ``document`` is unchanged)."""
    task, config, extra = document.get("task"), document.get("config"), document.get("extra") or {}
    if task == "many-to-one":
        raise ModelFileError(f"{where}: a 'many-to-one' model of format_version 1; that task was removed in "
                             "format_version 2: retrain it as a SequenceClassifier or SequenceRegressor "
                             "(their configs now reach layer_norm, recurrent_dropout and chrono_lag)")
    if not isinstance(config, dict):
        return {**document, "format_version": 2}  # load_model reports what is wrong with it
    config = dict(config)
    if task in SEQUENCE_TASKS or task == "seq2seq":
        config["encoder"] = _nest_rnn(config.get("encoder"))
    if task in DECODER_TASKS:
        config["decoder"] = _nest_rnn(config.get("decoder"))
    if task == "language-model":
        config = _nest_rnn(config)
    if task == "forecasting":
        config = _move(config, FORECAST_NETWORK_KEYS, "network")
        config["network"] = _nest_rnn(config["network"], source=config)
        if isinstance(extra.get("forecaster"), dict):
            extra = {**extra, "forecaster": _forecaster(extra["forecaster"])}
    return {**document, "format_version": 2, "config": config, "extra": extra}


def migrate_weights(task: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Version-1 weights under their version-2 names (the attention decoder's cells -> one layer)."""
    if task not in DECODER_TASKS:
        return tensors
    renamed = {}
    for name, tensor in tensors.items():
        match = _DECODER_CELL.match(name)
        renamed[f"decoder.rnn.{match.group(2)}_l{match.group(1)}" if match else name] = tensor
    return renamed


def _nest_rnn(config: Any, source: dict[str, Any] | None = None) -> Any:
    """``config`` with the recurrent keys (taken from ``source``, default ``config``) moved into ``"rnn"``."""
    if not isinstance(config, dict):
        return config
    source = config if source is None else source
    rnn = {key: source.pop(key) for key in RNN_KEYS if key in source}
    return {**config, "rnn": rnn}


def _move(config: dict[str, Any], keys: tuple[str, ...], into: str) -> dict[str, Any]:
    """``config`` with ``keys`` moved into the nested dict ``into``."""
    return {**{k: v for k, v in config.items() if k not in keys}, into: {k: config[k] for k in keys if k in config}}


def _forecaster(values: dict[str, Any]) -> dict[str, Any]:
    """A version-1 ``ForecasterConfig`` (one flat dict) as columns and time, ``model`` and ``train``."""
    values = dict(values)
    train = {new: values.pop(old) for old, new in FORECASTER_TRAIN_KEYS.items() if old in values}
    model = {key: values.pop(key) for key in ("decoder", "output", "quantiles", "skip") if key in values}
    model["rnn"] = {key: values.pop(key) for key in RNN_KEYS if key in values}
    return {**values, "model": model, "train": train}
