"""Variable lengths: padding never changes the result, on either side, on either path."""

import pytest
import torch

import rnnkit.nn as rn
from nn_reference import as_tuple

LAYERS = [
    lambda impl: rn.LSTM(3, 5, num_layers=2, bidirectional=True, impl=impl),
    lambda impl: rn.GRU(3, 5, bidirectional=True, impl=impl),
    lambda impl: rn.RNN(3, 5, num_layers=2, impl=impl),
    lambda impl: rn.LSTM(3, 5, bidirectional=True, layer_norm=True, impl=impl),
]


def _pad(sequences, steps, side, fill):
    batch = torch.full((len(sequences), steps, sequences[0].shape[-1]), fill)
    for b, seq in enumerate(sequences):
        if side == "right":
            batch[b, : len(seq)] = seq
        else:
            batch[b, steps - len(seq):] = seq
    return batch


@pytest.mark.parametrize("make", LAYERS)
@pytest.mark.parametrize("impl", ["auto", "reference"])
@pytest.mark.parametrize("fill", [1e3, float("nan")])
def test_right_left_and_unpadded_agree(make, impl, fill):
    layer = make(impl)
    lengths = [7, 2, 5, 1]
    sequences = [torch.randn(n, 3) for n in lengths]
    right, left = _pad(sequences, 9, "right", fill), _pad(sequences, 9, "left", fill)
    right.requires_grad_(True)
    out_right, final_right = layer(right, lengths=lengths)
    out_left, final_left = layer(left, lengths=lengths, padding_side="left")
    for b, (seq, n) in enumerate(zip(sequences, lengths)):
        alone, final_alone = layer(seq.unsqueeze(0))
        torch.testing.assert_close(out_right[b, :n], alone[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(out_left[b, 9 - n:], alone[0], atol=1e-6, rtol=1e-5)
        for r, l, a in zip(as_tuple(final_right), as_tuple(final_left), as_tuple(final_alone)):
            torch.testing.assert_close(r[:, b], a[:, 0], atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(l[:, b], a[:, 0], atol=1e-6, rtol=1e-5)
        assert torch.all(out_right[b, n:] == 0) and torch.all(out_left[b, : 9 - n] == 0)
    # Gradients stay finite and reach no padded input.
    out_right.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    grad = right.grad
    for b, n in enumerate(lengths):
        assert torch.all(grad[b, n:] == 0)


def test_full_lengths_equal_no_lengths():
    layer = rn.LSTM(2, 4)
    x = torch.randn(3, 6, 2)
    torch.testing.assert_close(layer(x, lengths=[6, 6, 6])[0], layer(x)[0], atol=0, rtol=0)
