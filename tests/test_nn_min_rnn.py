"""minGRU and minLSTM: every path computes the step equations, forward equals step, padding never matters."""

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rn
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig, extension, functional, make_recurrent
from rnnkit.nn.init import chrono_init_
from rnnkit.nn.scan import scan_chunked, scan_log_space, scan_sequential

LAYERS = [rn.MinGRU, rn.MinLSTM]
needs_extension = pytest.mark.skipif(bool(extension.unavailable()), reason=str(extension.unavailable()))


def _paths():
    """(impl, scan) of every path; the extension's only where it builds."""
    paths = [("reference", "chunked"), ("fused", "chunked"), ("fused", "log-space")]
    return paths + ([] if extension.unavailable() else [("extension", "chunked")])


def _pair(cls, impl, scan, **kwargs):
    torch.manual_seed(3)
    reference = cls(3, 5, impl="reference", **kwargs)
    layer = cls(3, 5, impl=impl, scan=scan, **kwargs)
    layer.load_state_dict(reference.state_dict())
    return layer, reference


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("impl,scan", _paths())
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_path_matches_the_step_loop(cls, impl, scan, bidirectional):
    """Stacked, ragged, from a given (non-negative: the log-space scan needs it) state; outputs and gradients."""
    layer, reference = _pair(cls, impl, scan, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(4, 9, 3)
    lengths = torch.tensor([9, 2, 6, 1])
    state = torch.rand(2 * (2 if bidirectional else 1), 4, 5)
    out, final = layer(x, state, lengths=lengths)
    expected, expected_final = reference(x, state, lengths=lengths)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(final, expected_final, atol=1e-5, rtol=1e-5)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum() + final.sum(), list(layer.parameters()))
    expected_grads = torch.autograd.grad((expected * weights).sum() + expected_final.sum(),
                                         list(reference.parameters()))
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, atol=1e-4, rtol=1e-4)


@needs_extension
@pytest.mark.parametrize("cls", LAYERS)
def test_the_extension_matches_the_step_loop_across_its_chunks_of_steps(cls):
    """The kernel runs 64 steps at a time (projection, gates and scan, and the weight gradients chunk by chunk):
    sequences that end just before, at and after a chunk's edge, units in a partial 16-lane block, stacked
    (the input's gradient) and reversed, in float32 on the kernel's own products."""
    torch.manual_seed(5)
    reference = cls(7, 20, num_layers=2, bidirectional=True, impl="reference")
    layer = cls(7, 20, num_layers=2, bidirectional=True, impl="extension")
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(5, 150, 7, requires_grad=True)
    lengths = torch.tensor([150, 64, 65, 1, 129])
    out, final = layer(x, lengths=lengths)
    expected, expected_final = reference(x, lengths=lengths)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(final, expected_final, atol=1e-5, rtol=1e-4)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum() + final.sum(), [x, *layer.parameters()])
    expected_grads = torch.autograd.grad((expected * weights).sum() + expected_final.sum(),
                                         [x, *reference.parameters()])
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, atol=1e-4, rtol=1e-3)


@needs_extension
@pytest.mark.parametrize("cls", LAYERS)
def test_gradcheck_of_the_extension_across_a_chunk_edge(cls):
    layer = cls(2, 3, num_layers=2, impl="extension", dtype=torch.float64)
    x = torch.randn(2, 70, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())

    def run(x, *values):
        return torch.func.functional_call(layer, dict(zip(names, values)), (x,), {"lengths": [70, 66]})

    assert gradcheck(run, (x, *params))


