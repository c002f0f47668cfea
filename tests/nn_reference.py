"""Helpers shared by the nn tests: build a torch.nn twin and run it the way a torch.nn user would."""

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rn

TORCH_LAYERS = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN_TANH": torch.nn.RNN, "RNN_RELU": torch.nn.RNN}


def make_pair(mode, input_size, hidden_size, *, impl="auto", dtype=torch.float32, **kwargs):
    """An rnnkit layer and a torch.nn layer holding the same weights (torch's initialisation, loaded into ours)."""
    torch_kwargs = dict(kwargs, batch_first=True, dtype=dtype)
    ours_kwargs = dict(kwargs, impl=impl, dtype=dtype)
    if mode.startswith("RNN"):
        nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
        theirs = torch.nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, **torch_kwargs)
        ours = rn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, **ours_kwargs)
    else:
        theirs = TORCH_LAYERS[mode](input_size, hidden_size, **torch_kwargs)
        ours = getattr(rn, mode)(input_size, hidden_size, **ours_kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def run_torch(layer, x, state=None, lengths=None):
    """torch.nn on right-padded x: packed when lengths are given, outputs padded back to x's length."""
    if lengths is None:
        return layer(x, state)
    packed = pack_padded_sequence(x, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
    output, final = layer(packed, state)
    output, _ = pad_packed_sequence(output, batch_first=True, total_length=x.shape[1])
    return output, final


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def run_steps(layer, x, state=None):
    """Step ``layer`` through ``x`` (B, T, I) one step at a time: outputs (B, T, H_out) and the final state."""
    outputs = []
    for t in range(x.shape[1]):
        y, state = layer.step(x[:, t], state)
        outputs.append(y)
    return torch.stack(outputs, dim=1), state


def relative_error(ours, expected):
    """||ours - expected|| / ||expected||, as a float."""
    return float(((ours - expected).norm() / expected.norm().clamp_min(1e-12)).detach())
