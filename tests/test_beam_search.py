"""Beam search against exhaustive search on a tiny random decoder (and an ensemble of two); greedy equals beam 1;
per-input length limits, and outputs cut at them reported."""

import itertools
import math
from typing import NamedTuple

import pytest
import torch

from rnnkit.tasks.decoding.beam_search import beam_search, ensemble_step, greedy_decode, length_penalty, map_batch

V, BOS, EOS, H = 4, 0, 1, 6  # tokens 0..3; BOS is never generated (the step gives it -inf)


class Context(NamedTuple):
    bias: torch.Tensor  # (B, H): per-input conditioning, constant over the steps
    unused: None


def make_step(seed: int):
    """A random recurrent decoder: h' = tanh(E[y] + U h + bias), log p = log_softmax(O h')."""
    g = torch.Generator().manual_seed(seed)
    E, U, O = (torch.randn(V, H, generator=g), torch.randn(H, H, generator=g) * 0.5,
               torch.randn(H, V, generator=g) * 1.5)

    def step(tokens, state, context):
        (h,) = state
        h = torch.tanh(E[tokens] + h @ U + context.bias)
        log_probs = torch.log_softmax(h @ O, -1)
        log_probs[:, BOS] = float("-inf")
        return log_probs, (h,), h[:, :2]  # an "extra" per step, kept per hypothesis

    return step


def exhaustive(step, context, b, max_length, alpha, width=H):
    """The best sequence for input b by scoring every sequence that can be generated (state: (1, width) zeros)."""
    one = Context(context.bias[b:b + 1], None)
    best = (-math.inf, None)
    for n in range(1, max_length + 1):
        for body in itertools.product([t for t in range(V) if t not in (BOS, EOS)], repeat=n - 1):
            for last in (EOS,) + ((tuple(range(2, V))) if n == max_length else ()):
                sequence = list(body) + [last]
                state, tokens, total = (torch.zeros(1, width),), torch.tensor([BOS]), 0.0
                for token in sequence:
                    log_probs, state, _ = step(tokens, state, one)
                    total += float(log_probs[0, token])
                    tokens = torch.tensor([token])
                score = total / length_penalty(float(n), alpha)
                if score > best[0]:
                    best = (score, sequence[:-1] if last == EOS else sequence)
    return best


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_beam_covering_every_prefix_finds_the_true_best(alpha):
    step, max_length, B = make_step(1), 4, 3
    context = Context(torch.randn(B, H), None)
    found = beam_search(step, (torch.zeros(B, H),), context, B, bos=BOS, eos=EOS, beam_size=V ** max_length,
                        max_length=max_length, alpha=alpha)
    for b in range(B):
        score, tokens = exhaustive(step, context, b, max_length, alpha)
        assert found.tokens[b] == tokens
        assert found.scores[b] == pytest.approx(score, abs=1e-5)
        assert found.extras[b].shape == (len(tokens) + (len(tokens) < max_length), 2)


def test_greedy_is_beam_one_and_wider_beams_never_score_worse():
    step, B = make_step(2), 5
    context = Context(torch.randn(B, H), None)
    state = (torch.zeros(B, H),)
    greedy = greedy_decode(step, state, context, B, bos=BOS, eos=EOS, max_length=8)
    beam1 = beam_search(step, state, context, B, bos=BOS, eos=EOS, beam_size=1, max_length=8)
    assert greedy.tokens == beam1.tokens
    assert greedy.scores == pytest.approx(beam1.scores, abs=1e-5)
    for b in range(B):
        torch.testing.assert_close(greedy.extras[b], beam1.extras[b])
    wide = beam_search(step, state, context, B, bos=BOS, eos=EOS, beam_size=4, max_length=8)
    assert all(w >= g - 1e-6 for w, g in zip(wide.scores, greedy.scores))


def never_ends(step):
    """``step`` that never writes EOS: every output runs into its length limit."""
    def wrapped(tokens, state, context):
        log_probs, state, extra = step(tokens, state, context)
        return log_probs.index_fill(-1, torch.tensor([EOS]), float("-inf")), state, extra
    return wrapped


