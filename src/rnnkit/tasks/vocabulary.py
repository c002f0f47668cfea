"""Vocabularies of the models that write text (seq2seq, captioning): the sequence marks and target encoding.

Ids 0 and 1 are the tokenizer's own ``<pad>`` and ``<unk>`` (``rnnkit.data.text``); a vocabulary built here also
reserves ids 2 and 3 for ``<s>`` (BOS) and ``</s>`` (EOS), and a target text is encoded ``<s> y_1 .. y_n </s>``:
the decoder reads BOS first and learns to end with EOS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from rnnkit.data.text import SPECIALS, Tokenizer
from rnnkit.errors import UserError

BOS, EOS = 2, 3
SEQUENCE_MARKS = ("<s>", "</s>")


@dataclass
class VocabularyConfig:
    """How one side's texts are split into tokens, and which tokens are kept (built on the training texts)."""

    level: str = "char"  # "char" or "word"
    lowercase: bool = field(default=True, metadata={"help": "lowercase the texts"})
    min_count: int = field(default=1, metadata={"help": "rarer tokens are <unk>"})
    max_size: int | None = field(default=None, metadata={
        "help": "cap on each vocabulary, the special tokens counted (none: no cap)", "flag": "--max-vocab"})


def build_vocabulary(texts: Sequence[str], *, level: str, lowercase: bool, min_count: int = 1,
                     max_size: int | None = None) -> Tokenizer:
    """A tokenizer fitted on ``texts`` with ``<s>`` and ``</s>`` at ids 2 and 3; ``max_size`` counts all ids."""
    reserved = len(SPECIALS) + len(SEQUENCE_MARKS)
    if max_size is not None and max_size <= reserved:
        raise UserError(f"vocabulary size cap must be > {reserved} (the special tokens), got {max_size}")
    fitted = Tokenizer.fit(texts, level=level, lowercase=lowercase, min_count=min_count,
                           max_size=None if max_size is None else max_size - len(SEQUENCE_MARKS))
    tokens = list(SPECIALS) + list(SEQUENCE_MARKS) + [t for t in fitted.tokens[2:] if t not in SEQUENCE_MARKS]
    return Tokenizer(level=level, lowercase=lowercase, tokens=tokens)


def fit_vocabulary(texts: Sequence[str], options: VocabularyConfig) -> Tokenizer:
    """``build_vocabulary`` with the settings of ``options``."""
    return build_vocabulary(texts, **asdict(options))


def encode_marked(vocab: Tokenizer, text: str) -> np.ndarray:
    """``<s> y_1 .. y_n </s>``: the ids of ``text`` between the sequence marks (int64)."""
    ids = vocab.encode(text) if vocab.split(text) else []
    return np.asarray([BOS, *ids, EOS], dtype=np.int64)
