"""Decoding CTC outputs (Graves et al. 2006): per-frame label log-probabilities ``(T, C)`` -> a label sequence.

CTC adds a blank (index ``blank``, 0 in rnnkit) to the labels. A path ``pi`` picks one label per frame, with
probability ``p(pi | x) = prod_t y_t(pi_t)``; collapsing it, ``B(pi)`` (merge repeats, then drop blanks:
``a a - a b b -> a a b``) gives a labelling, and

    p(l | x) = sum_{pi : B(pi) = l} p(pi | x).

- ``greedy_decode``: best path decoding, ``B(argmax_t y_t)``: the labelling of the single most probable path.
- ``prefix_beam_search``: the most probable labelling, approximately, by growing prefixes frame by frame and
  keeping for each the probability of the frames so far ending in a blank, ``p_b``, or not, ``p_nb``
  (Graves 2012, sec. 7.5; Hannun et al. 2014): with label ``c`` at frame t

      blank:           p_b'(l)  += (p_b(l) + p_nb(l)) y_t(blank)
      c = last of l:   p_nb'(l) += p_nb(l) y_t(c)                 (a repeat collapses into l)
                       p_nb'(l+c) += p_b(l) y_t(c)                (a blank between: a real second c)
      c != last:       p_nb'(l+c) += (p_b(l) + p_nb(l)) y_t(c)

  and keeping the ``beam`` most probable prefixes. With a beam as wide as the number of prefixes it is exact:
  ``p_b + p_nb`` at the end is ``p(l | x)``. All in log space.
- ``forced_align``: the most probable path that collapses to a given labelling (Viterbi on the CTC trellis): which
  frames emitted which labels.

Inputs are numpy arrays or tensors of natural-log probabilities (a log-softmax over the C labels per frame).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

NEG_INF = float("-inf")

# A language model hook for prefix_beam_search: the log-score added when label c extends prefix (a weighted
# log p(c | prefix), as in Hannun et al. 2014's alpha * log p_lm; an insertion bonus beta can be folded in).
LanguageModel = Callable[[tuple[int, ...], int], float]


def best_path(log_probs: Any) -> np.ndarray:
    """The most probable label per frame, (T,) int64."""
    return _as_array(log_probs).argmax(-1)


def collapse(path: Any, blank: int = 0) -> list[int]:
    """``B(pi)``: merge runs of the same label, then drop blanks."""
    out, previous = [], None
    for label in np.asarray(path).tolist():
        if label != previous and label != blank:
            out.append(label)
        previous = label
    return out


def greedy_decode(log_probs: Any, blank: int = 0) -> list[int]:
    """Best path decoding: collapse the frame-wise argmax."""
    return collapse(best_path(log_probs), blank)


def prefix_beam_search(log_probs: Any, beam: int = 10, *, blank: int = 0, prune: float = 1e-4,
                       lm: LanguageModel | None = None, n_best: int = 1) -> list[tuple[list[int], float]]:
    """The ``n_best`` most probable labellings with their log-probabilities ``log p(l | x)`` (plus the language
    model's scores when ``lm`` is given), best first.

    ``prune``: at each frame only labels with probability >= prune are tried (the frame's most probable label
    always is); 0 tries every label, which with a wide enough beam makes the search exact.
    """
    values = _as_array(log_probs).astype(np.float64)
    if values.ndim != 2:
        raise ValueError(f"log_probs must be (T, C), got shape {values.shape}")
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    threshold = math.log(prune) if prune > 0 else NEG_INF
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}  # prefix -> (log p_b, log p_nb)
    extension: dict[tuple[int, ...], float] = {(): 0.0}  # prefix -> its summed language model score
    for frame in values:
        labels = np.flatnonzero(frame >= threshold).tolist() or [int(frame.argmax())]
        if int(frame.argmax()) not in labels:
            labels.append(int(frame.argmax()))
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_b, p_nb) in beams.items():
            total = _logadd(p_b, p_nb)
            last = prefix[-1] if prefix else None
            for c in labels:
                y = float(frame[c])
                if c == blank:
                    entry = grown.setdefault(prefix, [NEG_INF, NEG_INF])
                    entry[0] = _logadd(entry[0], total + y)
                    continue
                longer = prefix + (c,)
                if longer not in extension:
                    extension[longer] = extension[prefix] + (lm(prefix, c) if lm is not None else 0.0)
                entry = grown.setdefault(longer, [NEG_INF, NEG_INF])
                if c == last:
                    entry[1] = _logadd(entry[1], p_b + y)  # needs a blank between the two c
                    same = grown.setdefault(prefix, [NEG_INF, NEG_INF])
                    same[1] = _logadd(same[1], p_nb + y)  # the repeat collapses
                else:
                    entry[1] = _logadd(entry[1], total + y)
        # The language model score ranks prefixes but is kept apart from p_b, p_nb (they stay CTC's own).
        ranked = sorted(grown.items(), key=lambda item: (-(_logadd(*item[1]) + extension[item[0]]), item[0]))
        beams = {prefix: (p[0], p[1]) for prefix, p in ranked[:beam]}
    final = sorted(((list(prefix), _logadd(p_b, p_nb) + extension[prefix]) for prefix, (p_b, p_nb) in beams.items()),
                   key=lambda item: (-item[1], item[0]))
    return final[:n_best]


def beam_decode(log_probs: Any, beam: int = 10, *, blank: int = 0, prune: float = 1e-4,
                lm: LanguageModel | None = None) -> list[int]:
    """The best labelling of ``prefix_beam_search``."""
    return prefix_beam_search(log_probs, beam, blank=blank, prune=prune, lm=lm)[0][0]


def forced_align(log_probs: Any, target: list[int], blank: int = 0) -> tuple[np.ndarray, float]:
    """The most probable path (T,) with ``B(path) == target``, and its log-probability (Viterbi).

    States are the target with blanks around and between its labels, ``- l1 - l2 ... lL -`` (S = 2L + 1); a path
    stays in a state, moves to the next, or skips a blank between two different labels. Raises ValueError when
    the T frames are too few for the target (T < L + number of repeated neighbours).
    """
    values = _as_array(log_probs).astype(np.float64)
    steps = values.shape[0]
    states = [blank]
    for label in target:
        states += [label, blank]
    needed = len(target) + sum(a == b for a, b in itertools.pairwise(target))
    if steps < needed:
        raise ValueError(f"{steps} frames cannot emit {len(target)} labels with {needed - len(target)} repeats "
                         f"(CTC needs at least {needed})")
    count = len(states)
    score = np.full((steps, count), NEG_INF)
    back = np.zeros((steps, count), dtype=np.int64)
    score[0, 0] = values[0, states[0]]
    if count > 1:
        score[0, 1] = values[0, states[1]]
    for t in range(1, steps):
        for s in range(count):
            options = [(score[t - 1, s], s)]
            if s >= 1:
                options.append((score[t - 1, s - 1], s - 1))
            if s >= 2 and states[s] != blank and states[s] != states[s - 2]:
                options.append((score[t - 1, s - 2], s - 2))
            best, source = max(options)
            score[t, s], back[t, s] = best + values[t, states[s]], source
    finals = [count - 1] + ([count - 2] if count > 1 else [])
    s = max(finals, key=lambda end: score[-1, end])
    total = float(score[-1, s])
    path = np.zeros(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = states[s]
        s = back[t, s]
    return path, total


def emissions(path: Any, blank: int = 0) -> list[tuple[int, int]]:
    """``(frame, label)`` for each label a path emits: the first frame of each run of a non-blank label."""
    out, previous = [], None
    for t, label in enumerate(np.asarray(path).tolist()):
        if label != previous and label != blank:
            out.append((t, label))
        previous = label
    return out


def _logadd(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def _as_array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)