@pytest.mark.parametrize("beam", [1, 3])
def test_per_input_limits_decode_each_input_as_alone_and_cut_outputs_are_reported(beam):
    step, limits = make_step(5), [1, 6, 3, 9]
    context = Context(torch.randn(len(limits), H), None)

    def decode(step, rows, max_length):
        part, state = Context(context.bias[rows], None), (torch.zeros(len(rows), H),)
        options = {"bos": BOS, "eos": EOS, "max_length": max_length}
        return (greedy_decode(step, state, part, len(rows), **options) if beam == 1 else
                beam_search(step, state, part, len(rows), beam_size=beam, **options))

    together = decode(step, list(range(len(limits))), limits)
    assert any(together.capped) and not all(together.capped)  # the random decoder ends some outputs, not all
    for b, limit in enumerate(limits):
        alone = decode(step, [b], limit)
        assert together.tokens[b] == alone.tokens[0] and together.scores[b] == pytest.approx(alone.scores[0])
        torch.testing.assert_close(together.extras[b], alone.extras[0])
        # an output is cut exactly when it holds `limit` tokens: EOS, when written, counts towards the limit
        assert together.capped[b] == alone.capped[0] == (len(alone.tokens[0]) == limit)
    cut = decode(never_ends(step), list(range(len(limits))), limits)
    assert cut.capped == [True] * len(limits) and [len(tokens) for tokens in cut.tokens] == limits
    with pytest.raises(ValueError, match="max_length"):
        decode(step, [0, 1], [3, 0])


def test_map_batch_keeps_structure():
    value = (torch.arange(3), [torch.ones(3, 2), None], Context(torch.zeros(3, 1), None))
    mapped = map_batch(value, lambda t: t.repeat_interleave(2, 0))
    assert mapped[0].tolist() == [0, 0, 1, 1, 2, 2]
    assert mapped[1][1] is None and isinstance(mapped[2], Context) and mapped[2].bias.shape == (6, 1)
    with pytest.raises(TypeError):
        map_batch({"a": torch.ones(1)}, lambda t: t)


def joined(*steps):
    """``ensemble_step`` of ``steps`` behind the one-model interface: their hidden states side by side in one."""
    joint = ensemble_step(steps)

    def step(tokens, state, context):
        parts = tuple((h,) for h in state[0].chunk(len(steps), -1))
        log_probs, states, extra = joint(tokens, parts, (context,) * len(steps))
        return log_probs, (torch.cat([h for (h,) in states], -1),), extra

    return step


def test_ensemble_step_averages_probabilities_and_beam_search_finds_its_best():
    first, second, B, max_length = make_step(3), make_step(4), 2, 4
    context = Context(torch.randn(B, H), None)
    tokens, zeros = torch.tensor([BOS] * B), (torch.zeros(B, H),)
    log_probs, states, extra = ensemble_step([first, second])(tokens, (zeros, zeros), (context, context))
    p1, p2 = first(tokens, zeros, context)[0].exp(), second(tokens, zeros, context)[0].exp()
    torch.testing.assert_close(log_probs.exp(), (p1 + p2) / 2)
    torch.testing.assert_close(extra, first(tokens, zeros, context)[2])  # the first model's extra
    alone = ensemble_step([first])(tokens, (zeros,), (context,))[0]
    assert torch.equal(alone, first(tokens, zeros, context)[0])  # an ensemble of one is the model

    step = joined(first, second)
    found = beam_search(step, (torch.zeros(B, 2 * H),), context, B, bos=BOS, eos=EOS, beam_size=V ** max_length,
                        max_length=max_length, alpha=0.5)
    for b in range(B):
        score, best = exhaustive(step, context, b, max_length, 0.5, width=2 * H)
        assert found.tokens[b] == best and found.scores[b] == pytest.approx(score, abs=1e-5)
