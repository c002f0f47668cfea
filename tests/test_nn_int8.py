"""precision="int8": inference with both products in 8 bits (rnnkit.nn.precision), on CPUs with AVX-512 VNNI.

The C++ kernel (csrc/int8_gemm.h) and the reference equations (``functional.int8_product``) quantize with the
same operations and sum integers exactly, so on the same inputs they agree to float32 rounding of the gates.
Over many steps the two paths' states differ by that rounding, which can move a value across a rounding
boundary of the quantizer (one level, 1/127 of its row's largest value): the long-sequence checks allow for it.
"""

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig, extension, precision
from rnnkit.nn.functional import int8_product
from nn_reference import relative_error, run_steps

needs_int8 = pytest.mark.skipif(precision.int8_unsupported() is not None or "int8" not in extension.compiled_kernels(),
                                reason=str(precision.int8_unsupported() or extension.unavailable()
                                           or "the extension was built without AVX-512 VNNI"))
LAYERS = [(rn.LSTM, {}), (rn.GRU, {}), (rn.RNN, {}), (rn.RNN, {"nonlinearity": "relu"})]
IDS = ["lstm", "gru", "rnn-tanh", "rnn-relu"]


def _pair(cls, options, **layer_options):
    torch.manual_seed(0)
    fast = cls(6, 24, precision="int8", impl="extension", **options, **layer_options)
    reference = cls(6, 24, precision="int8", impl="reference", **options, **layer_options)
    reference.load_state_dict(fast.state_dict())
    return fast.requires_grad_(False), reference.requires_grad_(False)


def _state(layer, batch):
    rows = layer.num_layers * (2 if layer.bidirectional else 1)
    h = torch.rand(rows, batch, layer.hidden_size) * 2 - 1
    return (h, torch.randn(rows, batch, layer.hidden_size)) if layer.mode == "LSTM" else h


