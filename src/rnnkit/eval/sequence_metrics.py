"""Metrics for predicted sequences against references: error rates, exact match, BLEU and chrF.

Error rates are edit distances (insertions + deletions + substitutions, RapidFuzz's Levenshtein) summed over the
corpus and divided by the total reference length, the way speech and G2P papers report them:

    CER = sum_i lev(ref_i, hyp_i) / sum_i len(ref_i)      on characters
    WER = the same on words (whitespace-split), or on any token lists given as lists

Note that a "word error rate" in grapheme-to-phoneme work means the share of words whose whole pronunciation is
wrong: that is ``1 - exact_match`` here, not ``error_rate`` on words.

BLEU and chrF are corpus-level scores from sacrebleu (the field's reference implementation, so figures compare
with published ones); it is an optional dependency: ``pip install 'rnnkit[seq2seq]'``. ``seq2seq_metrics`` and
``recognition_metrics`` are the sets of these scores the seq2seq, captioning and recognition reports give; given
which outputs were cut at their decoder's length limit, they count them (``capped``), and ``capped_message`` is
the warning every summary, report and API call gives when that count is not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Hashable

from rapidfuzz.distance import Levenshtein

from rnnkit._optional import require

Tokens = str | Sequence[Hashable]


def edit_distance(reference: Tokens, hypothesis: Tokens) -> int:
    """Levenshtein distance between two strings (per character) or two token sequences (per token)."""
    return int(Levenshtein.distance(reference, hypothesis))


def error_rate(references: Sequence[Tokens], hypotheses: Sequence[Tokens], *, unit: str = "char") -> float:
    """Corpus error rate: total edits over total reference length.

    ``unit="char"`` compares strings character by character (CER); ``"word"`` splits strings on whitespace (WER);
    ``"token"`` takes each item as an already tokenised sequence (phonemes, label ids).
    """
    _check_pairs(references, hypotheses)
    split = {"char": lambda text: text, "word": lambda text: text.split(), "token": lambda tokens: tokens}.get(unit)
    if split is None:
        raise ValueError(f"unit must be 'char', 'word' or 'token', got {unit!r}")
    edits = total = 0
    for reference, hypothesis in zip(references, hypotheses):
        reference, hypothesis = split(reference), split(hypothesis)
        edits += edit_distance(reference, hypothesis)
        total += len(reference)
    if total == 0:
        raise ValueError("the references are all empty: an error rate needs something to compare with")
    return edits / total


def exact_match(references: Sequence[Tokens], hypotheses: Sequence[Tokens]) -> float:
    """Share of hypotheses equal to their reference as a whole (sequence accuracy)."""
    _check_pairs(references, hypotheses)
    if not references:
        raise ValueError("no sequences to compare")
    return sum(list(r) == list(h) for r, h in zip(references, hypotheses)) / len(references)


def bleu(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus BLEU (0-100) with sacrebleu's defaults (13a tokenisation, one reference per sentence)."""
    _check_pairs(references, hypotheses)
    sacrebleu = require("sacrebleu", "seq2seq", why="BLEU and chrF")
    # force=True: rnnkit's outputs are tokens joined by spaces, which sacrebleu would otherwise flag on stderr
    # ("forgot to detokenize?"); the score is computed the same way either way.
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)], force=True).score)


def chrf(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus chrF (0-100) with sacrebleu's defaults (character 6-grams, beta 2)."""
    _check_pairs(references, hypotheses)
    sacrebleu = require("sacrebleu", "seq2seq", why="BLEU and chrF")
    return float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score)


def seq2seq_metrics(references: Sequence[str], hypotheses: Sequence[str], tokens: Any = str.split, *,
                    capped: Sequence[bool] | None = None) -> dict[str, float]:
    """BLEU, chrF, exact match, word and token error rates; ``tokens(text)`` splits into the target tokens.
    With ``capped`` (per hypothesis: cut at the length limit), also ``capped``: how many were."""
    metrics = {"bleu": bleu(references, hypotheses), "chrf": chrf(references, hypotheses),
               "exact_match": exact_match(references, hypotheses),
               "wer": error_rate(references, hypotheses, unit="word"),
               "ter": error_rate([tokens(r) for r in references], [tokens(h) for h in hypotheses], unit="token")}
    return metrics | _capped(hypotheses, capped)


def recognition_metrics(references: Sequence[str], hypotheses: Sequence[str], *,
                        capped: Sequence[bool] | None = None) -> dict[str, float]:
    """CER, WER and sequence accuracy of ``hypotheses`` against ``references`` (and ``capped``, as
    ``seq2seq_metrics``)."""
    metrics = {"cer": error_rate(references, hypotheses), "wer": error_rate(references, hypotheses, unit="word"),
               "sequence_accuracy": exact_match(references, hypotheses)}
    return metrics | _capped(hypotheses, capped)


def capped_message(capped: int, count: int, limit: str, setting: str) -> str:
    """The warning for ``capped`` of ``count`` outputs that reached their ``limit`` (``""`` when there are
    none); ``setting`` names what raises the limit."""
    if not capped:
        return ""
    return f"{capped} of {count} outputs reached {limit}, so they may be cut short; raise {setting}"


def _capped(hypotheses: Sequence[object], capped: Sequence[bool] | None) -> dict[str, int]:
    if capped is None:
        return {}
    _check_pairs(hypotheses, capped)
    return {"capped": int(sum(bool(cut) for cut in capped))}


def _check_pairs(references: Sequence[object], hypotheses: Sequence[object]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
