"""``RecurrentConfig``: defaults, validation as UserError naming the field, and ``make_recurrent`` honouring it."""

import dataclasses
import math

import pytest
import torch

import rnnkit.nn as rn
from rnnkit._config import config_from_dict, config_to_dict
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig, make_recurrent
from rnnkit.nn.init import chrono_init_


def test_defaults():
    config = RecurrentConfig()
    assert config_to_dict(config) == {
        "cell": "lstm", "hidden_size": 64, "num_layers": 1, "bidirectional": False, "dropout": 0.0,
        "recurrent_dropout": 0.0, "layer_norm": False, "chrono_lag": 0, "impl": "auto", "precision": "fp32"}
    assert (config.directions, config.output_size) == (1, 64)
    assert RecurrentConfig(hidden_size=8, bidirectional=True).output_size == 16


def test_every_field_has_help_and_closed_fields_list_their_choices():
    """The CLI generates its flags from these: one help text per field, choices where the values are fixed."""
    fields = {f.name: f for f in dataclasses.fields(RecurrentConfig)}
    assert all(f.metadata.get("help") for f in fields.values())
    assert fields["cell"].metadata["choices"] == ("rnn", "lstm", "gru", "mingru", "minlstm")
    assert fields["impl"].metadata["choices"] == ("auto", "fused", "extension", "reference")
    assert fields["precision"].metadata["choices"] == ("fp32", "bf16-mixed")  # int8: set on a trained model


@pytest.mark.parametrize("values,field", [
    ({"cell": "cnn"}, "cell"),
    ({"hidden_size": 0}, "hidden_size"),
    ({"hidden_size": 2.5}, "hidden_size"),
    ({"hidden_size": True}, "hidden_size"),
    ({"num_layers": 0}, "num_layers"),
    ({"dropout": 1.0}, "dropout"),
    ({"dropout": -0.1}, "dropout"),
    ({"recurrent_dropout": 1.0}, "recurrent_dropout"),
    ({"chrono_lag": 2}, "chrono_lag"),
    ({"chrono_lag": -5}, "chrono_lag"),
    ({"chrono_lag": 10, "cell": "rnn"}, "chrono_lag"),
    ({"impl": "cuda"}, "impl"),
    ({"impl": "fused", "layer_norm": True}, "impl"),
    ({"impl": "fused", "recurrent_dropout": 0.2}, "impl"),
])
def test_validation_names_the_field(values, field):
    with pytest.raises(UserError, match=rf"^RecurrentConfig: {field}\b"):
        RecurrentConfig(**values)


def test_every_problem_is_reported_at_once():
    with pytest.raises(UserError, match=r"cell must be one of .*; hidden_size must be .*; dropout must be"):
        RecurrentConfig(cell="cnn", hidden_size=0, dropout=2.0)


def test_dicts_round_trip_and_unknown_keys_are_refused():
    config = RecurrentConfig(cell="gru", hidden_size=32, num_layers=2, chrono_lag=50)
    assert config_from_dict(RecurrentConfig, config_to_dict(config)) == config
    with pytest.raises(UserError, match=r"unknown key\(s\) \['hidden'\] for RecurrentConfig"):
        config_from_dict(RecurrentConfig, {"cell": "gru", "hidden": 32})
    with pytest.raises(UserError, match="hidden_size must be an integer >= 1, got 0"):
        config_from_dict(RecurrentConfig, {"hidden_size": 0})


def test_require_refuses_what_a_model_cannot_honour_and_names_it():
    RecurrentConfig().require(unidirectional=True, cells=("lstm", "gru"), no_recurrent_dropout=True, where="x")
    with pytest.raises(UserError, match="the decoder runs one step at a time and cannot be bidirectional"):
        RecurrentConfig(bidirectional=True).require(unidirectional=True, where="the decoder")
    with pytest.raises(UserError, match="the decoder supports cell lstm or gru, got 'rnn'"):
        RecurrentConfig(cell="rnn").require(cells=("lstm", "gru"), where="the decoder")
    with pytest.raises(UserError, match="the decoder steps through time .* recurrent_dropout is not supported"):
        RecurrentConfig(recurrent_dropout=0.1).require(no_recurrent_dropout=True, where="the decoder")


@pytest.mark.parametrize("cell,cls,mode", [
    ("rnn", rn.RNN, "RNN_TANH"), ("lstm", rn.LSTM, "LSTM"), ("gru", rn.GRU, "GRU")])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_make_recurrent_builds_the_configured_layer(cell, cls, mode, bidirectional):
    config = RecurrentConfig(cell=cell, hidden_size=6, num_layers=2, bidirectional=bidirectional)
    layer = make_recurrent(config, input_size=3)
    assert type(layer) is cls and layer.mode == mode
    assert (layer.input_size, layer.hidden_size, layer.num_layers) == (3, 6, 2)
    assert layer.bidirectional is bidirectional and layer.batch_first
    output, _ = layer(torch.randn(2, 5, 3))  # batch first: (B, T, I) -> (B, T, output_size)
    assert output.shape == (2, 5, config.output_size)


def test_make_recurrent_passes_layer_norm_recurrent_dropout_and_impl():
    layer = make_recurrent(RecurrentConfig(cell="gru", layer_norm=True, recurrent_dropout=0.25, impl="reference"), 3)
    assert layer.layer_norm and layer.recurrent_dropout == 0.25 and layer.impl == "reference"
    assert "norm_ih_weight_l0" in dict(layer.named_parameters())
    layer(torch.randn(1, 2, 3))
    assert layer.fast_path_reason == "impl='reference' was requested"
    plain = make_recurrent(RecurrentConfig(impl="fused"), 3)
    assert plain.impl == "fused" and not plain.layer_norm and plain.recurrent_dropout == 0.0
    assert not any(name.startswith("norm_") for name, _ in plain.named_parameters())


def test_make_recurrent_puts_dropout_only_between_layers():
    """A single layer has nothing between layers: the stack's dropout is the task model's to apply."""
    assert make_recurrent(RecurrentConfig(dropout=0.3), 3).dropout == 0.0
    stacked = make_recurrent(RecurrentConfig(dropout=0.3, num_layers=2), 3)
    assert stacked.dropout == 0.3
    x = torch.randn(4, 5, 3)
    stacked.eval()
    assert torch.equal(stacked(x)[0], stacked(x)[0])
    stacked.train()
    assert not torch.equal(stacked(x)[0], stacked(x)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chrono_lag_sets_the_gate_biases_as_chrono_init_does(cell):
    torch.manual_seed(7)
    chrono = make_recurrent(RecurrentConfig(cell=cell, hidden_size=16, num_layers=2, chrono_lag=50), 3)
    torch.manual_seed(7)
    by_hand = chrono_init_(make_recurrent(RecurrentConfig(cell=cell, hidden_size=16, num_layers=2), 3), 50)
    for name, tensor in by_hand.state_dict().items():
        assert torch.equal(chrono.state_dict()[name], tensor), name
    torch.manual_seed(7)
    default = make_recurrent(RecurrentConfig(cell=cell, hidden_size=16, num_layers=2), 3)
    gates = 4 if cell == "lstm" else 3
    keep = chrono.bias_ih_l1.chunk(gates)[1]  # LSTM forget gate f, GRU update gate z
    assert not torch.equal(keep, default.bias_ih_l1.chunk(gates)[1])
    assert keep.min() >= 0 and keep.max() <= math.log(49) + 1e-6
    assert torch.equal(chrono.weight_hh_l0, default.weight_hh_l0)  # only biases change
