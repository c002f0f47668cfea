"""rnnkit layers and cells against torch.nn: same outputs, final states and parameter gradients, on both paths."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rnnkit.nn as rn
from rnnkit.nn import extension, fused
from nn_reference import as_tuple, make_pair, run_torch

ATOL = 1e-5
# float32 sums over up to 30 steps x 8 sequences: gradients of size ~10 carry rounding of ~1e-6 relative.
RTOL = 1e-5


@st.composite
def configurations(draw):
    mode = draw(st.sampled_from(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]))
    batch, steps = draw(st.integers(1, 8)), draw(st.integers(1, 30))
    hidden = draw(st.integers(1, 12))
    return dict(
        mode=mode,
        batch=batch,
        steps=steps,
        input_size=draw(st.integers(1, 6)),
        hidden_size=hidden,
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if mode == "LSTM" and hidden > 1 else 0,
        ragged=draw(st.booleans()),
        with_state=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


def _assert_close(ours, theirs, what):
    assert ours.shape == theirs.shape, what
    assert torch.allclose(ours, theirs, atol=ATOL, rtol=RTOL), f"{what}: max diff {(ours - theirs).abs().max()}"


@pytest.mark.parametrize("impl,route", [("fused", "segments"), ("fused", "packed"), ("reference", None),
                                        ("extension", None)])
@given(config=configurations())
def test_layer_matches_torch(impl, route, config):
    """Every configuration on every path (and both routes the fused path has for variable lengths)."""
    if impl == "extension":
        if extension.unavailable():
            pytest.skip(extension.unavailable())
        config = dict(config, proj_size=0)  # the extension has no LSTM projection (auto takes the fused path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fused, "default_route", lambda x: route)
        _check_layer_matches_torch(impl, config)


def _check_layer_matches_torch(impl, config):
    torch.manual_seed(config["seed"])
    kwargs = {k: config[k] for k in ("num_layers", "bidirectional", "bias")}
    if config["proj_size"]:
        kwargs["proj_size"] = config["proj_size"]
    ours, theirs = make_pair(config["mode"], config["input_size"], config["hidden_size"], impl=impl, **kwargs)
    batch, steps = config["batch"], config["steps"]
    x = torch.randn(batch, steps, config["input_size"])
    lengths = torch.randint(1, steps + 1, (batch,)) if config["ragged"] else None
    state = None
    if config["with_state"]:
        rows = config["num_layers"] * (2 if config["bidirectional"] else 1)
        h = torch.randn(rows, batch, config["proj_size"] or config["hidden_size"])
        state = (h, torch.randn(rows, batch, config["hidden_size"])) if config["mode"] == "LSTM" else h

    out_ours, final_ours = ours(x, state, lengths=lengths)
    out_theirs, final_theirs = run_torch(theirs, x, state, lengths)
    _assert_close(out_ours, out_theirs, "output")
    for a, b in zip(as_tuple(final_ours), as_tuple(final_theirs)):
        _assert_close(a, b, "final state")

    # The same loss through both: a random projection of outputs and final states.
    weights = [torch.randn_like(t) for t in (out_ours, *as_tuple(final_ours))]
    def loss(out, final):
        return sum((w * t).sum() for w, t in zip(weights, (out, *as_tuple(final))))
    loss(out_ours, final_ours).backward()
    loss(out_theirs, final_theirs).backward()
    theirs_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        _assert_close(param.grad, theirs_params[name].grad, f"grad of {name}")


@pytest.mark.parametrize("cls,torch_cls,kwargs", [
    (rn.LSTMCell, torch.nn.LSTMCell, {}),
    (rn.GRUCell, torch.nn.GRUCell, {}),
    (rn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    (rn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch_and_state_dicts_round_trip(cls, torch_cls, kwargs, bias):
    ours, theirs = cls(5, 7, bias=bias, **kwargs), torch_cls(5, 7, bias=bias, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())  # and back
    x = torch.randn(3, 5)
    state = ours.init_state(3)
    state = tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else torch.randn_like(state)
    y, new_state = ours(x, state)
    expected = theirs(x, state)
    for a, b in zip(as_tuple(new_state), as_tuple(expected)):
        _assert_close(a, b, "cell state")
    _assert_close(y, as_tuple(expected)[0], "cell output")
    # Unbatched input gives the same numbers as a batch of one.
    y1, _ = ours(x[0], tuple(s[0] for s in as_tuple(state)) if isinstance(state, tuple) else state[0])
    _assert_close(y1, y[0], "unbatched cell output")


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_state_dicts_load_both_ways(mode):
    ours, theirs = make_pair(mode, 3, 6, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    fresh = type(theirs)(3, 6, num_layers=2, bidirectional=True, batch_first=True)
    fresh.load_state_dict(ours.state_dict())
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tensor, ours.state_dict()[name])


def test_cell_stepped_by_hand_equals_layer():
    """The layer is the loop over the cell: stepping an LSTMCell with the layer's weights gives its outputs."""
    layer = rn.LSTM(4, 5)
    cell = rn.LSTMCell(4, 5)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(2, 6, 4)
    output, (h_n, c_n) = layer(x)
    state = None
    for t in range(6):
        y, state = cell(x[:, t], state)
        _assert_close(y, output[:, t], f"step {t}")
    _assert_close(state[0], h_n[0], "h_n")
    _assert_close(state[1], c_n[0], "c_n")


def test_unbatched_and_sequence_first_inputs():
    layer = rn.GRU(3, 4, num_layers=2)
    x = torch.randn(2, 5, 3)
    output, final = layer(x)
    single, single_final = layer(x[0])
    _assert_close(single, output[0], "unbatched output")
    _assert_close(single_final, final[:, 0], "unbatched state")
    seq_first = rn.GRU(3, 4, num_layers=2, batch_first=False)
    seq_first.load_state_dict(layer.state_dict())
    output_t, _ = seq_first(x.transpose(0, 1))
    _assert_close(output_t.transpose(0, 1), output, "batch_first=False output")
