"""Model folders of format version 1 (rnnkit before the task redesign) load and predict as they did then.

The folders in ``data/model_folder_v1`` were written by the old code, one tiny model per task, with the
predictions it made (see the README there). Loading migrates the config (the recurrent settings nested in
``rnn``, the forecaster's config split) and renames the attention decoder's weights; saving again writes
version 2. The removed many-to-one task is refused, naming the version.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import ModelFileError
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.train import read_model_config
from rnnkit.train.migrate import migrate_weights

V1 = Path(__file__).parent / "data" / "model_folder_v1"
EXPECTED = json.loads((V1 / "predictions.json").read_text())
INPUTS = EXPECTED["inputs"]
X = [np.asarray(x, np.float32) for x in INPUTS["X"]]
X_RECOGNIZER = [np.asarray(x, np.float32) for x in INPUTS["Xr"]]


def close(actual, name):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(EXPECTED[name], np.float64),
                               rtol=1e-5, atol=1e-6)


def predictions(name, model):
    """What ``data/model_folder_v1/README.md``'s script recorded for the folder ``name``."""
    if name == "classifier":
        return model.predict_proba(INPUTS["texts"])
    if name == "regressor":
        return model.predict(X)
    if name == "tagger":
        return model.outputs(X)
    if name == "recognizer":
        return np.concatenate([values.reshape(-1) for values in model.log_probs(X_RECOGNIZER)])
    if name == "language_model":
        with torch.no_grad():
            return model(model.encode("hello").unsqueeze(0))[0]
    if name in ("seq2seq", "seq2seq_copy"):
        texts, details = model.translate(INPUTS["source"], beam=2 if name == "seq2seq" else 1,
                                         return_attention=True)
        assert name != "seq2seq" or texts == EXPECTED["seq2seq_text"]
        return details[0 if name == "seq2seq" else 1]["attention"]
    if name == "captioner":
        from captioning_data import make_shapes

        texts, details = model.caption(make_shapes(4, size=16, seed=0)[0], return_attention=True)
        assert texts == EXPECTED["captioner_text"]
        return details[0]["attention"][:2]
    raise AssertionError(name)


def expected(name):
    if name == "recognizer":
        return np.concatenate([np.asarray(v).reshape(-1) for v in EXPECTED[name]])
    return EXPECTED[name]


MODELS = ["classifier", "regressor", "tagger", "recognizer", "language_model", "seq2seq", "seq2seq_copy",
          "captioner"]


@pytest.mark.parametrize("name", MODELS)
def test_a_version_1_folder_loads_and_predicts_as_it_did(tmp_path, name):
    assert json.loads((V1 / name / "config.json").read_text())["format_version"] == 1
    model = rnnkit.load(V1 / name)
    np.testing.assert_allclose(np.asarray(predictions(name, model), np.float64),
                               np.asarray(expected(name), np.float64), rtol=1e-5, atol=1e-6)
    rnnkit.save(model, tmp_path / "v2")  # saving writes the current version, and it reads back the same
    assert json.loads((tmp_path / "v2" / "config.json").read_text())["format_version"] == 2
    again = rnnkit.load(tmp_path / "v2")
    assert again.config == model.config
    for (key, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), key


def test_migrated_configs_nest_the_recurrent_settings():
    seq2seq = read_model_config(V1 / "seq2seq")["config"]
    assert seq2seq["encoder"]["rnn"] == {"cell": "gru", "hidden_size": 4, "num_layers": 1, "bidirectional": True,
                                         "dropout": 0.1}
    assert seq2seq["decoder"]["rnn"] == {"cell": "gru", "hidden_size": 5, "num_layers": 2, "dropout": 0.1}
    assert "hidden_size" not in seq2seq["encoder"] and "cell" not in seq2seq["decoder"]
    language_model = rnnkit.load(V1 / "language_model").config
    assert (language_model.rnn.cell, language_model.rnn.hidden_size, language_model.rnn.num_layers) == ("gru", 5, 2)
    assert rnnkit.load(V1 / "classifier").config.encoder.rnn.bidirectional


def test_decoder_cells_become_the_layers_weights():
    tensors = {"decoder.cells.1.weight_ih": torch.zeros(1), "decoder.cells.0.bias_hh": torch.ones(1),
               "encoder.rnn.weight_ih_l0": torch.zeros(2)}
    assert sorted(migrate_weights("seq2seq", tensors)) == ["decoder.rnn.bias_hh_l0", "decoder.rnn.weight_ih_l1",
                                                           "encoder.rnn.weight_ih_l0"]
    assert migrate_weights("language-model", tensors) is tensors


def test_a_version_1_forecaster_splits_its_config_and_forecasts_as_before(tmp_path):
    forecaster = Forecaster.load(V1 / "forecaster")
    close(forecaster.predict()["forecast"].to_numpy(), "forecaster")
    config = forecaster.config
    assert (config.model.rnn.hidden_size, config.model.rnn.num_layers, config.model.decoder) == (3, 2,
                                                                                                 "autoregressive")
    assert (config.train.max_steps, config.train.lr, config.lookback, config.horizon) == (2, 0.003, 6, 3)
    assert forecaster.model.config.network == config.model
    forecaster.save(tmp_path / "v2")
    close(Forecaster.load(tmp_path / "v2").predict()["forecast"].to_numpy(), "forecaster")


def test_the_removed_many_to_one_task_is_refused_naming_the_version(tmp_path):
    with pytest.raises(ModelFileError, match=r"'many-to-one' model of format_version 1; that task was removed in "
                                             r"format_version 2: retrain it as a SequenceClassifier"):
        rnnkit.load(V1 / "many_to_one")
    shutil.copytree(V1 / "many_to_one", tmp_path / "m")  # nothing on disk changes
    before = (tmp_path / "m" / "config.json").read_bytes()
    with pytest.raises(ModelFileError):
        rnnkit.load(tmp_path / "m")
    assert (tmp_path / "m" / "config.json").read_bytes() == before


def test_a_version_1_checkpoint_is_refused_naming_the_version(tmp_path):
    from rnnkit.train.checkpoint import read_checkpoint, write_checkpoint

    path = write_checkpoint(tmp_path, 5, {"model/w": torch.zeros(2)}, {"epoch": 1}, keep_last=1)
    document = json.loads((path / "state.json").read_text())
    (path / "state.json").write_text(json.dumps({**document, "format_version": 1}))
    with pytest.raises(ModelFileError, match="checkpoint format_version 1, this rnnkit reads 2; start the training "
                                             "again"):
        read_checkpoint(path)
