"""Greedy decoding and beam search for any step-by-step decoder, batched: B inputs x K hypotheses at once.

The decoder is a function ``step(tokens (N,), state, context) -> (log_probs (N, V), state, extra)``:

- ``state``: what changes from step to step (tensors, or nested tuples/lists/NamedTuples of them, ``None``
  allowed), every tensor with the batch in dim 0. Beam search reorders it by hypothesis after each step.
- ``context``: what does not change (the encoder's memory, masks, source ids), same layout; beam search repeats
  it K times once, at the start, and never copies it again.
- ``extra``: None, or a (N, S) tensor per step to keep with each hypothesis (attention weights).

Scores. A hypothesis y_1..y_n (n counts the EOS when there is one) scores ``log p(y) / lp(n)`` with GNMT's length
penalty (Wu et al. 2016) ``lp(n) = ((5 + n) / 6) ** alpha``: ``alpha=0`` is the plain log probability (which
favours short outputs), ``alpha=1`` nearly divides by the length. ``max_length`` counts generated tokens, EOS
included, one number for all inputs or one per input; a hypothesis that reaches it without EOS is finished as it
is, and ``Hypotheses.capped`` says so: a cut output is never silent.

Search. Each step takes the 2K best extensions of the K live hypotheses: those among the best K that end in EOS
are finished, the best K that do not end stay live (fairseq's rule). An input is done when its best finished score
is at least the best any live hypothesis could still reach (log p only falls as it grows, and lp, >= 1 for
``alpha >= 0``, is largest at max_length); so the search is exact once K covers every prefix (tested against
exhaustive enumeration). With ``alpha=0``, beam 1 is greedy decoding.

Ensembles. ``ensemble_step`` turns M models' steps into one: the state and context become tuples with one entry
per model, and the next-token distribution is the mean of theirs, p(w) = (1/M) sum_m p_m(w | y_<t, x), so both
searches decode an ensemble as they decode one model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import Tensor

Step = Callable[[Tensor, Any, Any], tuple[Tensor, Any, Optional[Tensor]]]
MaxLength = int | Sequence[int] | Tensor  # one limit for all inputs, or one per input


@dataclass
class Hypotheses:
    """The best output per input: ``tokens`` without BOS/EOS, ``scores`` (length-normalised log probabilities),
    ``extras`` (one (n, S) tensor per input, n generated steps including EOS; None when the step gives none),
    ``capped`` (per input: True when the output reached its ``max_length`` without EOS, i.e. it was cut)."""

    tokens: list[list[int]]
    scores: list[float]
    extras: Optional[list[Tensor]] = None
    capped: list[bool] = field(default_factory=list)


def map_batch(value: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    """Apply ``fn`` to every tensor in a nested tuple/list/NamedTuple (None passes through)."""
    if isinstance(value, Tensor):
        return fn(value)
    if value is None:
        return None
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_batch(item, fn) for item in value))
    if isinstance(value, (tuple, list)):
        return type(value)(map_batch(item, fn) for item in value)
    raise TypeError(f"decoder state must hold tensors, tuples, lists or None, got {type(value).__name__}")


def ensemble_step(steps: Sequence[Step]) -> Step:
    """One step for M models decoding together (state and context: M-tuples, one entry per model): the mean of
    their next-token probabilities, log((1/M) sum_m exp(log p_m)); ``extra`` is the first model's."""

    def step(tokens: Tensor, states: tuple, contexts: tuple):
        results = [model_step(tokens, state, context) for model_step, state, context in zip(steps, states, contexts)]
        log_probs = results[0][0] if len(results) == 1 else (
            torch.logsumexp(torch.stack([r[0] for r in results]), 0) - math.log(len(results)))
        return log_probs, tuple(r[1] for r in results), results[0][2]

    return step


