"""Text to token ids: a character or word tokenizer whose vocabulary is built on the training split only.

    tokenizer = Tokenizer.fit(train_texts, level="word", min_count=2)
    ids = tokenizer.encode("Self-driving cars!")      # [12, 7, 3, 1, 5]: 1 is <unk>
    Tokenizer.from_dict(tokenizer.to_dict())           # JSON: it lives in the model folder's config.json

Ids: 0 is padding (``PAD``), 1 the unknown token (``UNK``); real tokens start at 2, most frequent first (ties
alphabetical, so the same texts always give the same vocabulary). A token seen fewer than ``min_count`` times in
training is unknown, so the model learns what ``<unk>`` means from rare training words, as it must at test time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from rnnkit._config import config_from_dict
from rnnkit.errors import UserError

PAD, UNK = 0, 1
SPECIALS = ("<pad>", "<unk>")
LEVELS = ("char", "word")
# A word is a run of letters/digits (with a leading # or @ kept: hashtags and mentions carry meaning in tweets),
# or a single punctuation mark ("!" and "?" carry sentiment, so they are tokens too).
_WORD = re.compile(r"[#@]?\w+(?:'\w+)?|[^\w\s]")


@dataclass
class Tokenizer:
    level: str = "word"
    lowercase: bool = True
    max_length: int | None = None  # keep the first max_length tokens (None: no truncation)
    tokens: list[str] = field(default_factory=lambda: list(SPECIALS))  # index = id

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise UserError(f"tokenizer level must be one of {LEVELS}, got {self.level!r}")
        if list(self.tokens[:2]) != list(SPECIALS):
            raise UserError(f"tokenizer vocabulary must start with {SPECIALS}, got {self.tokens[:2]}")
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def fit(cls, texts: Iterable[str], *, level: str = "word", lowercase: bool = True, min_count: int = 1,
            max_size: int | None = None, max_length: int | None = None) -> Tokenizer:
        """Build the vocabulary from ``texts`` (the training split): tokens seen at least ``min_count`` times,
        the ``max_size`` most frequent (specials included) when given."""
        tokenizer = cls(level=level, lowercase=lowercase, max_length=max_length)
        counts = Counter(token for text in texts for token in tokenizer.split(text))
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(level=level, lowercase=lowercase, max_length=max_length, tokens=list(SPECIALS) + kept)

    def split(self, text: str) -> list[str]:
        """The tokens of ``text`` (characters or words), before the vocabulary is applied."""
        if not isinstance(text, str):
            raise UserError(f"expected text, got {type(text).__name__}: {text!r}")
        text = text.lower() if self.lowercase else text
        return list(text) if self.level == "char" else _WORD.findall(text)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; at least one id (an empty text is one ``<unk>``, so its length is 1)."""
        ids = [self._ids.get(token, UNK) for token in self.split(text)][: self.max_length]
        return ids or [UNK]

    def unknown(self, texts: Iterable[str]) -> tuple[Counter, int]:
        """The tokens of ``texts`` that are not in the vocabulary (with their counts), and the number of tokens."""
        tokens = [token for text in texts for token in self.split(text)]
        return Counter(token for token in tokens if token not in self._ids), len(tokens)

    def check_known(self, texts: Iterable[str], where: str, *, most: float = 0.5) -> None:
        """Refuse ``texts`` of which more than ``most`` of the tokens were never seen in training (another
        language or script, another encoding, binary data read as text), listing the commonest of them."""
        unknown, total = self.unknown(texts)
        count = sum(unknown.values())
        if total and count > most * total:
            shown = ", ".join(repr(token) for token, _ in unknown.most_common(5))
            unit = "characters" if self.level == "char" else "words"
            raise UserError(f"{where}: {count} of its {total} {unit} were never seen in training ({shown}"
                            f"{', ...' if len(unknown) > 5 else ''}): is this the kind of text the model was "
                            f"trained on?")

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def __len__(self) -> int:
        return len(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Tokenizer:
        return config_from_dict(cls, values, where="tokenizer")