def test_quantize_rows_is_symmetric_per_row_and_rounds_half_to_even():
    q, scale = precision.quantize_rows(torch.tensor([[2.54, -1.0, 0.01, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    assert scale.flatten().tolist() == pytest.approx([2.54 / 127, 1.0])
    assert q.dtype == torch.int8 and q.tolist() == [[127, -50, 0, 0], [0, 0, 0, 0]]
    q, _ = precision.quantize_rows(torch.tensor([[127.0, 0.5, 1.5, -2.5]]))
    assert q.tolist() == [[127, 0, 2, -2]]


def test_int8_product_is_the_integer_product_scaled():
    v, w = torch.randn(3, 10), torch.randn(7, 10)
    (qv, sv), (qw, sw) = precision.quantize_rows(v), precision.quantize_rows(w)
    exact = (qv.long() @ qw.long().t()).double() * (sv.double() * sw.double().t())
    assert torch.allclose(int8_product(v, w).double(), exact, rtol=1e-6, atol=0)
    assert relative_error(int8_product(v, w), v @ w.t()) < 2e-2  # and close to the float32 product


@needs_int8
@pytest.mark.parametrize("cls,options", LAYERS, ids=IDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_step_of_the_kernel_is_the_reference(cls, options, bidirectional):
    """From the same state and input, the C++ step and the equations quantize the same numbers."""
    fast, reference = _pair(cls, options, bidirectional=bidirectional)
    x, state = torch.randn(5, 1, 6), _state(fast, 5)
    with torch.no_grad():
        (out, final), (expected, expected_final) = fast(x, state), reference(x, state)
    assert fast._path(x) == "extension" and fast.fast_path_reason is None
    assert torch.allclose(out, expected, atol=1e-5, rtol=0)
    for ours, theirs in zip(final if isinstance(final, tuple) else (final,),
                            expected_final if isinstance(expected_final, tuple) else (expected_final,)):
        assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)


@needs_int8
@pytest.mark.parametrize("cls,options", LAYERS[:3], ids=IDS[:3])
def test_int8_sequences_follow_the_reference_and_float32(cls, options):
    """Two layers, both directions, ragged lengths, 40 steps: within a few quantization levels of the reference
    (see the module doc), and close to float32 (the quantization error itself)."""
    fast, reference = _pair(cls, options, num_layers=2, bidirectional=True)
    fp32 = cls(6, 24, num_layers=2, bidirectional=True, **options).requires_grad_(False)
    fp32.load_state_dict(fast.state_dict())
    x, lengths = torch.randn(5, 40, 6), torch.tensor([40, 9, 23, 1, 40])
    with torch.no_grad():
        out, expected, float_out = (layer(x, lengths=lengths)[0] for layer in (fast, reference, fp32))
    assert relative_error(out, expected) < 2e-2
    assert relative_error(out, float_out) < 5e-2
    assert not torch.equal(out, float_out)  # the products did run in 8 bits
    assert torch.all(out[3, 1:] == 0) and torch.all(out[1, 9:] == 0)  # padding stays zero


@needs_int8
def test_step_follows_forward():
    layer = rn.LSTM(3, 16, precision="int8").requires_grad_(False)
    x = torch.randn(2, 12, 3)
    with torch.no_grad():
        output, _ = layer(x)
        stepped, _ = run_steps(layer, x)
    assert relative_error(stepped, output) < 2e-2


@pytest.mark.parametrize("impl", ["reference", pytest.param("extension", marks=needs_int8)])
def test_quantized_weights_are_kept_until_the_weight_changes(impl):
    """The 8-bit weights (and the kernel's packing of them) are made once per version of the parameter: a weight
    changed in place is quantized again; after an edit through ``.data``, ``set_precision`` makes them anew."""
    layer = rn.GRU(3, 8, precision="int8", impl=impl).requires_grad_(False)
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        layer(x)
        first = precision.quantized_weight(layer.weight_hh_l0)
        assert precision.quantized_weight(layer.weight_hh_l0)[0] is first[0]  # kept, not recomputed
        other = rn.GRU(3, 8, impl=impl)
        layer.load_state_dict(other.state_dict())  # in place: the version counter moves
        output, _ = layer(x)
        other.weight_hh_l0.mul_(1.0)  # same values, new version: requantized, same numbers
        expected, _ = rn.set_precision(other, "int8").requires_grad_(False)(x)
    assert precision.quantized_weight(layer.weight_hh_l0)[0] is not first[0]
    requantized = precision.quantized_weight(layer.weight_hh_l0)[0]
    assert torch.equal(requantized, precision.quantize_rows(other.weight_hh_l0)[0])
    assert torch.equal(output, expected)
    # An edit through .data leaves the version counter alone: set_precision forgets what was kept.
    with torch.no_grad():
        layer.weight_hh_l0.data.mul_(2.0)
        other.weight_hh_l0.mul_(2.0)
        rn.set_precision(layer, "int8")
        assert torch.equal(layer(x)[0], other(x)[0])


@needs_int8
def test_int8_refuses_a_pass_that_needs_gradients_and_training():
    layer = rn.GRU(3, 8, precision="int8")
    x = torch.randn(2, 5, 3)
    with pytest.raises(RuntimeError, match="precision='int8' runs inference only"):
        layer(x)  # its parameters require gradients
    with pytest.raises(RuntimeError, match="inference only"):
        layer.step(x[:, 0])
    with torch.no_grad():
        assert layer(x)[0].shape == (2, 5, 8)
    from rnnkit.tasks import EncoderConfig, SequenceClassifier, SequenceClassifierConfig
    from rnnkit.train import TrainConfig, Trainer

    model = rn.set_precision(SequenceClassifier(SequenceClassifierConfig(
        EncoderConfig(input_size=3, rnn=RecurrentConfig(cell="lstm", hidden_size=8)), num_classes=2)), "int8")
    with pytest.raises(UserError, match="precision='int8' runs inference only"):
        Trainer(model, TrainConfig(max_epochs=1, progress="none")).fit([(torch.randn(4, 3).numpy(), 0)] * 4)


@needs_int8
def test_set_precision_switches_a_model_and_falls_back_without_the_kernel(monkeypatch):
    model = torch.nn.Sequential(rn.LSTM(3, 8), rn.GRU(8, 8))
    assert rn.set_precision(model, "int8") is model
    assert [layer.precision for layer in model] == ["int8", "int8"]
    with pytest.raises(ValueError, match="not MinGRU"):
        rn.set_precision(torch.nn.Sequential(rn.MinGRU(3, 8)), "int8")
    monkeypatch.setattr(extension, "compiled_kernels", lambda: frozenset({"float32"}))
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        assert model[0]._path(x) == "reference"
    assert "built without AVX-512 VNNI" in model[0].fast_path_reason


def test_int8_is_refused_with_the_reason_where_the_cpu_lacks_vnni(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    with pytest.raises(ValueError, match="precision='int8' is refused: this CPU has no AVX-512 VNNI"):
        rn.LSTM(3, 4, precision="int8")
    with pytest.raises(ValueError, match="precision='int8' is refused: this CPU has no AVX-512 VNNI"):
        rn.set_precision(torch.nn.Sequential(rn.GRU(3, 4)), "int8")


def test_min_cells_refuse_int8(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_vnni": True})
    with pytest.raises(ValueError, match="rnnkit's 8-bit recurrence for LSTM, GRU and RNN layers, not MinLSTM"):
        rn.MinLSTM(3, 4, precision="int8")



def test_configs_train_at_fp32_or_bf16_and_point_int8_to_set_precision():
    with pytest.raises(UserError, match=r"precision must be one of \['fp32', 'bf16-mixed'\], got 'int8' \(int8 runs "
                       r"a trained model: rnnkit.nn.set_precision"):
        RecurrentConfig(precision="int8")
