"""A corpus of text for language models: one file or a folder of files, split without leakage.

    splits = load_text_corpus("plays/")                  # a folder: whole files held out (validation, test)
    splits = load_text_corpus("input.txt")               # one file: its last 10% held out, contiguous
    tokenizer = corpus_tokenizer(splits.train, level="char")   # vocabulary from the training split only

A folder is split by file, so that no play (book, article) has text on both sides of a split; a single file is
cut into contiguous pieces (train first, then validation, then test), never shuffled at finer grain, because
neighbouring lines share names and phrases. Tokenizers are the shared ``rnnkit.data.text.Tokenizer``: for
characters it keeps case (``lowercase=False``); characters never seen in training map to ``<unk>``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.inputs import input_path, read_text
from rnnkit.data.text import Tokenizer
from rnnkit.errors import UserError

TEXT_SUFFIXES = (".txt", ".md", ".text")
SEPARATOR = "\n"  # between documents of one split: a play ends, the next begins on a new line


@dataclass
class TextSplits:
    """Training, validation and test text; ``names`` lists the documents in each (empty for one file)."""

    train: str
    validation: str
    test: str
    names: dict[str, list[str]] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def read_text_folder(folder: str | Path, suffixes: tuple[str, ...] = TEXT_SUFFIXES, *,
                     encoding: str | None = None) -> dict[str, str]:
    """``{relative path: text}`` for the text files under ``folder`` (recursively), in path order; each UTF-8
    unless ``encoding`` (``rnnkit.data.inputs.read_text``: binary files and other encodings are refused)."""
    folder = input_path(folder, "folder")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not paths:
        raise UserError(f"{folder}: no text files ({', '.join(suffixes)}) found")
    documents = {str(p.relative_to(folder)): read_text(p, encoding=encoding, allow_empty=True) for p in paths}
    if not any(text.strip() for text in documents.values()):
        raise UserError(f"{folder}: every text file in it is empty")
    return documents


def _count(share: int | float, total: int, what: str) -> int:
    if isinstance(share, float):
        if not 0 <= share < 1:
            raise UserError(f"{what} fraction must be in [0, 1), got {share}")
        return round(share * total)
    if share < 0:
        raise UserError(f"{what} count must be >= 0, got {share}")
    return share


def split_by_document(documents: dict[str, str], *, validation: int | float = 0.1, test: int | float = 0.1,
                      seed: int = 0) -> TextSplits:
    """Hold whole documents out: ``validation`` and ``test`` are counts (int) or fractions of the documents
    (float, at least one each when nonzero), drawn with ``seed``; the rest, in name order, is training text."""
    names = sorted(documents)
    n_val = _count(validation, len(names), "validation")
    n_test = _count(test, len(names), "test")
    n_val, n_test = max(n_val, int(validation > 0)), max(n_test, int(test > 0))
    if n_val + n_test >= len(names):
        raise UserError(f"{len(names)} documents cannot give {n_val} for validation, {n_test} for test and "
                        f"at least one for training; add documents or hold out fewer")
    drawn = random.Random(seed).sample(names, n_val + n_test)
    held = {"validation": sorted(drawn[:n_val]), "test": sorted(drawn[n_val:])}
    held["train"] = [name for name in names if name not in set(drawn)]
    join = lambda split: SEPARATOR.join(documents[name] for name in held[split])  # noqa: E731
    return TextSplits(join("train"), join("validation"), join("test"), held)


def split_contiguous(text: str, *, validation: float = 0.05, test: float = 0.05) -> TextSplits:
    """One text cut in order: the first part trains, the next validates, the last tests."""
    n_val, n_test = _count(validation, len(text), "validation"), _count(test, len(text), "test")
    end = len(text) - n_val - n_test
    if end <= 0:
        raise UserError(f"a text of {len(text)} characters is too short to split")
    return TextSplits(text[:end], text[end:end + n_val], text[end + n_val:])


def load_text_corpus(path: str | Path, *, validation: int | float = 0.1, test: int | float = 0.1,
                     seed: int = 0, encoding: str | None = None) -> TextSplits:
    """A file (split contiguously, fractions only) or a folder of text files (split by file); UTF-8 unless
    ``encoding``."""
    path = input_path(path, "any")
    if path.is_dir():
        documents = read_text_folder(path, encoding=encoding)
        if len(documents) >= 3:
            return split_by_document(documents, validation=validation, test=test, seed=seed)
        text = SEPARATOR.join(documents.values())  # too few files to hold whole ones out
    else:
        text = read_text(path, encoding=encoding)
        if not text.strip():
            raise UserError(f"{path}: the text is blank (only spaces and line breaks)")
    if not isinstance(validation, float) or not isinstance(test, float):
        raise UserError("one text file is split by fractions of its length: give validation and test as floats")
    return split_contiguous(text, validation=validation, test=test)


def corpus_tokenizer(train_text: str, *, level: str = "char", min_count: int = 1,
                     max_size: int | None = None) -> Tokenizer:
    """The vocabulary of the training text: characters keep their case, words are lowercased."""
    if not train_text:
        raise UserError("the training text is empty")
    return Tokenizer.fit([train_text], level=level, lowercase=level == "word", min_count=min_count,
                         max_size=max_size)
