"""Attention against the hand-written formulas, gradients, and masks (padding must change nothing)."""

import pytest
import torch

from rnnkit.nn import AdditiveAttention, MultiplicativeAttention


def _additive_by_hand(att, q, k, mask):
    # e_s = v^T tanh(W_q q + W_k k_s + b), one position at a time
    B, S, _ = k.shape
    scores = torch.empty(B, S, dtype=q.dtype)
    for b in range(B):
        for s in range(S):
            hidden = torch.tanh(att.query_proj.weight @ q[b] + att.key_proj.weight @ k[b, s] + att.key_proj.bias)
            scores[b, s] = att.v.weight[0] @ hidden
    return _softmax_context(scores, k, mask)


def _multiplicative_by_hand(att, q, k, mask):
    # e_s = q^T W k_s
    B, S, _ = k.shape
    scores = torch.empty(B, S, dtype=q.dtype)
    for b in range(B):
        for s in range(S):
            scores[b, s] = q[b] @ att.key_proj.weight @ k[b, s]
    return _softmax_context(scores, k, mask)


def _softmax_context(scores, k, mask):
    weights = torch.zeros_like(scores)
    for b in range(scores.shape[0]):
        real = mask[b]
        e = torch.exp(scores[b, real] - scores[b, real].max())
        weights[b, real] = e / e.sum()
    context = torch.einsum("bs,bsk->bk", weights, k)
    return context, weights


CASES = [(lambda: AdditiveAttention(5, 4, 6), _additive_by_hand),
         (lambda: MultiplicativeAttention(5, 4), _multiplicative_by_hand)]


@pytest.mark.parametrize("build, by_hand", CASES, ids=["additive", "multiplicative"])
def test_matches_the_formula(build, by_hand):
    att = build().double()
    q, k = torch.randn(3, 5, dtype=torch.double), torch.randn(3, 7, 4, dtype=torch.double)
    mask = torch.arange(7) < torch.tensor([7, 4, 1]).unsqueeze(1)
    context, weights = att(q, k, mask)
    expected_context, expected_weights = by_hand(att, q, k, mask)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(context, expected_context)
    # the key projection computed once gives the same result
    torch.testing.assert_close(att(q, k, mask, projected=att.project_keys(k))[0], context)


@pytest.mark.parametrize("build, by_hand", CASES, ids=["additive", "multiplicative"])
def test_gradcheck(build, by_hand):
    att = build().double()
    q = torch.randn(2, 5, dtype=torch.double, requires_grad=True)
    k = torch.randn(2, 3, 4, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    assert torch.autograd.gradcheck(lambda q, k: att(q, k, mask), (q, k))


@pytest.mark.parametrize("build, by_hand", CASES, ids=["additive", "multiplicative"])
def test_padding_changes_nothing(build, by_hand):
    att = build()
    q, k = torch.randn(2, 5), torch.randn(2, 3, 4)
    context, weights = att(q, k)  # no mask: 3 real positions each
    padded = torch.cat([k, torch.randn(2, 4, 4) * 100], 1)  # 4 padded positions holding anything
    mask = torch.arange(7) < 3
    padded_context, padded_weights = att(q, padded, mask.expand(2, 7))
    torch.testing.assert_close(padded_context, context)
    torch.testing.assert_close(padded_weights[:, :3], weights)
    assert bool((padded_weights[:, 3:] == 0).all())
