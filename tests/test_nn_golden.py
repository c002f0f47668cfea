"""Golden values with constant weights: a silent change of the equations fails here.

Expected numbers are computed with Python's ``math`` from the textbook equations (an oracle independent of
torch) and, for the LSTM, also pinned as literals.
"""

import math

import pytest
import torch

import rnnkit.nn as rn


def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def _constant(module, value):
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)


X = [1.0, -0.5, 2.0]  # one sequence, one feature, three steps; hidden size 1, every weight and bias 0.25


def _run(layer):
    _constant(layer, 0.25)
    output, _ = layer(torch.tensor(X).view(1, 3, 1))
    return output.view(-1).tolist()


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_lstm(impl):
    h = c = 0.0
    expected = []
    for x in X:
        pre = 0.25 * x + 0.25 * h + 0.5  # both biases
        i, f, g, o = _sigmoid(pre), _sigmoid(pre), math.tanh(pre), _sigmoid(pre)
        c = f * c + i * g
        h = o * math.tanh(c)
        expected.append(h)
    got = _run(rn.LSTM(1, 1, impl=impl))
    assert got == pytest.approx(expected, abs=1e-6)
    assert got == pytest.approx([0.2760683, 0.2895282, 0.5591005], abs=1e-6)


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_gru(impl):
    h = 0.0
    expected = []
    for x in X:
        r = _sigmoid(0.25 * x + 0.25 + 0.25 * h + 0.25)
        z = _sigmoid(0.25 * x + 0.25 + 0.25 * h + 0.25)
        n = math.tanh(0.25 * x + 0.25 + r * (0.25 * h + 0.25))
        h = (1 - z) * n + z * h
        expected.append(h)
    assert _run(rn.GRU(1, 1, impl=impl)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman(impl, nonlinearity):
    act = math.tanh if nonlinearity == "tanh" else (lambda v: max(v, 0.0))
    h = 0.0
    expected = []
    for x in X:
        h = act(0.25 * x + 0.25 + 0.25 * h + 0.25)
        expected.append(h)
    assert _run(rn.RNN(1, 1, nonlinearity=nonlinearity, impl=impl)) == pytest.approx(expected, abs=1e-6)


def test_layer_norm_lstm_step():
    """LN(W_ih x) + b_ih + LN(W_hh h) + b_hh, and h = o * tanh(LN(c)), against a hand-written step."""
    layer = rn.LSTM(3, 4, layer_norm=True)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(2, 3)
    h0, c0 = torch.randn(2, 4), torch.randn(2, 4)
    output, (h1, c1) = layer(x.unsqueeze(1), (h0.unsqueeze(0), c0.unsqueeze(0)))

    def ln(v, weight, bias=None):
        v = (v - v.mean(-1, keepdim=True)) / torch.sqrt(v.var(-1, unbiased=False, keepdim=True) + 1e-5)
        return v * weight + (0 if bias is None else bias)

    gates = (ln(x @ layer.weight_ih_l0.T, layer.norm_ih_weight_l0) + layer.bias_ih_l0
             + ln(h0 @ layer.weight_hh_l0.T, layer.norm_hh_weight_l0) + layer.bias_hh_l0)
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(ln(c, layer.norm_cell_weight_l0, layer.norm_cell_bias_l0))
    torch.testing.assert_close(c1[0], c)
    torch.testing.assert_close(h1[0], h)
    torch.testing.assert_close(output[:, 0], h)


def test_initialisation():
    layer = rn.LSTM(3, 8, num_layers=2)
    hidden = 8
    forget = slice(hidden, 2 * hidden)
    assert torch.all(layer.bias_ih_l0[forget] == 1) and torch.all(layer.bias_hh_l0[forget] == 0)
    assert torch.all(layer.bias_ih_l0[:hidden] == 0)
    for block in layer.weight_hh_l1.chunk(4):
        torch.testing.assert_close(block @ block.T, torch.eye(hidden), atol=1e-5, rtol=0)


@pytest.mark.parametrize("layer", [rn.LSTM(2, 16, num_layers=2, bidirectional=True), rn.GRU(2, 16), rn.LSTMCell(2, 16)])
def test_chrono_initialisation_spreads_memory_over_the_lag(layer):
    rn.init.chrono_init_(layer, max_lag=100, generator=torch.Generator().manual_seed(0))
    gates = 4 if layer.mode == "LSTM" else 3
    for name, bias in layer.named_parameters():
        if name.startswith("bias_ih"):
            keep = bias.chunk(gates)[1]
            assert keep.min() >= 0 and keep.max() <= math.log(99) + 1e-6 and keep.std() > 0.3
            if layer.mode == "LSTM":
                torch.testing.assert_close(bias.chunk(gates)[0], -keep)
        if name.startswith("bias_hh"):
            assert torch.all(bias.chunk(gates)[1] == 0)
    with pytest.raises(ValueError, match="needs gates"):
        rn.init.chrono_init_(rn.RNN(2, 3), 100)
