"""Corpus BLEU from statistics that add up over batches, so that a validation pass can monitor it.

    stats = bleu_statistics(reference_ids, hypothesis_ids)       # one sentence: [c, r, m_1..m_4, t_1..t_4]
    score = bleu_from_statistics(sum_of_stats)                   # 0-100

BLEU (Papineni et al. 2002) on token sequences (ids or words, compared as they are, no tokenisation):

    p_n  = m_n / t_n                         clipped n-gram matches over hypothesis n-grams, summed over the corpus
    BP   = min(1, exp(1 - r / c))            c: hypothesis tokens, r: reference tokens
    BLEU = 100 * BP * exp(mean_n log p_n)

As sacrebleu's corpus BLEU without smoothing (``smooth_method="none"``): an order with no match scores 0. Its
default smoothing counts an order with no match as 1 / 2^k matches, which depends on the counts' scale, so that
the trainer's averaged counts would inflate it (a corpus of one-word captions scored 31). The counts may be
summed or averaged over sentences: the score is the same. ``rnnkit.eval.sequence_metrics.bleu`` (sacrebleu on
text, smoothed) is the score that reports give; this one is for choosing the best epoch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

ORDER = 4
BLEU_SIZE = 2 + 2 * ORDER  # numbers per sentence: c, r, the matches and the totals of each order


def _ngrams(tokens: Sequence[Any], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu_statistics(reference: Sequence[Any], hypothesis: Sequence[Any]) -> list[float]:
    """``[c, r, m_1, .., m_4, t_1, .., t_4]`` of one hypothesis against its reference."""
    matches, totals = [], []
    for n in range(1, ORDER + 1):
        found, wanted = _ngrams(hypothesis, n), _ngrams(reference, n)
        matches.append(float(sum(min(count, wanted[gram]) for gram, count in found.items())))
        totals.append(float(max(len(hypothesis) - n + 1, 0)))
    return [float(len(hypothesis)), float(len(reference)), *matches, *totals]


def bleu_from_statistics(stats: Sequence[float]) -> float:
    """Corpus BLEU (0-100) from the sum (or mean) over sentences of ``bleu_statistics``."""
    length, reference = stats[0], stats[1]
    matches, totals = stats[2:2 + ORDER], stats[2 + ORDER:2 + 2 * ORDER]
    if length <= 0 or not all(matches):  # no n-gram of some order, or none right: as sacrebleu unsmoothed, 0
        return 0.0
    brevity = min(1.0, math.exp(1 - reference / length))
    return 100 * brevity * math.exp(sum(math.log(m / t) for m, t in zip(matches, totals)) / ORDER)
