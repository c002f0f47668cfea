"""Sequence metrics against hand-counted edits and sacrebleu's own figures."""

import pytest
import sacrebleu

from rnnkit.eval.sequence_metrics import bleu, chrf, edit_distance, error_rate, exact_match


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
