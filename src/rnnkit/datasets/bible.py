"""English modernisation pairs: the King James Bible (1611/1769) beside the World English Bible, verse by verse.

    records = load_bible_pairs()           # about 31,100 verses: BibleVerse(book, chapter, verse, kjv, web)
    train, validation, test = split_by_book(records)   # whole books held out (VALIDATION_BOOKS, TEST_BOOKS)

The texts are the CrossWire SWORD modules ``engKJV2006eb`` and ``engWEB2015eb`` (Debian: ``apt-get install
diatheke sword-text-kjv sword-text-web``; both public domain), read one whole book per ``diatheke`` call for the
66 books of the protestant canon (the WEB module's deuterocanon is left out). Verses present in only one module
(WEB's 3 John 1:15, Revelation 12:18) or empty on either side are dropped.

Why ``-f OSIS -o f`` and not ``-f plain``: plain output spreads a poetic verse over several lines and repeats a
Psalm's title line before every verse of it, so a parser must guess which lines belong to which verse. OSIS output
is one line per verse (``[title]  Book C:V: text<milestone type="line"/>``), and with footnotes on (``-o f``) each
note is a ``<note>`` element that can be cut out whole; with footnotes off diatheke deletes them and glues the
neighbouring words (``Jude,a servant``).

Cleaning, in order: the WEB's glossary, which the module prints inside Revelation 22:21, is cut; the text before
the reference (Psalm titles) goes; notes become a space (or nothing before punctuation); tags go (``<w>``,
milestones), and so do the KJV's stray USFM markers around the divine name (``\\nd LORD\\+nd*``) and its pilcrow
paragraph marks (``¶``); curly quotes become ASCII (``’`` and ``‘`` to ``'``, ``“`` and ``”`` to ``"``) so that
both sides tokenize alike; runs of whitespace become one space. Everything else (``—``, ``æ``, the KJV's italic
words, its one ``[but]``) is kept as printed.

Parsing all 132 books takes about 20 s, so the pairs are cached as JSON under ``~/.cache/rnnkit/bible`` (or
``$RNNKIT_CACHE/bible``, or ``cache_dir=``), written atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from rnnkit._fs import atomic_write, json_bytes
from rnnkit.errors import UserError

INSTALL_HINT = "apt-get install diatheke sword-text-kjv sword-text-web"
KJV, WEB = "engKJV2006eb", "engWEB2015eb"
# The 66 books as diatheke's English locale names them (the name it prints, and a key it accepts).
OLD_TESTAMENT = (
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "I Samuel",
    "II Samuel", "I Kings", "II Kings", "I Chronicles", "II Chronicles", "Ezra", "Nehemiah", "Esther", "Job",
    "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah", "Lamentations", "Ezekiel",
    "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai",
    "Zechariah", "Malachi")
NEW_TESTAMENT = (
    "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "I Corinthians", "II Corinthians", "Galatians",
    "Ephesians", "Philippians", "Colossians", "I Thessalonians", "II Thessalonians", "I Timothy", "II Timothy",
    "Titus", "Philemon", "Hebrews", "James", "I Peter", "II Peter", "I John", "II John", "III John", "Jude",
    "Revelation of John")
BOOKS = OLD_TESTAMENT + NEW_TESTAMENT
# The fixed held-out books (about 4.5% of the verses each side): prose, poetry, prophecy and letters, OT and NT.
VALIDATION_BOOKS = ("Ruth", "Ecclesiastes", "Joel", "Zechariah", "Mark", "Philippians", "Titus")
TEST_BOOKS = ("Esther", "Lamentations", "Daniel", "Jonah", "Galatians", "Hebrews", "James", "I John")
CACHE_VERSION = 1  # bump when the cleaning changes, so old caches are not read

_NOTE_BEFORE_PUNCTUATION = re.compile(r"\s*<note\b[^>]*>.*?</note>(?=[,.;:!?)’”])")
_NOTE = re.compile(r"\s*<note\b[^>]*>.*?</note>\s*")
_TAG = re.compile(r"<[^>]*>")
_USFM = re.compile(r"\\\+?[a-z]+\*|\\[a-z]+ ")  # stray USFM character markers in the KJV: \nd LORD\+nd*
# The WEB module prints its glossary inside the last verse of Revelation, after a run of spaces.
_WEB_GLOSSARY = re.compile(r"\s{4,}The following words used in the World English Bible.*", re.DOTALL)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


class BibleVerse(NamedTuple):
    book: str
    chapter: int
    verse: int
    kjv: str
    web: str


def clean_verse(text: str) -> str:
    """One verse's OSIS markup as plain text (see the module docstring for each step)."""
    text = _NOTE.sub(" ", _NOTE_BEFORE_PUNCTUATION.sub("", _WEB_GLOSSARY.sub("", text)))
    text = _USFM.sub("", _TAG.sub("", text)).replace("¶", " ").translate(_QUOTES)
    return " ".join(text.split())