@pytest.mark.parametrize("cls", LAYERS)
def test_step_equals_forward_and_state_carries_across_calls(cls):
    layer = cls(3, 6, num_layers=2)
    x = torch.randn(2, 7, 3)
    output, final = layer(x)
    state = None
    for t in range(7):
        y, state = layer.step(x[:, t], state)
        torch.testing.assert_close(y, output[:, t], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state, final, atol=1e-5, rtol=1e-5)
    first, middle = layer(x[:, :3])
    rest, carried = layer(x[:, 3:], middle)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), output, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(carried, final, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("impl,scan", _paths())
def test_padding_never_changes_the_result(cls, impl, scan):
    """Each sequence of a padded batch (garbage, even NaN, in the padding) gives what it gives alone."""
    layer, _ = _pair(cls, impl, scan, bidirectional=True)
    x = torch.randn(3, 8, 3)
    lengths = [8, 3, 5]
    padded = x.clone()
    for b, n in enumerate(lengths):
        padded[b, n:] = float("nan")
    output, final = layer(padded, lengths=lengths)
    for b, n in enumerate(lengths):
        alone, alone_final = layer(x[b:b + 1, :n])
        torch.testing.assert_close(output[b:b + 1, :n], alone, atol=1e-5, rtol=1e-5)
        assert torch.equal(output[b, n:], torch.zeros_like(output[b, n:]))
        torch.testing.assert_close(final[:, b:b + 1], alone_final, atol=1e-5, rtol=1e-5)
    output.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("impl,scan", _paths())
def test_gradcheck(cls, impl, scan):
    layer = cls(2, 3, bidirectional=True, impl=impl, scan=scan, dtype=torch.float64)
    x = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    state = torch.rand(2, 3, 3, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())

    def run(x, state, *values):
        return torch.func.functional_call(layer, dict(zip(names, values)), (x, state), {"lengths": [5, 2, 4]})

    assert gradcheck(run, (x, state, *params))


@pytest.mark.parametrize("steps,chunk", [(1, None), (7, 3), (16, 4), (17, None), (40, 64)])
def test_scans_agree_with_the_definition(steps, chunk):
    a, b, h0 = torch.rand(2, steps, 3), torch.rand(2, steps, 3), torch.rand(2, 3)
    expected = scan_sequential(a, b, h0)
    torch.testing.assert_close(scan_chunked(a, b, h0, chunk), expected)
    torch.testing.assert_close(scan_log_space(a.log(), b.log(), h0), expected, atol=1e-5, rtol=1e-4)
    signed = scan_sequential(a, b - 0.5, -h0)  # the chunked scan takes any sign
    torch.testing.assert_close(scan_chunked(a, b - 0.5, -h0, chunk), signed)
    with pytest.raises(ValueError, match="non-negative"):
        scan_log_space(a.log(), b.log(), -h0)


def test_min_cells_equations():
    """One step by hand: minGRU (1 - z) h + z g(k_h); minLSTM with normalised gates; g(k) = k + 1/2 or sigmoid."""
    k = torch.tensor([[-2.0, 0.5, 1.0, -1.0, 0.3, 2.0]])
    h = torch.tensor([[0.2, 0.4]])
    g = lambda v: torch.where(v >= 0, v + 0.5, torch.sigmoid(v))  # noqa: E731
    z = torch.sigmoid(k[:, :2])
    a, b = functional.mingru_coefficients(k[:, :4])
    torch.testing.assert_close(a * h + b, (1 - z) * h + z * g(k[:, 2:4]))
    f, i = torch.sigmoid(k[:, :2]), torch.sigmoid(k[:, 2:4])
    a, b = functional.minlstm_coefficients(k)
    torch.testing.assert_close(a * h + b, (f * h + i * g(k[:, 4:])) / (f + i))


def test_config_builds_min_cells_and_refuses_what_they_lack():
    layer = make_recurrent(RecurrentConfig(cell="mingru", hidden_size=8, num_layers=2, dropout=0.1,
                                           bidirectional=True), 3)
    assert isinstance(layer, rn.MinGRU) and layer.dropout == 0.1 and layer.num_layers == 2
    output, state = layer(torch.randn(2, 4, 3))
    assert output.shape == (2, 4, 16) and state.shape == (4, 2, 8)
    assert isinstance(make_recurrent(RecurrentConfig(cell="minlstm"), 3), rn.MinLSTM)
    for name, value in (("layer_norm", True), ("recurrent_dropout", 0.2)):
        with pytest.raises(UserError, match=rf"^RecurrentConfig: {name} is not available for cell='minlstm'"):
            RecurrentConfig(cell="minlstm", **{name: value})
    with pytest.raises(ValueError, match="bidirectional"):
        layer.step(torch.randn(2, 3))


@pytest.mark.parametrize("cls,keep,sign", [(rn.MinGRU, 0, -1.0), (rn.MinLSTM, 0, 1.0)])
def test_chrono_spreads_the_memory_time_scales(cls, keep, sign):
    """After chrono_init_(layer, lag) the fraction of the state kept per step (a, from a zero input) spans
    1 - 1/2 .. 1 - 1/lag, so the units remember between about 1 and lag steps."""
    layer = chrono_init_(cls(3, 400), 100)
    bias = layer.bias_ih_l0.chunk(2 if cls is rn.MinGRU else 3)[keep]
    time_scale = (sign * bias).exp()
    assert time_scale.min() >= 1 and time_scale.max() <= 99 and time_scale.max() > 50
    a, _ = functional.COEFFICIENTS[layer.mode](layer.bias_ih_l0)
    assert 0.45 < a.min() and a.max() < 0.995


@needs_extension
def test_extension_is_auto_and_says_why_not_when_refused(monkeypatch):
    layer = rn.MinLSTM(3, 4)
    layer(torch.randn(2, 3, 3))
    assert layer.fast_path_reason is None
    monkeypatch.setattr(extension, "unavailable", lambda: "no compiler here")
    layer(torch.randn(2, 3, 3))
    assert layer.fast_path_reason == "no compiler here"
    with pytest.raises(RuntimeError, match="impl='extension' is not possible: no compiler here"):
        rn.MinLSTM(3, 4, impl="extension")(torch.randn(2, 3, 3))