def length_penalty(length: Tensor | float, alpha: float) -> Tensor | float:
    """GNMT's ``((5 + n) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def greedy_decode(step: Step, state: Any, context: Any, batch_size: int, *, bos: int, eos: int,
                  max_length: MaxLength) -> Hypotheses:
    """The most likely token at every step, until EOS or ``max_length`` tokens (per input, or one for all);
    scores are summed log probabilities (no length penalty)."""
    device = _device(state, context)
    limits = output_limits(max_length, batch_size, device)  # (B,)
    tokens = torch.full((batch_size,), bos, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    scores = torch.zeros(batch_size, device=device)
    outputs, extras = [], []
    for t in range(1, int(limits.max()) + 1):
        log_probs, state, extra = step(tokens, state, context)
        best, tokens = log_probs.max(-1)
        scores += torch.where(done, torch.zeros_like(best), best)
        outputs.append(torch.where(done, torch.full_like(tokens, eos), tokens))
        if extra is not None:
            extras.append(extra)
        done |= (tokens == eos) | (limits <= t)
        if bool(done.all()):
            break
    generated = torch.stack(outputs, 1).tolist()  # (B, n)
    limits = limits.tolist()
    capped = [eos not in row[:limit] for row, limit in zip(generated, limits)]
    lengths = [limit if cut else row.index(eos) + 1 for row, limit, cut in zip(generated, limits, capped)]
    result = Hypotheses([row[:n - (not cut)] for row, n, cut in zip(generated, lengths, capped)], scores.tolist(),
                        capped=capped)
    if extras:
        stacked = torch.stack(extras, 1)  # (B, n, S)
        result.extras = [stacked[b, :n].cpu() for b, n in enumerate(lengths)]
    return result


@torch.no_grad()
def beam_search(step: Step, state: Any, context: Any, batch_size: int, *, bos: int, eos: int, beam_size: int,
                max_length: MaxLength, alpha: float = 0.0) -> Hypotheses:
    """The best hypothesis per input under ``log p / lp(n)`` (see the module docstring), searched with
    ``beam_size`` hypotheses per input and at most ``max_length`` tokens (per input, or one for all)."""
    if beam_size < 1 or alpha < 0:
        raise ValueError(f"beam_size must be >= 1 and alpha >= 0, got {beam_size}, {alpha}")
    B, K = batch_size, beam_size
    device = _device(state, context)
    limits = output_limits(max_length, B, device)  # (B,)
    state = map_batch(state, lambda t: t.repeat_interleave(K, 0))  # row b*K + k: hypothesis k of input b
    context = map_batch(context, lambda t: t.repeat_interleave(K, 0))
    tokens = torch.full((B * K,), bos, dtype=torch.long, device=device)
    live = torch.full((B, K), float("-inf"), device=device)
    live[:, 0] = 0.0  # one live hypothesis (the empty one) per input at the start
    history = torch.empty(B * K, 0, dtype=torch.long, device=device)
    extra_history: Optional[Tensor] = None
    best: list[Optional[tuple[float, list[int], Optional[Tensor], bool]]] = [None] * B
    done = [False] * B
    bounds = length_penalty(limits.float(), alpha).tolist()  # lp is largest at each input's own limit
    for t in range(1, int(limits.max()) + 1):
        log_probs, state, extra = step(tokens, state, context)
        V = log_probs.shape[-1]
        total = (live.view(B * K, 1) + log_probs.float()).view(B, K * V)  # (B, K*V)
        top, index = total.topk(min(2 * K, K * V), dim=1)  # (B, 2K)
        beam, token = index // V, index % V
        rows = (beam + torch.arange(B, device=device).unsqueeze(1) * K)  # (B, 2K) rows of the N = B*K hypotheses
        ends = (token == eos) | (limits <= t).unsqueeze(1)
        # only the K best extensions may finish (as fairseq): with K=1 that is exactly greedy decoding
        finishing = ends & torch.isfinite(top)
        finishing[:, K:] = False
        if extra is not None:
            extra_history = extra.unsqueeze(1) if extra_history is None else torch.cat(
                [extra_history, extra.unsqueeze(1)], 1)
        penalty = length_penalty(float(t), alpha)
        # finished hypotheses: keep the best per input (only finite scores: -inf are dead beams)
        for b, j in finishing.nonzero().tolist():
            score = float(top[b, j]) / penalty
            if not done[b] and (best[b] is None or score > best[b][0]):
                row, last = int(rows[b, j]), int(token[b, j])
                body = history[row].tolist() + ([] if last == eos else [last])
                best[b] = (score, body, None if extra_history is None else extra_history[row].cpu(), last != eos)
        # the best K continuing extensions become the live hypotheses
        candidates = top.masked_fill(ends, float("-inf"))
        keep, order = candidates.topk(K, dim=1)  # (B, K)
        chosen = rows.gather(1, order).view(-1)  # (B*K,)
        tokens = token.gather(1, order).view(-1)
        live = keep
        history = torch.cat([history[chosen], tokens.unsqueeze(1)], 1)
        if extra_history is not None:
            extra_history = extra_history[chosen]
        state = map_batch(state, lambda s, rows=chosen: s.index_select(0, rows))
        for b in range(B):
            reachable = float(live[b].max()) / bounds[b]
            if not done[b] and best[b] is not None and best[b][0] >= reachable:
                done[b] = True
        if all(done):
            break
    result = Hypotheses([entry[1] for entry in best], [entry[0] for entry in best],  # type: ignore[index]
                        capped=[entry[3] for entry in best])  # type: ignore[index]
    if extra_history is not None:
        result.extras = [entry[2] for entry in best]  # type: ignore[index]
    return result


def output_limits(max_length: MaxLength, batch_size: int, device: torch.device) -> Tensor:
    """``max_length`` as one limit per input, (B,) int64 on ``device``; each must be >= 1."""
    limits = torch.as_tensor(max_length, dtype=torch.long, device=device).flatten()
    limits = limits.expand(batch_size) if limits.numel() == 1 else limits
    if limits.numel() != batch_size or bool((limits < 1).any()):
        raise ValueError(f"max_length must be >= 1, one for all inputs or one per input ({batch_size}), got "
                         f"{max_length}")
    return limits


def _device(state: Any, context: Any) -> torch.device:
    found: list[torch.device] = []
    map_batch((state, context), lambda t: found.append(t.device) or t)
    return found[0] if found else torch.device("cpu")