def parse_book(output: str, book: str) -> dict[tuple[int, int], str]:
    """``{(chapter, verse): text}`` from diatheke's OSIS output for one whole ``book``."""
    reference = re.compile(re.escape(book) + r" (\d+):(\d+): ")
    verses = {}
    for line in output.splitlines():
        found = reference.search(line)
        if found and int(found.group(2)) > 0:  # verse 0 holds book and chapter introductions
            verses[int(found.group(1)), int(found.group(2))] = clean_verse(line[found.end():])
    return verses


def check_diatheke() -> None:
    """Raise a ``UserError`` naming the Debian packages unless diatheke and both modules are installed."""
    if shutil.which("diatheke") is None:
        raise UserError(f"the KJV/WEB Bible pairs need diatheke on the PATH: {INSTALL_HINT}")
    listing = subprocess.run(["diatheke", "-b", "system", "-k", "modulelist"], capture_output=True, text=True,
                             check=False).stdout
    missing = [module for module in (KJV, WEB) if not re.search(rf"^{module} :", listing, re.MULTILINE)]
    if missing:
        raise UserError(f"the SWORD module(s) {', '.join(missing)} are not installed: {INSTALL_HINT}")


def read_book(module: str, book: str) -> dict[tuple[int, int], str]:
    """One whole book of one module, parsed (one diatheke call)."""
    result = subprocess.run(["diatheke", "-b", module, "-f", "OSIS", "-o", "f", "-k", book], capture_output=True,
                            text=True, encoding="utf-8", check=False)
    verses = parse_book(result.stdout, book)
    if result.returncode != 0 or not verses:
        raise UserError(f"diatheke printed no verses of {book!r} from {module} (exit {result.returncode}: "
                        f"{result.stderr.strip()[:200]}); is the module complete? {INSTALL_HINT}")
    return verses


def pair_book(book: str) -> list[BibleVerse]:
    """The verses of ``book`` present and non-empty in both modules, in order."""
    kjv, web = read_book(KJV, book), read_book(WEB, book)
    return [BibleVerse(book, chapter, verse, kjv[chapter, verse], web[chapter, verse])
            for chapter, verse in sorted(kjv.keys() & web.keys()) if kjv[chapter, verse] and web[chapter, verse]]


def cache_folder(cache_dir: str | Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit"
    return Path(root) / "bible"


def load_bible_pairs(books: Sequence[str] = BOOKS, *, cache_dir: str | Path | None = None,
                     refresh: bool = False) -> list[BibleVerse]:
    """Verse-aligned KJV/WEB pairs for ``books`` (all 66 by default) in canonical order, from the cache when
    present (``refresh=True`` re-reads the modules)."""
    unknown = [book for book in books if book not in BOOKS]
    if unknown:
        raise UserError(f"unknown book(s) {unknown}; books are named as in rnnkit.datasets.bible.BOOKS")
    path = cache_folder(cache_dir) / f"kjv_web_v{CACHE_VERSION}.json"
    cached = {} if refresh else _read_cache(path)
    missing = [book for book in books if book not in cached]
    if missing:
        check_diatheke()
        for book in missing:
            cached[book] = [list(record) for record in pair_book(book)]
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json_bytes({book: cached[book] for book in BOOKS if book in cached}))
    return [BibleVerse(*record) for book in BOOKS if book in books for record in cached[book]]


def _read_cache(path: Path) -> dict[str, list]:
    """The cached books, or nothing when the cache is absent or unreadable (then it is rebuilt)."""
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


class BookSplits(NamedTuple):
    train: list[BibleVerse]
    validation: list[BibleVerse]
    test: list[BibleVerse]


def split_by_book(records: Sequence[BibleVerse], *, validation: Sequence[str] = VALIDATION_BOOKS,
                  test: Sequence[str] = TEST_BOOKS) -> BookSplits:
    """Whole books held out: ``validation`` and ``test`` books (the fixed defaults above), the rest trains."""
    overlap = set(validation) & set(test)
    if overlap:
        raise UserError(f"books {sorted(overlap)} are in both the validation and the test split")
    side = {book: "validation" for book in validation} | {book: "test" for book in test}
    splits: dict[str, list[BibleVerse]] = {"train": [], "validation": [], "test": []}
    for record in records:
        splits[side.get(record.book, "train")].append(record)
    return BookSplits(splits["train"], splits["validation"], splits["test"])
