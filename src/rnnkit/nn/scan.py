"""Linear recurrences over time, ``h_t = a_t * h_{t-1} + b_t``, in PyTorch ops: the min cells' parallel path.

minGRU and minLSTM (``rnnkit.nn.min_rnn``) reduce to this recurrence because their gates read the input only.
Three ways to run it, all batch first, ``a`` and ``b`` (B, T, H), ``h0`` (B, H), returning ``h`` (B, T, H):

- ``scan_sequential``: T steps of one multiply-add; the definition, and the tests' reference.
- ``scan_chunked``: time cut into chunks of C steps. All chunks run their steps side by side from a zero state
  (C steps on (B, T/C, H) tensors), then one pass over the T/C chunk ends carries the true state across, and
  one broadcast adds each chunk's share of it. About 2 sqrt(T) steps instead of T, any signs, plain float32.
- ``scan_log_space`` (Heinsen 2023): ``log h = a* + logcumsumexp(log b - a*)`` with ``a* = cumsum(log a)``:
  two cumulative ops, no Python loop, but positive ``b`` and ``h0`` only and transcendental functions over
  every element, which on a CPU cost more than the loop they remove (bench/bench_speed.py measures it).

The extension's layer kernel (``csrc/min_rnn.cpp``: projection, gates and scan chunk by chunk) beats all three
on the CPU; these are the fallback and the comparison.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def scan_sequential(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t``, one step at a time."""
    h, outputs = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def default_chunk(steps: int) -> int:
    """Chunk length that minimises the scan's Python steps (C + T/C): about sqrt(T)."""
    return max(1, int(math.ceil(math.sqrt(steps))))


def scan_chunked(a: Tensor, b: Tensor, h0: Tensor, chunk: Optional[int] = None) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` with chunks of ``chunk`` steps (default about sqrt(T)); see the module doc."""
    batch, steps, hidden = a.shape
    chunk = chunk or default_chunk(steps)
    chunks = -(-steps // chunk)
    pad = chunks * chunk - steps
    if pad:  # a = 1, b = 0 past the end: the state passes through unchanged
        a, b = F.pad(a, (0, 0, 0, pad), value=1.0), F.pad(b, (0, 0, 0, pad))
    a, b = a.view(batch, chunks, chunk, hidden), b.view(batch, chunks, chunk, hidden)
    local, decay = [], []  # each chunk from a zero state; the product of its a's so far
    h, product = torch.zeros_like(a[:, :, 0]), torch.ones_like(a[:, :, 0])  # (B, K, H)
    for c in range(chunk):
        h = a[:, :, c] * h + b[:, :, c]
        product = product * a[:, :, c]
        local.append(h)
        decay.append(product)
    local_h, decay_h = torch.stack(local, dim=2), torch.stack(decay, dim=2)  # (B, K, C, H)
    starts, carry = [], h0
    for k in range(chunks):  # the state entering chunk k
        starts.append(carry)
        carry = decay_h[:, k, -1] * carry + local_h[:, k, -1]
    h = local_h + decay_h * torch.stack(starts, dim=1).unsqueeze(2)
    return h.reshape(batch, chunks * chunk, hidden)[:, :steps]


def scan_log_space(log_a: Tensor, log_b: Tensor, h0: Tensor) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` from ``log a`` and ``log b`` (so ``b > 0``), ``h0 >= 0`` (Heinsen 2023)."""
    if bool((h0 < 0).any()):
        raise ValueError("the log-space scan needs a non-negative initial state")
    log_h0 = torch.log(h0.clamp_min(torch.finfo(h0.dtype).tiny)).masked_fill(h0 == 0, float("-inf"))
    a_star = F.pad(torch.cumsum(log_a, dim=1), (0, 0, 1, 0))  # (B, T+1, H): 0, log a_1, log a_1 a_2, ...
    log_values = torch.cat([log_h0.unsqueeze(1), log_b], dim=1)  # (B, T+1, H)
    log_h = a_star + torch.logcumsumexp(log_values - a_star, dim=1)
    return torch.exp(log_h[:, 1:])
