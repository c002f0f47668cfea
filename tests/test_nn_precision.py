"""precision="bf16-mixed": float32 weights and states, bfloat16 products; refused where the CPU lacks bfloat16.

The numbers of bf16-mixed are float32's up to bfloat16 rounding (8 bits of mantissa) in the products: the
tests hold outputs and every gradient to float32's within a few bfloat16 ulps, relative to their size.
"""

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.errors import UserError
from nn_reference import relative_error, run_steps
from rnnkit.nn import RecurrentConfig, extension, make_recurrent, precision

needs_bf16 = pytest.mark.skipif(precision.bf16_unsupported() is not None,
                                reason=str(precision.bf16_unsupported()))
# Relative error of bfloat16 products (2^-9 each) summed over 150 terms with cancellation, through two layers.
BF16_TOLERANCE = 5e-2
# The min cells' candidate g has a kink at 0 (g' jumps from 1/4 to 1), so a rounding that moves a projection
# across 0 changes that unit's gradient 4x: their gradients scatter more, in every path (0.053 seen, seed 0).
MIN_BF16_TOLERANCE = 1e-1


def _paths(mode):
    paths = ["reference"] + ([] if extension.unavailable() else ["extension"])
    return paths + (["fused"] if mode == "LSTM" else [])


CASES = [(mode, impl) for mode in ("LSTM", "GRU", "RNN", "MinGRU", "MinLSTM") for impl in _paths(mode)]


def _run(layer, x, lengths, weights):
    output, final = layer(x, lengths=lengths)
    finals = final if isinstance(final, tuple) else (final,)
    loss = (output * weights).sum() + sum(f.sum() for f in finals)
    return output, finals, torch.autograd.grad(loss, list(layer.parameters()))


@needs_bf16
@pytest.mark.parametrize("mode,impl", CASES)
def test_bf16_mixed_matches_fp32_within_bfloat16_rounding(mode, impl):
    torch.manual_seed(0)
    fp32 = getattr(rn, mode)(4, 16, num_layers=2, bidirectional=True, impl=impl)
    mixed = getattr(rn, mode)(4, 16, num_layers=2, bidirectional=True, impl=impl, precision="bf16-mixed")
    mixed.load_state_dict(fp32.state_dict())
    x, lengths = torch.randn(5, 30, 4), torch.tensor([30, 7, 19, 30, 1])
    weights = torch.randn(5, 30, 32)
    output, finals, grads = _run(fp32, x, lengths, weights)
    mixed_output, mixed_finals, mixed_grads = _run(mixed, x, lengths, weights)
    assert mixed_output.dtype == torch.float32 and all(f.dtype == torch.float32 for f in mixed_finals)
    assert all(p.dtype == torch.float32 for p in mixed.parameters())  # the master weights stay float32
    assert relative_error(mixed_output, output) < BF16_TOLERANCE
    for mixed_final, final in zip(mixed_finals, finals):
        assert relative_error(mixed_final, final) < BF16_TOLERANCE
    grad_tolerance = MIN_BF16_TOLERANCE if mode.startswith("Min") else BF16_TOLERANCE
    for (name, _), mixed_grad, grad in zip(fp32.named_parameters(), mixed_grads, grads):
        assert mixed_grad.dtype == torch.float32
        assert relative_error(mixed_grad, grad) < grad_tolerance, name
    assert not torch.equal(mixed_output, output)  # the products did run in bfloat16


@needs_bf16
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "MinGRU"])
def test_bf16_mixed_step_follows_forward(mode):
    """``step`` (the functional equations, products in bfloat16) agrees with ``forward`` on the fast path."""
    layer = getattr(rn, mode)(3, 8, precision="bf16-mixed")
    x = torch.randn(2, 6, 3)
    output, _ = layer(x)
    assert relative_error(run_steps(layer, x)[0], output) < 1e-2


@needs_bf16
def test_fused_lstm_keeps_the_cell_state_in_float32():
    layer = rn.LSTM(3, 8, impl="fused", precision="bf16-mixed")
    with torch.no_grad():
        output, (h, c) = layer(torch.randn(2, 5, 3))
    assert output.dtype == h.dtype == c.dtype == torch.float32
    assert not torch.equal(c, c.bfloat16().float())  # not rounded to bfloat16 on the way


def test_bf16_is_refused_with_the_reason_where_the_cpu_lacks_it(monkeypatch):
    monkeypatch.setattr(precision, "_cpu_bf16_reason", lambda: "this CPU has no bfloat16 dot-product instructions")
    with pytest.raises(ValueError, match="precision='bf16-mixed' is refused: this CPU has no bfloat16"):
        rn.LSTM(3, 4, precision="bf16-mixed")
    with pytest.raises(ValueError, match="refused"):
        rn.MinGRU(3, 4, precision="bf16-mixed")
    with pytest.raises(UserError, match=r"^RecurrentConfig: precision='bf16-mixed' is refused: this CPU"):
        RecurrentConfig(precision="bf16-mixed")
    assert make_recurrent(RecurrentConfig(precision="fp32"), 3).precision == "fp32"
    with pytest.raises(UserError, match="^RecurrentConfig: precision must be one of"):
        RecurrentConfig(precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        rn.GRU(3, 4, precision="half")


def test_the_cpu_check_reads_the_cpu():
    """bf16 is offered exactly where PyTorch reports AVX-512 BF16 or AMX (never assumed)."""
    capabilities = torch.cpu.get_capabilities()
    has_bf16 = bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
    assert (precision.bf16_unsupported() is None) == (has_bf16 and torch.backends.mkldnn.is_available())
