"""A generated character task whose targets are several times longer than their sources (nothing downloaded).

    code = expansion_code(seed=0)                    # {"a": "qzkwpe", "b": "hxtvrmaojc", ...}
    pairs = make_expansion_pairs(20_000, seed=1)     # [("fbd", "ulyxnhqzkwpeuvrkbqt..."), ...]

Each source character stands for a fixed random string of ``piece_lengths`` characters (5-10 by default), and a
target is the concatenation of its source characters' strings: a 3-7 character source becomes 15-70 characters.
The code is drawn once from ``code_seed`` (the same code for every split), the pairs from ``seed``; a model must
learn the code and where in the source it is, character by character, and where to stop. Sources are drawn with
replacement, so two splits may share a pair (there are 26^3 + ... + 26^7 sources): ``split_expansion_pairs``
draws disjoint ones.
"""

from __future__ import annotations

import random
import string

SOURCE_ALPHABET = string.ascii_lowercase
TARGET_ALPHABET = string.ascii_lowercase


def expansion_code(*, code_seed: int = 0, alphabet: str = SOURCE_ALPHABET,
                   piece_lengths: tuple[int, int] = (5, 10)) -> dict[str, str]:
    """Each character of ``alphabet`` -> a random string of ``piece_lengths[0]..piece_lengths[1]`` characters."""
    rng = random.Random(code_seed)
    low, high = piece_lengths
    return {c: "".join(rng.choice(TARGET_ALPHABET) for _ in range(rng.randint(low, high))) for c in alphabet}


def make_expansion_pairs(count: int, *, seed: int = 0, code_seed: int = 0, source_lengths: tuple[int, int] = (3, 7),
                         alphabet: str = SOURCE_ALPHABET,
                         piece_lengths: tuple[int, int] = (5, 10)) -> list[tuple[str, str]]:
    """``count`` (source, target) pairs: sources of ``source_lengths`` characters drawn from ``alphabet``, each
    target the concatenation of the code's strings for its characters."""
    code = expansion_code(code_seed=code_seed, alphabet=alphabet, piece_lengths=piece_lengths)
    rng = random.Random(seed)
    low, high = source_lengths
    sources = ["".join(rng.choice(alphabet) for _ in range(rng.randint(low, high))) for _ in range(count)]
    return [(source, "".join(code[c] for c in source)) for source in sources]


def split_expansion_pairs(*sizes: int, seed: int = 0, **options) -> list[list[tuple[str, str]]]:
    """Disjoint splits of ``sizes`` pairs each (no source in two splits), same code (``options``: as
    ``make_expansion_pairs``); sources are drawn until there are enough distinct ones."""
    pairs: dict[str, str] = {}
    for attempt in range(20):
        for source, target in make_expansion_pairs(sum(sizes), seed=seed * 1000 + attempt, **options):
            pairs.setdefault(source, target)
        if len(pairs) >= sum(sizes):
            break
    else:
        raise ValueError(f"only {len(pairs)} distinct sources for splits of {sizes}: allow longer sources")
    ordered = list(pairs.items())
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [ordered[start:start + size] for start, size in zip(starts, sizes)]
