"""CTC decoding against brute force: every path of a tiny input enumerated, collapsed and summed."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.tasks.decoding.ctc import (beam_decode, collapse, emissions, forced_align, greedy_decode,
                                     prefix_beam_search)


def _random_log_probs(rng: np.random.Generator, steps: int, labels: int, sharpness: float = 1.0) -> np.ndarray:
    logits = rng.normal(size=(steps, labels)) * sharpness
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _labelling_probabilities(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """p(l | x) for every labelling: the sum over all C^T paths that collapse to it."""
    steps, labels = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(labels), repeat=steps):
        p = math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
        key = tuple(collapse(path))
        totals[key] = totals.get(key, 0.0) + p
    return totals


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([1, 1, 0, 1, 2, 2, 0]) == [1, 1, 2]
    assert collapse([0, 0, 0]) == []
    assert emissions([0, 1, 1, 0, 1, 2, 2]) == [(1, 1), (4, 1), (5, 2)]


def _peaked_log_probs(rng: np.random.Generator, steps: int, labels: int) -> np.ndarray:
    """A random path holds 0.9 of every frame's probability; the rest is spread at random."""
    probs = rng.dirichlet(np.ones(labels), size=steps) * 0.1
    probs[np.arange(steps), rng.integers(0, labels, steps)] += 0.9
    return np.log(probs)


def test_beam_width_one_agrees_with_greedy_on_peaked_inputs():
    rng = np.random.default_rng(0)
    for _ in range(20):
        log_probs = _peaked_log_probs(rng, 30, 6)
        assert beam_decode(log_probs, beam=1) == greedy_decode(log_probs)
        assert beam_decode(log_probs, beam=5) == greedy_decode(log_probs)


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5])
def test_wide_beam_search_finds_the_most_probable_labelling_exactly(steps):
    rng = np.random.default_rng(steps)
    for _ in range(5):
        log_probs = _random_log_probs(rng, steps, 3)  # blank and 2 labels
        exact = _labelling_probabilities(log_probs)
        assert sum(exact.values()) == pytest.approx(1.0)
        results = prefix_beam_search(log_probs, beam=1000, prune=0.0, n_best=len(exact))
        best = max(exact, key=exact.get)
        assert tuple(results[0][0]) == best
        # every labelling's probability, not only the best one
        assert {tuple(l): math.exp(s) for l, s in results} == pytest.approx(exact)


def test_narrow_beam_search_with_pruning_on_random_inputs_is_close_to_exact():
    rng = np.random.default_rng(7)
    found = 0
    for _ in range(20):
        log_probs = _random_log_probs(rng, 5, 4, sharpness=2.0)
        exact = _labelling_probabilities(log_probs)
        decoded = tuple(beam_decode(log_probs, beam=8))
        found += decoded == max(exact, key=exact.get)
        # an approximation: a narrow beam may drop a prefix that would have won, but not by much
        assert exact[decoded] >= 0.8 * max(exact.values())
    assert found >= 18


def test_ctc_loss_is_minus_log_of_the_brute_force_sum():
    rng = np.random.default_rng(3)
    for target in ([1], [1, 2], [2, 2], [1, 2, 1]):
        log_probs = _random_log_probs(rng, 5, 3)
        exact = _labelling_probabilities(log_probs)[tuple(target)]
        loss = F.ctc_loss(torch.tensor(log_probs).unsqueeze(1), torch.tensor([target]), torch.tensor([5]),
                          torch.tensor([len(target)]), blank=0, reduction="sum")
        assert float(loss) == pytest.approx(-math.log(exact), rel=1e-9)


def test_forced_alignment_is_the_best_path_that_collapses_to_the_target():
    rng = np.random.default_rng(4)
    for target in ([1], [1, 2], [2, 2], [1, 2, 1], []):
        log_probs = _random_log_probs(rng, 5, 3)
        paths = [p for p in itertools.product(range(3), repeat=5) if collapse(p) == target]
        scores = [sum(log_probs[t, c] for t, c in enumerate(p)) for p in paths]
        path, score = forced_align(log_probs, target)
        assert collapse(path) == target
        assert score == pytest.approx(max(scores))
        assert tuple(path.tolist()) == paths[int(np.argmax(scores))]


def test_forced_alignment_refuses_too_few_frames():
    with pytest.raises(ValueError, match="needs at least 3"):
        forced_align(np.log(np.full((2, 3), 1 / 3)), [1, 1])


def test_language_model_hook_changes_the_ranking():
    log_probs = np.log(np.array([[0.1, 0.46, 0.44], [0.9, 0.05, 0.05]]))
    assert beam_decode(log_probs, beam=4) == [1]
    prefer_two = lambda prefix, c: 0.0 if c == 2 else -1.0
    assert beam_decode(log_probs, beam=4, lm=prefer_two) == [2]
