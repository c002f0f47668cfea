"""``layer.step`` (one time step) against ``layer.forward`` (whole sequences): same outputs, states and gradients."""

import pytest
import torch

import rnnkit.nn as rn
from nn_reference import as_tuple, run_steps

CELLS = {
    "rnn_tanh": lambda **kw: rn.RNN(3, 5, nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: rn.RNN(3, 5, nonlinearity="relu", **kw),
    "lstm": lambda **kw: rn.LSTM(3, 5, **kw),
    "lstm_proj": lambda **kw: rn.LSTM(3, 5, proj_size=2, **kw),
    "gru": lambda **kw: rn.GRU(3, 5, **kw),
}
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}


def _layer(cell, num_layers=1, layer_norm=False, dtype=torch.float32, **kw):
    """An eval-mode layer; stacked ones carry dropout between layers, which eval mode turns off in both calls."""
    dropout = 0.3 if num_layers > 1 else 0.0
    return CELLS[cell](num_layers=num_layers, dropout=dropout, layer_norm=layer_norm, dtype=dtype, **kw).eval()


def _random_state(layer, batch, dtype):
    """A non-zero initial state in PyTorch's layout (L, B, H_out), or (h, c) for the LSTM."""
    h = torch.randn(layer.num_layers, batch, layer.proj_size or layer.hidden_size, dtype=dtype)
    if layer.mode == "LSTM":
        return h, torch.randn(layer.num_layers, batch, layer.hidden_size, dtype=dtype)
    return h


def _assert_close(ours, expected, tolerance, what):
    torch.testing.assert_close(ours, expected, atol=tolerance, rtol=tolerance, msg=lambda m: f"{what}: {m}")


def _assert_states_close(ours, expected, tolerance):
    for name, a, b in zip(("h", "c"), as_tuple(ours), as_tuple(expected)):
        _assert_close(a, b, tolerance, f"final {name}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_step_equals_forward(cell, num_layers, layer_norm, dtype):
    layer = _layer(cell, num_layers, layer_norm, dtype)
    x = torch.randn(4, 6, 3, dtype=dtype)
    state = _random_state(layer, 4, dtype)
    expected, expected_final = layer(x, state)
    output, final = run_steps(layer, x, state)
    _assert_close(output, expected, TOLERANCE[dtype], "outputs")
    _assert_states_close(final, expected_final, TOLERANCE[dtype])


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_step_from_no_state_starts_from_zeros(cell):
    layer = _layer(cell, num_layers=3)
    x = torch.randn(2, 4, 3)
    expected, expected_final = layer(x)
    output, final = run_steps(layer, x, None)
    _assert_close(output, expected, 1e-5, "outputs")
    _assert_states_close(final, expected_final, 1e-5)


@pytest.mark.parametrize("cell", ["lstm_proj", "gru"])
def test_unbatched_step_equals_unbatched_forward(cell):
    layer = _layer(cell, num_layers=3)
    x = torch.randn(5, 3)  # (T, I)
    state = tuple(s[:, 0] for s in as_tuple(_random_state(layer, 1, torch.float32)))  # (L, H): no batch
    state = state if layer.mode == "LSTM" else state[0]
    expected, expected_final = layer(x, state)
    for t in range(5):
        y, state = layer.step(x[t], state)
        assert y.shape == expected[t].shape
        _assert_close(y, expected[t], 1e-5, f"output at step {t}")
    _assert_states_close(state, expected_final, 1e-5)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_state_carried_across_chunks_and_steps(cell):
    """forward on chunks, carrying the state, equals forward on the whole; so does stepping on from a chunk."""
    layer = _layer(cell, num_layers=3, dtype=torch.float64)
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    whole, whole_final = layer(x)
    first, state = layer(x[:, :4])
    second, state = layer(x[:, 4:7], state)
    last, state = run_steps(layer, x[:, 7:], state)
    _assert_close(torch.cat([first, second, last], dim=1), whole, 1e-12, "chunked outputs")
    _assert_states_close(state, whole_final, 1e-12)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("layer_norm", [False, True])
def test_gradients_through_step_equal_forward(cell, layer_norm):
    """Parameters, input and initial state get the same gradients whether the sequence is stepped or run whole."""
    layer = _layer(cell, num_layers=2, layer_norm=layer_norm, dtype=torch.float64)
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    state = _random_state(layer, 3, torch.float64)
    weights = None

    def gradients(run):
        nonlocal weights
        inputs = [x.clone().requires_grad_(), *(s.clone().requires_grad_() for s in as_tuple(state))]
        given = tuple(inputs[1:]) if layer.mode == "LSTM" else inputs[1]
        output, final = run(layer, inputs[0], given)
        results = (output, *as_tuple(final))
        weights = weights or [torch.randn_like(t) for t in results]
        loss = sum((w * t).sum() for w, t in zip(weights, results))
        tensors = inputs + list(layer.parameters())
        return torch.autograd.grad(loss, tensors)

    expected = gradients(lambda module, x, state: module(x, state))
    got = gradients(run_steps)
    names = ["input", *(f"state {i}" for i in range(len(as_tuple(state)))), *(n for n, _ in layer.named_parameters())]
    for name, a, b in zip(names, got, expected):
        _assert_close(a, b, 1e-12, f"gradient of {name}")


def test_step_refuses_a_bidirectional_layer():
    layer = rn.GRU(3, 4, bidirectional=True)
    with pytest.raises(ValueError, match="GRU.step: a bidirectional layer reads the whole sequence; use forward"):
        layer.step(torch.randn(2, 3))


def test_step_refuses_recurrent_dropout_in_training_only():
    layer = rn.LSTM(3, 4, recurrent_dropout=0.3)
    with pytest.raises(ValueError, match="LSTM.step: recurrent_dropout masks span a whole sequence"):
        layer.step(torch.randn(2, 3))
    layer.eval()  # no dropout in eval mode: step serves, and equals forward
    x = torch.randn(2, 4, 3)
    output, _ = run_steps(layer, x, None)
    _assert_close(output, layer(x)[0], 1e-5, "outputs")


@pytest.mark.parametrize("shape", [(2, 4), (2, 1, 3), ()])
def test_step_names_the_expected_input(shape):
    with pytest.raises(ValueError, match=r"RNN.step: expected input \(batch, 3\) or \(3,\)"):
        rn.RNN(3, 4).step(torch.randn(shape))


def test_step_checks_the_state_shape():
    with pytest.raises(ValueError, match=r"h_0 must have shape .* = \(2, 2, 4\)"):
        rn.GRU(3, 4, num_layers=2).step(torch.randn(2, 3), torch.zeros(1, 2, 4))
