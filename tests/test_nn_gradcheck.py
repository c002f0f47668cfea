"""float64 gradient checks: every cell, and layers with layer norm, projections and variable lengths."""

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rn
from rnnkit.nn import extension


@pytest.mark.parametrize("cls,kwargs", [
    (rn.LSTMCell, {}), (rn.LSTMCell, {"layer_norm": True}),
    (rn.GRUCell, {}), (rn.GRUCell, {"layer_norm": True}),
    (rn.RNNCell, {}), (rn.RNNCell, {"nonlinearity": "relu"}), (rn.RNNCell, {"layer_norm": True}),
])
def test_cells(cls, kwargs):
    """Gradients with respect to input, state and every parameter, all at once."""
    cell = cls(3, 4, dtype=torch.float64, **kwargs)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    state = [torch.randn_like(s).requires_grad_() for s in _as_list(cell.init_state(2))]
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]

    def step(x, *values):
        given = tuple(values[: len(state)])
        output, new = torch.func.functional_call(
            cell, dict(zip(names, values[len(state):])), (x, given if len(given) == 2 else given[0]))
        return (output, *_as_list(new))

    assert gradcheck(step, (x, *state, *params))


def _as_list(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("layer", [
    lambda: rn.LSTM(2, 3, num_layers=2, bidirectional=True, layer_norm=True, dtype=torch.float64),
    lambda: rn.GRU(2, 3, bidirectional=True, layer_norm=True, dtype=torch.float64),
    lambda: rn.LSTM(2, 4, proj_size=2, bidirectional=True, dtype=torch.float64, impl="reference"),
    lambda: rn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64, impl="fused"),
    lambda: rn.RNN(2, 3, bidirectional=True, dtype=torch.float64, impl="reference"),
    lambda: rn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64, impl="extension"),
    lambda: rn.GRU(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64, impl="extension"),
    lambda: rn.RNN(2, 3, nonlinearity="relu", bidirectional=True, dtype=torch.float64, impl="extension"),
    lambda: rn.GRU(2, 3, bias=False, dtype=torch.float64, impl="extension"),
])
def test_layers_with_lengths(layer):
    module = layer()
    if module.impl == "extension" and extension.unavailable():
        pytest.skip(extension.unavailable())
    x = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    names = [n for n, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())

    def run(x, *values):
        output, final = torch.func.functional_call(module, dict(zip(names, values)), (x,), {"lengths": lengths})
        return (output, *final) if isinstance(final, tuple) else (output, final)

    assert gradcheck(run, (x, *params))
