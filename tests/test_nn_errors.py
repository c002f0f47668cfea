"""Misuse gets an error that names the problem; options that need the reference path say so."""

import pytest
import torch

import rnnkit.nn as rn


@pytest.fixture
def lstm():
    return rn.LSTM(3, 4, num_layers=2)


@pytest.mark.parametrize("x,lengths,match", [
    (torch.randn(2, 5, 3, 1), None, "rank 3"),
    (torch.randn(2, 5, 6), None, "expected 3 input features"),
    (torch.randn(2, 5, 3), [5, 6], "must be <= the sequence dimension 5; sequence 1 has length 6"),
    (torch.randn(2, 5, 3), [0, 5], "must be >= 1; sequence 0 has length 0"),
    (torch.randn(2, 5, 3), [5], r"lengths must have shape \(2,\)"),
    (torch.randn(2, 5, 3), [2.0, 3.0], "must be integers"),
    (torch.randn(2, 0, 3), None, "no time steps"),
])
def test_bad_inputs(lstm, x, lengths, match):
    with pytest.raises(ValueError, match=match):
        lstm(x, lengths=lengths)


def test_bad_state(lstm):
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match=r"h_0 must have shape .* = \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(x, (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="pair"):
        lstm(x, torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"must have shape .* = \(1, 2, 4\)"):
        rn.GRU(3, 4)(x, torch.zeros(1, 3, 4))


def test_nan_check_names_the_position():
    layer = rn.GRU(3, 4, check_finite=True)
    x = torch.randn(2, 5, 3)
    x[1, 3, 2] = float("nan")
    with pytest.raises(ValueError, match="sequence 1, step 3, feature 2"):
        layer(x)
    layer(x, lengths=[5, 3])  # NaN in padding is fine


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="impl must be one of"):
        rn.LSTM(3, 4, impl="cuda")
    with pytest.raises(ValueError, match="num_layers=1"):
        rn.LSTM(3, 4, dropout=0.2)
    with pytest.raises(ValueError, match="proj_size is supported by LSTM only"):
        rn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="padding_side"):
        rn.GRU(3, 4)(torch.randn(1, 2, 3), lengths=[1], padding_side="middle")


def test_fast_path_reasons():
    layer = rn.LSTM(3, 4)
    layer(torch.randn(1, 2, 3))
    assert layer.fast_path_reason is None
    normed = rn.LSTM(3, 4, layer_norm=True)
    normed(torch.randn(1, 2, 3))
    assert "layer_norm" in normed.fast_path_reason
    with pytest.raises(ValueError, match="impl='fused' is not possible: layer_norm"):
        rn.LSTM(3, 4, layer_norm=True, impl="fused")
    with pytest.raises(ValueError, match="variational dropout"):  # modules are built in training mode
        rn.GRU(3, 4, recurrent_dropout=0.3, impl="fused")


def test_recurrent_dropout_is_training_only_and_fixed_per_sequence():
    layer = rn.RNN(2, 6, recurrent_dropout=0.5)
    x = torch.randn(4, 7, 2)
    layer.train()
    first, second = layer(x)[0], layer(x)[0]
    assert not torch.equal(first, second)
    assert "variational dropout" in layer.fast_path_reason
    layer.eval()
    plain = rn.RNN(2, 6)
    plain.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x)[0], plain(x)[0], atol=0, rtol=0)
    assert layer.fast_path_reason is None  # eval mode: no dropout, so the fused kernel serves
