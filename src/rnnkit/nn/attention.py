"""Attention over a memory of encoder states: additive (Bahdanau) and multiplicative (Luong "general") scores.

Both take a query q (B, Q) and keys k (B, S, K), score every source position s, and return the context (the
attention-weighted sum of the keys) and the weights::

    additive (Bahdanau et al. 2015):         e_s = v^T tanh(W_q q + W_k k_s + b)
    multiplicative (Luong et al. 2015):      e_s = q^T W k_s
    a = softmax_s(e)   over the positions where mask is True (padding gets weight exactly 0)
    context = sum_s a_s k_s

``W_k k_s`` (additive) and ``W k_s`` (multiplicative) do not depend on the query: ``project_keys(keys)`` computes
them once per sequence, and a decoder passes them back as ``projected=`` at every step instead of recomputing them.
Shapes are batch first: ``forward(query (B, Q), keys (B, S, K), mask (B, S) bool) -> (context (B, K), weights
(B, S))``. A row whose mask is all False is an error of the caller (its softmax would be NaN).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    def project_keys(self, keys: Tensor) -> Tensor:
        """The query-independent part of the score, computed once per sequence: (B, S, *)."""
        raise NotImplementedError

    def scores(self, query: Tensor, projected: Tensor) -> Tensor:
        """Unnormalised scores e (B, S) for ``query`` (B, Q) against ``projected`` keys (B, S, *)."""
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, mask: Optional[Tensor] = None,
                projected: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Context (B, K) and weights (B, S); ``projected``: ``project_keys(keys)`` when already computed."""
        if projected is None:
            projected = self.project_keys(keys)
        scores = self.scores(query, projected)  # (B, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)  # (B, K)
        return context, weights


class AdditiveAttention(_Attention):
    """Bahdanau's score ``e_s = v^T tanh(W_q q + W_k k_s + b)``; ``attention_size`` is the width of the tanh layer."""

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)  # W_q
        self.key_proj = nn.Linear(key_size, attention_size)  # W_k, b
        self.v = nn.Linear(attention_size, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, S, A)

    def scores(self, query: Tensor, projected: Tensor) -> Tensor:
        return self.v(torch.tanh(projected + self.query_proj(query).unsqueeze(1))).squeeze(-1)  # (B, S)


class MultiplicativeAttention(_Attention):
    """Luong's "general" score ``e_s = q^T W k_s`` (no bias: a bias on W k_s would shift all scores alike)."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, query_size, bias=False)  # W (Q, K)

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # W k_s: (B, S, Q)

    def scores(self, query: Tensor, projected: Tensor) -> Tensor:
        return torch.bmm(projected, query.unsqueeze(-1)).squeeze(-1)  # (B, S)


ATTENTIONS = ("additive", "multiplicative")


def make_attention(kind: str, query_size: int, key_size: int, attention_size: int) -> _Attention:
    """``make_attention("additive" | "multiplicative", query_size, key_size, attention_size)``."""
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, attention_size)
    if kind == "multiplicative":
        return MultiplicativeAttention(query_size, key_size)
    raise ValueError(f"attention must be one of {ATTENTIONS}, got {kind!r}")
