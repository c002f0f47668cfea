"""The example data sets as files, one writer each: ``python -m rnnkit.datasets NAME --out F [--part P] [--limit N]``.

A writer takes the output path, a part (``"all"``, or ``"train"``, ``"validation"``, ``"test"`` of the set's own
split, where it has one) and a limit (keep N examples, ``None``: all). Nothing is downloaded: each set comes from a
registry package (the extras named in the README), a Debian package, or is generated. In smoke mode
(``RNNKIT_SMOKE``, ``rnnkit._smoke``) each keeps a few examples, so the README's commands run in seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit import _smoke
from rnnkit.errors import UserError

ALL = "all"


def _rows(out: Path, header: Sequence[str], rows: Sequence[Sequence], delimiter: str = ",",
          quoting: int = csv.QUOTE_MINIMAL) -> None:
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n", quoting=quoting)
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def _sample(items: Sequence, limit: int | None) -> list:
    """``limit`` items drawn without replacement (seed 0), kept in their order; all of them when ``limit`` is None."""
    if limit is None or limit >= len(items):
        return list(items)
    keep = np.sort(np.random.default_rng(0).choice(len(items), size=limit, replace=False))
    return [items[i] for i in keep]


def _part(splits: Sequence[Sequence], part: str) -> list:
    """One part of a (train, validation, test) split, or all of it in order."""
    return [x for s in splits for x in s] if part == ALL else list(splits[("train", "validation", "test").index(part)])


def airline(out: Path, part: str, limit: int | None) -> None:
    from rnnkit.datasets.airline import PATH

    lines = PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:1 + limit] if limit else lines), encoding="utf-8")


def electricity(out: Path, part: str, limit: int | None) -> None:
    """Half-hourly demand with temperature and workday; the last day's demand is left blank, so its covariates
    are the known future a forecast of that day reads (rows after the last target value)."""
    from rnnkit.datasets.elecdemand import load_elecdemand

    frame = load_elecdemand()
    frame = frame.iloc[-limit:] if limit else frame
    frame.loc[frame.index[-48:], "demand"] = np.nan
    frame.to_csv(out, index=False, date_format="%Y-%m-%d %H:%M")


def sales(out: Path, part: str, limit: int | None) -> None:
    """Generated weekly sales of 12 stores over three years (``limit``: weeks per store): each store its own level,
    growth and noise, one yearly season shared by all; stores 2021-01-03 .. 2023-12-24."""
    rng = np.random.default_rng(0)
    weeks = limit or 156
    dates = np.datetime64("2021-01-03") + 7 * np.arange(weeks)
    rows = []
    for store in range(12):
        level, growth, noise = rng.uniform(80, 400), rng.uniform(-0.001, 0.004), rng.uniform(0.03, 0.1)
        t = np.arange(weeks)
        season = 1 + 0.25 * np.sin(2 * np.pi * (t - 10) / 52.18) + 0.35 * (t % 52 >= 50)  # and a year-end peak
        values = level * np.exp(growth * t) * season * np.exp(rng.normal(0, noise, weeks))
        rows += [(str(d), f"s{store + 1:02d}", round(float(v), 1)) for d, v in zip(dates, values)]
    _rows(out, ("date", "store", "sales"), rows)


def tweets(out: Path, part: str, limit: int | None) -> None:
    """Tweets with their sentiment; parts: train (90%) and test (10%), drawn with seed 0."""
    from rnnkit.datasets.tweets import load_tweets

    pairs = list(zip(*load_tweets()))
    test = set(np.random.default_rng(0).permutation(len(pairs))[: len(pairs) // 10].tolist())
    chosen = [p for i, p in enumerate(pairs) if part == ALL or (i in test) == (part == "test")]
    # every field quoted: a tweet may hold a bare carriage return, which minimal quoting leaves unquoted
    _rows(out, ("text", "sentiment"), _sample(chosen, limit), quoting=csv.QUOTE_ALL)


def pronunciations(out: Path, part: str, limit: int | None) -> None:
    from rnnkit.datasets.cmudict import load_cmudict, split_by_word

    _rows(out, (), _sample(_part(split_by_word(load_cmudict()), part), limit), delimiter="\t")


def bible(out: Path, part: str, limit: int | None) -> None:
    """King James verses beside the World English Bible's; parts: whole books (``bible.split_by_book``)."""
    from rnnkit.datasets.bible import load_bible_pairs, split_by_book

    verses = _part(split_by_book(load_bible_pairs()), part)
    _rows(out, (), [(v.kjv, v.web) for v in verses[:limit]], delimiter="\t")


def plays(out: Path, part: str, limit: int | None) -> None:
    """A folder of plays (``out`` ending in .txt: one text file); parts: whole plays (``shakespeare_splits``)."""
    from rnnkit.datasets.shakespeare import load_shakespeare, shakespeare_splits

    texts = load_shakespeare()
    names = list(texts) if part == ALL else shakespeare_splits().names[part]
    chosen = {name: texts[name][:_smoke.examples(None, 20_000)] for name in names[:limit]}
    if out.suffix == ".txt":
        out.write_text("\n\n".join(chosen.values()), encoding="utf-8")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, text in chosen.items():
        (out / f"{Path(name).stem}.txt").write_text(text, encoding="utf-8")


def strokes(out: Path, part: str, limit: int | None) -> None:
    """Pen trajectories ``(dx, dy, pen_up)`` per .npy file and ``transcripts.csv``; parts: train (training words
    in the training fonts) and test (other words in other fonts, ``handwriting_split``); ``limit``: words."""
    from rnnkit.datasets.handwriting import handwriting_split, shakespeare_words

    split = handwriting_split(list(shakespeare_words()[:limit or 600]), n_train=2, n_test=1)
    data = {"train": [split.train], "test": [split.test], ALL: [split.train, split.test]}.get(part)
    if data is None:
        raise UserError("strokes: --part is train, test or all")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for trajectory, word in ((x, w) for part_data in data for x, w in zip(part_data.X, part_data.y)):
        np.save(out / f"{len(rows):05d}.npy", np.asarray(trajectory, dtype=np.float32))
        rows.append((f"{len(rows):05d}.npy", word))
    _rows(out / "transcripts.csv", ("file", "transcript"), rows)


@dataclass(frozen=True)
class Writer:
    write: Callable[[Path, str, int | None], None]
    parts: tuple[str, ...]  # besides "all"
    smoke: int  # the examples kept in smoke mode
    what: str


WRITERS = {
    "airline": Writer(airline, (), 144, "month, passengers: 144 monthly rows"),
    "electricity": Writer(electricity, (), 2000, "time, demand, workday, temperature: 17,520 half-hours"),
    "sales": Writer(sales, (), 104, "date, store, sales: 12 weekly series"),
    "tweets": Writer(tweets, ("train", "test"), 150, "text, sentiment"),
    "pronunciations": Writer(pronunciations, ("train", "validation", "test"), 100, "word<TAB>phonemes"),
    "bible": Writer(bible, ("train", "validation", "test"), 60, "King James<TAB>World English Bible verse"),
    "plays": Writer(plays, ("train", "validation", "test"), 3, "a folder of .txt plays"),
    "strokes": Writer(strokes, ("train", "test"), 12, "pen trajectories + transcripts.csv"),
}


def write(name: str, out: Path, part: str = ALL, limit: int | None = None) -> None:
    writer = WRITERS[name]
    if part != ALL and part not in writer.parts:
        raise UserError(f"{name} has no --part {part}; it has: {', '.join((ALL,) + writer.parts)}")
    writer.write(out, part, _smoke.examples(limit, writer.smoke))
