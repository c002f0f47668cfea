"""The C++ extension path: which path ``impl="auto"`` takes and why, state gradients, a clean build."""

import os
import subprocess
import sys

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rn
from rnnkit.nn import extension, precision

needs_extension = pytest.mark.skipif(bool(extension.unavailable()), reason=str(extension.unavailable()))


@needs_extension
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_gradcheck_with_initial_state(mode):
    layer = getattr(rn, mode)(2, 3, num_layers=2, dtype=torch.float64, impl="extension")
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)

    def run(x, h0, c0):
        output, final = layer(x, (h0, c0) if mode == "LSTM" else h0, lengths=[4, 1, 3])
        return (output, *final) if mode == "LSTM" else (output, final)

    assert gradcheck(run, (x, h0, c0) if mode == "LSTM" else (x, h0, c0.detach()))


@needs_extension
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_sequence_gets_the_same_numbers_in_any_batch(mode, threads):
    """Row by row, bit for bit: alone, in a subset, in a ragged batch, on any number of threads."""
    layer = getattr(rn, mode)(3, 20, num_layers=2, impl="extension")
    x, lengths = torch.randn(13, 9, 3), torch.randint(1, 10, (13,))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            output, _ = layer(x, lengths=lengths)
            for rows in (torch.arange(0, 13, 3), torch.tensor([5])):
                subset, _ = layer(x[rows, : int(lengths[rows].max())], lengths=lengths[rows])
                assert torch.equal(subset, output[rows, : subset.shape[1]])
    finally:
        torch.set_num_threads(before)


@needs_extension
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_threads_change_no_number_forward_or_backward(mode):
    """13 ragged sequences from a given state, dealt to 1, 2 or 3 threads (uneven row groups, each keeping its
    rows' state in a block of its own): the same outputs and final states, bit for bit, and the same gradients up
    to the order of sums (bias gradients are summed per row group; PyTorch's products split by thread)."""
    torch.manual_seed(0)
    layer = getattr(rn, mode)(3, 20, num_layers=2, impl="extension")
    x, lengths = torch.randn(13, 9, 3), torch.randint(1, 10, (13,))
    state = [torch.randn(2, 13, 20) for _ in range(2 if mode == "LSTM" else 1)]
    weights = torch.randn(13, 9, 20), [torch.randn(2, 13, 20) for _ in state]  # a loss that reads everything
    before, runs = torch.get_num_threads(), []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            inputs = [t.clone().requires_grad_() for t in (x, *state)]
            output, final = layer(inputs[0], tuple(inputs[1:]) if mode == "LSTM" else inputs[1], lengths=lengths)
            final = list(final) if mode == "LSTM" else [final]
            loss = (output * weights[0]).sum() + sum((f * w).sum() for f, w in zip(final, weights[1]))
            grads = torch.autograd.grad(loss, inputs + list(layer.parameters()))
            runs.append(([output.detach(), *(f.detach() for f in final)], grads))
    finally:
        torch.set_num_threads(before)
    for values, grads in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(values, runs[0][0]))
        for a, b in zip(grads, runs[0][1]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6 * float(b.abs().max()))


@needs_extension
def test_auto_takes_the_fastest_measured_path():
    """On the CPU: the extension, for training and inference, in either precision."""
    precisions = ["fp32"] + ([] if precision.bf16_unsupported() else ["bf16-mixed"])
    x = torch.randn(2, 5, 3)
    for name in precisions:
        gru, rnn, lstm = (cls(3, 4, precision=name) for cls in (rn.GRU, rn.RNN, rn.LSTM))
        assert (gru._path(x), rnn._path(x), lstm._path(x)) == ("extension", "extension", "extension")
        with torch.no_grad():
            assert (gru._path(x), rnn._path(x), lstm._path(x)) == ("extension", "extension", "extension")
        assert lstm.fast_path_reason is None


def test_without_the_extension_auto_falls_back_and_says_why(monkeypatch):
    monkeypatch.setattr(extension, "unavailable", lambda: "no C++ compiler")
    gru, reference = rn.GRU(3, 4), rn.GRU(3, 4, impl="reference")
    reference.load_state_dict(gru.state_dict())
    x = torch.randn(2, 5, 3)
    output, _ = gru(x)
    assert gru.fast_path_reason == "no C++ compiler" and gru._path(x) == "fused"
    torch.testing.assert_close(output, reference(x)[0])
    with pytest.raises(RuntimeError, match=r"impl=.extension. is not possible: no C\+\+ compiler"):
        rn.GRU(3, 4, impl="extension")(x)


@needs_extension
def test_what_the_extension_cannot_do_goes_elsewhere_with_a_reason():
    projected = rn.LSTM(3, 4, proj_size=2)
    output, _ = projected(torch.randn(2, 5, 3))
    assert output.shape == (2, 5, 2) and "proj_size" in projected.fast_path_reason
    normed = rn.GRU(3, 4, layer_norm=True)
    normed(torch.randn(2, 5, 3))
    assert "layer_norm" in normed.fast_path_reason
    with pytest.raises(RuntimeError, match="impl='extension' is not possible: proj_size"):
        rn.LSTM(3, 4, proj_size=2, impl="extension")(torch.randn(2, 5, 3))


@pytest.mark.slow
def test_the_extension_builds_from_a_clean_cache(tmp_path):
    """What a fresh machine does on first use: build from the package's sources into an empty cache, saying so
    in one line with the folder; then the build is found, in silence (``python -m rnnkit.nn.build_kernels``)."""
    environment = dict(os.environ, TORCH_EXTENSIONS_DIR=str(tmp_path))
    script = "from rnnkit.nn import extension; print(extension.unavailable())"
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                            timeout=900)
    assert result.stdout.strip() == "None", result.stdout + result.stderr
    assert any(tmp_path.iterdir())
    announced = [line for line in result.stderr.splitlines() if line.startswith("rnnkit: building")]
    assert len(announced) == 1 and str(tmp_path) in announced[0], result.stderr
    again = subprocess.run([sys.executable, "-m", "rnnkit.nn.build_kernels"], env=environment, capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0 and "ready" in again.stdout, again.stdout + again.stderr
    assert "rnnkit: building" not in again.stderr


def test_a_lock_left_by_a_killed_build_is_removed_and_a_live_one_kept(tmp_path, capsys):
    import os
    import time

    from rnnkit.nn.extension import STALE_LOCK_S, _remove_stale_lock

    lock = tmp_path / "lock"
    lock.touch()
    _remove_stale_lock(lock)
    assert lock.exists()  # a build may be running
    old = time.time() - STALE_LOCK_S - 60
    os.utime(lock, (old, old))
    _remove_stale_lock(lock)
    assert not lock.exists() and "stale build lock" in capsys.readouterr().err
    _remove_stale_lock(lock)  # none: nothing to do
