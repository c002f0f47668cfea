"""Sequence metrics against hand-counted edits and sacrebleu's own figures."""

import random

import numpy as np
import pytest
import sacrebleu

from rnnkit.eval.sequence_metrics import bleu, chrf, edit_distance, error_rate, exact_match
from rnnkit.tasks.decoding.bleu_statistics import bleu_from_statistics, bleu_statistics


def test_edit_distance_counts_insertions_deletions_substitutions():
    assert edit_distance("kitten", "sitting") == 3  # k->s, e->i, +g
    assert edit_distance(["K", "AE1", "T"], ["K", "AE1", "T", "S"]) == 1
    assert edit_distance("", "abc") == 3


def test_error_rate_is_corpus_edits_over_reference_length():
    # 1 substitution in 3 chars + 0 in 2 chars -> 1/5, not the mean of per-sentence rates (1/6).
    assert error_rate(["abc", "de"], ["abd", "de"]) == pytest.approx(1 / 5)
    assert error_rate(["the cat sat"], ["the sat"], unit="word") == pytest.approx(1 / 3)
    assert error_rate([["AA", "B"]], [["AA"]], unit="token") == pytest.approx(1 / 2)


def test_exact_match_compares_whole_sequences():
    assert exact_match(["12", "345"], ["12", "346"]) == 0.5
    assert exact_match([["K", "AE1"]], [("K", "AE1")]) == 1.0


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rate(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="unit"):
        error_rate(["a"], ["a"], unit="phone")
    with pytest.raises(ValueError, match="empty"):
        error_rate([""], ["x"])


def test_bleu_and_chrf_match_sacrebleu():
    refs = ["the cat sat on the mat", "there is a dog in the garden"]
    hyps = ["the cat sat on a mat", "a dog is in the garden"]
    assert bleu(refs, hyps) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert chrf(refs, hyps) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert bleu(refs, refs) == pytest.approx(100.0)
    assert 0 < bleu(refs, hyps) < 100


def test_bleu_from_statistics_is_sacrebleus_unsmoothed_corpus_bleu():
    # the counts that the validation pass averages over batches give sacrebleu's corpus score, summed or averaged
    rng, words = random.Random(0), "a b c d e f".split()
    unsmoothed = sacrebleu.BLEU(smooth_method="none", force=True)
    for _ in range(100):
        pairs = [(" ".join(rng.choices(words, k=rng.randint(1, 7))), " ".join(rng.choices(words, k=rng.randint(1, 7))))
                 for _ in range(6)]
        counts = np.array([bleu_statistics(r.split(), h.split()) for r, h in pairs])
        expected = unsmoothed.corpus_score([h for _, h in pairs], [[r for r, _ in pairs]]).score
        assert bleu_from_statistics(counts.sum(0)) == pytest.approx(expected, abs=1e-9)
        assert bleu_from_statistics(counts.mean(0)) == pytest.approx(expected, abs=1e-9)
    assert bleu_from_statistics(np.array([bleu_statistics(["face", "x"], ["face"])] * 50).mean(0)) == 0.0
