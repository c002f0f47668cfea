"""The CLI corpus: malformed inputs to every subcommand that reads user data, each refused the same way.

Every case runs ``rnnkit ...`` in-process and must give exit status 2, exactly one line on stderr that names the
problem (matched by the case's pattern), no traceback, and leave every file it was given, and every file that was
already in ``--out``, byte-identical, with no new file anywhere. One tiny model per task is trained once for the
module (the prediction cases need them). The generic faults (a missing path, a folder, an empty, binary, Latin-1
or pickled file...) are crossed with every argument that names a user file, so each fault is worded the same way
in every subcommand; the task cases follow (columns, values, options, prediction input against the training).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rnnkit.cli.main import main

# --- valid data ----------------------------------------------------------------------------------------------

def series_csv(rows: int = 36, value=None) -> str:
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}-01" for i in range(rows)]
    values = [20 + 5 * np.sin(2 * np.pi * i / 12) + 0.1 * i for i in range(rows)]
    return "t,y\n" + "".join(f"{t},{value if value is not None and i == rows // 2 else round(v, 3)}\n"
                             for i, (t, v) in enumerate(zip(months, values)))


WORDS = {"pos": ["good", "great", "fine", "nice"], "neg": ["bad", "awful", "poor", "sad"]}


def texts_csv(rows: int = 40) -> str:
    lines = ["text,label"]
    for i in range(rows):
        label = "pos" if i % 2 else "neg"
        lines.append(f"{WORDS[label][i % 4]} and {WORDS[label][(i + 1) % 4]},{label}")
    return "\n".join(lines) + "\n"


def wide_csv(rows: int = 40) -> str:
    rng = np.random.default_rng(0)
    lines = ["label,x0,x1,x2,x3"]
    for i in range(rows):
        lines.append(",".join([str(i % 2), *(f"{v:.3f}" for v in rng.normal(i % 2, 1, 4))]))
    return "\n".join(lines) + "\n"


CORPUS = "the cat sat on the mat. the dog sat on the log.\n" * 40
PAIRS = "".join(f"{s}\t{s[::-1]}\n" for s in (f"{i:03d}" for i in range(0, 600, 7)))


def long_csv(sequences: int = 16) -> str:
    rng = np.random.default_rng(1)
    lines = ["id,t,f0,f1,f2,transcript"]
    for s in range(sequences):
        text = "ab" if s % 2 else "ba"
        for t in range(8):
            lines.append(f"u{s},{t},{rng.normal():.3f},{rng.normal():.3f},{float(t < 4) == (s % 2):.0f},{text}")
    return "\n".join(lines) + "\n"


def sequence_csv() -> str:
    return "f0,f1,f2\n" + "".join(f"{t * 0.1:.2f},{-t * 0.1:.2f},{t % 2}\n" for t in range(8))


def png(colour=(200, 30, 30), size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def captions_csv(rows: int = 12) -> str:
    return "file,caption\n" + "".join(f"{i}.png,{'red' if i % 2 else 'blue'} square\n" for i in range(rows))


class _Payload:
    def __reduce__(self):
        return os.system, ("touch /tmp/rnnkit-corpus-ran-code",)


PICKLE = pickle.dumps(_Payload())

# --- the trained models, once ----------------------------------------------------------------------------------

TINY = ["--epochs", "1", "--hidden-size", "4", "--progress", "none"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    valid = root / "valid"
    (valid / "images").mkdir(parents=True)
    (valid / "rec").mkdir()
    files = {"series.csv": series_csv(), "texts.csv": texts_csv(), "wide.csv": wide_csv(), "corpus.txt": CORPUS,
             "pairs.tsv": PAIRS, "long.csv": long_csv(), "captions.csv": captions_csv(), "seq.csv": sequence_csv()}
    for name, text in files.items():
        (valid / name).write_text(text, encoding="utf-8")
    for i in range(12):
        (valid / "images" / f"{i}.png").write_bytes(png((200, 30, 30) if i % 2 else (30, 30, 200)))
    np.save(valid / "seq.npy", np.zeros((8, 3), dtype=np.float32))
    runs = {
        "forecast": ["forecast", "train", f"{valid}/series.csv", "--target", "y", "--time", "t", "--horizon", "3",
                     "--lookback", "6", "--folds", "0", *TINY, "--max-steps", "5"],
        "classify": ["classify", "train", f"{valid}/texts.csv", "--label", "label", "--text", "text", *TINY],
        "wide": ["classify", "train", f"{valid}/wide.csv", "--label", "label", *TINY],
        "generate": ["generate", "train", f"{valid}/corpus.txt", "--num-layers", "1", "--seq-len", "8", "--streams",
                     "2", *TINY, "--max-steps", "3"],
        "seq2seq": ["seq2seq", "train", f"{valid}/pairs.tsv", "--beam", "1", *TINY],
        "caption": ["caption", "train", f"{valid}/images", f"{valid}/captions.csv", "--image-size", "16",
                    "--channels", "4", "--beam", "1", *TINY],
        "recognize": ["recognize", "train", f"{valid}/long.csv", "--time", "t", "--conv-channels", "0", "--conv-stride", "1", *TINY],
    }
    for name, argv in runs.items():
        assert main([*argv, "--out", str(root / name)]) == 0, name
    return root


# --- the cases -------------------------------------------------------------------------------------------------

MISSING, FOLDER = object(), object()


@dataclass
class Case:
    """``argv`` with ``{data}`` (the case's file, named ``name``), ``{out}`` (the output folder), ``{valid}``
    (valid data) and ``{<task>}`` (the task's trained run folder)."""

    argv: list[str]
    message: str
    data: object = None  # bytes, str, MISSING or FOLDER; None: no file
    name: str = "data.csv"
    stdin: bytes | None = None
    existing_out: bool = False  # --out holds a file of the user's, and --force is given


def latin1(text: str) -> bytes:
    return (text + "caf\xe9 \xe0 la cr\xe8me\n").encode("latin-1")


# Slots: an argument that names a user file, the kind of file it is, a valid content, and its file name.
SLOTS = {
    "forecast train": (["forecast", "train", "{data}", "--target", "y", "--time", "t", "--out", "{out}"],
                       "table", series_csv(), "series.csv"),
    "forecast predict": (["forecast", "predict", "{forecast}", "--data", "{data}", "--out", "{out}"],
                         "table", series_csv(), "series.csv"),
    "classify train": (["classify", "train", "{data}", "--label", "label", "--text", "text", "--out", "{out}"],
                       "table", texts_csv(), "texts.csv"),
    "classify train --test": (["classify", "train", "{valid}/texts.csv", "--label", "label", "--text", "text",
                               "--test", "{data}", "--out", "{out}"], "table", texts_csv(), "test.csv"),
    "classify predict": (["classify", "predict", "{classify}", "{data}", "--out", "{out}"], "table", texts_csv(),
                         "texts.csv"),
    "generate train": (["generate", "train", "{data}", "--out", "{out}"], "text", CORPUS, "corpus.txt"),
    "generate eval": (["generate", "eval", "{generate}", "{data}"], "text", CORPUS, "text.txt"),
    "seq2seq train": (["seq2seq", "train", "{data}", "--out", "{out}"], "pairs", PAIRS, "pairs.tsv"),
    "seq2seq eval": (["seq2seq", "eval", "{seq2seq}", "{data}", "--out", "{out}"], "pairs", PAIRS, "test.tsv"),
    "caption train": (["caption", "train", "{valid}/images", "{data}", "--out", "{out}"], "table", captions_csv(),
                      "captions.csv"),
    "recognize train": (["recognize", "train", "{data}", "--out", "{out}"], "table", long_csv(), "long.csv"),
    "recognize eval": (["recognize", "eval", "{recognize}", "{data}", "--out", "{out}"], "table", long_csv(),
                       "long.csv"),
    "recognize": (["recognize", "{recognize}", "{data}"], "sequence", sequence_csv(), "seq.csv"),
}

# Where a folder is a valid input (a folder of text files, of sequence files with their transcripts), an empty
# one is refused for what it lacks.
FOLDER_MESSAGES = {"generate train": r"no text files \(\.txt, \.md, \.text\) found",
                   "recognize train": r"no transcripts\.csv or transcripts\.tsv", "recognize eval":
                   r"no transcripts\.csv or transcripts\.tsv", "recognize": r"no sequence files"}
BLANK = {"table": r"no data \(the file holds only blank lines\)", "text": r"the text is blank",
         "pairs": r"no pairs found", "sequence": r"no data|empty"}


def generic_cases() -> dict[str, Case]:
    cases = {}
    for slot, (argv, kind, valid, name) in SLOTS.items():
        faults = {
            "missing": (MISSING, r"data\S*: no such file"),
            "a folder": (FOLDER, FOLDER_MESSAGES.get(slot, r"is a folder, not a file")),
            "empty": (b"", r"the file is empty \(0 bytes\)"),
            "blank lines": (b"\n  \n\n", BLANK[kind]),
            "binary": (bytes(range(256)) * 8, r"binary data \(NUL bytes\), not text"),
            "xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(64), r"looks like a zip archive \(or an Excel \.xlsx"),
            "pickle": (PICKLE, r"looks like a Python pickle, not text"),
            "Latin-1": (latin1(valid), r"not UTF-8 \(looks like Latin-1\): re-save as UTF-8 or pass --encoding"),
        }
        if kind in ("table", "sequence"):
            header = valid.split("\n", 1)[0] + "\n"
            faults["header only"] = (header, r"a header \(.*\) but no rows")
            faults["unbalanced quote"] = (valid + '"oops,1\n', r"line \d+: a quoted field opens here and is never "
                                                               r"closed")
            faults["extra field"] = (valid + "1,2,3,4,5,6,7,8,9\n", r"line \d+: 9 fields, but the header has \d")
        for fault, (data, message) in faults.items():
            cases[f"{slot}: {fault}"] = Case(argv, message, data, name="data" + Path(name).suffix,
                                             existing_out=len(cases) % 2 == 1)
    stdin = ["seq2seq", "translate", "{seq2seq}", "-"]
    cases["seq2seq translate stdin: binary"] = Case(stdin, r"standard input: binary data", stdin=bytes(range(256)))
    cases["seq2seq translate stdin: Latin-1"] = Case(stdin, r"standard input, line 2: not UTF-8 \(looks like "
                                                            r"Latin-1\)", stdin=latin1("012\n"))
    cases["seq2seq translate stdin: pickle"] = Case(stdin, r"standard input: looks like a Python pickle",
                                                    stdin=PICKLE)
    cases["seq2seq translate stdin: empty"] = Case(stdin, r"nothing to translate", stdin=b"")
    image = ["caption", "{caption}", "{data}"]
    for fault, data, message in [("missing", MISSING, r"no such file"), ("a folder", FOLDER, r"is a folder"),
                                 ("empty", b"", r"not a readable image \(not a format Pillow reads"),
                                 ("text", b"hello", r"not a readable image \(not a format Pillow reads"),
                                 ("truncated", png()[:40], r"not a readable image"),
                                 ("pickle", PICKLE, r"not a readable image")]:
        cases[f"caption image: {fault}"] = Case(image, message, data, name="data.png")
    npy = ["recognize", "{recognize}", "{data}"]
    for fault, data, message in [("pickle", PICKLE, r"not a \.npy file"), ("text", b"1,2\n", r"not a \.npy file"),
                                 ("truncated", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'", r"not a readable numeric"),
                                 ("object array", _object_npy(), r"not a readable numeric")]:
        cases[f"recognize npy: {fault}"] = Case(npy, message, data, name="data.npy")
    return cases


def _object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Payload()], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def table(header: str, rows: list[str]) -> str:
    return header + "\n" + "\n".join(rows) + "\n"


FORECAST = ["forecast", "train", "{data}", "--target", "y", "--time", "t", "--out", "{out}"]
CLASSIFY = ["classify", "train", "{data}", "--label", "label", "--text", "text", "--out", "{out}"]
WIDE = ["classify", "train", "{data}", "--label", "label", "--out", "{out}"]
FREE_TEXT = table("text,label", [f"w{i} w{i + 1},review number {i} said so" for i in range(120)])


def task_cases() -> dict[str, Case]:
    series = series_csv()
    cases = {
        # forecast train: values, columns, times, options
        "forecast: text in the target": Case(FORECAST, r"series\.csv, line 20, column 'y': 'abc' is not a number",
                                             series_csv(value="abc"), "series.csv"),
        "forecast: inf in the target": Case(FORECAST, r"line 20, column 'y': inf is not a finite number",
                                            series_csv(value="inf"), "series.csv"),
        "forecast: 1e30 in the target": Case(FORECAST, r"line 20, column 'y': 1e\+30 is absurd for this column",
                                             series_csv(value="1e30"), "series.csv"),
        "forecast: NaN hole": Case(FORECAST, r"1 missing value\(s\); the first is column 'y' .* \(line 20\)",
                                   series_csv(value="NaN"), "series.csv"),
        "forecast: no such target": Case(["forecast", "train", "{data}", "--target", "sales", "--time", "t", "--out",
                                          "{out}"], r"column\(s\) \['sales'\] not found", series, "series.csv"),
        "forecast: bad time": Case(FORECAST, r"time column 't' has a value that is not a date or time at line 3: "
                                             r"'soon'", series.replace("2000-02-01", "soon"), "series.csv"),
        "forecast: duplicate time": Case(FORECAST, r"1 duplicate timestamp", series.replace("2000-02-01",
                                                                                            "2000-01-01"),
                                         "series.csv"),
        "forecast: decimal seconds": Case(FORECAST, r"holds decimal numbers \(e\.g\. 0\.5\)",
                                          table("t,y", [f"{i / 2},{i % 5}" for i in range(40)]), "series.csv"),
        "forecast: ambiguous dates": Case(FORECAST, r"time column 't' is ambiguous",
                                          table("t,y", [f"01/{m:02d}/2020,{m}" for m in range(1, 13)]), "series.csv"),
        "forecast: --dropout 2": Case([*FORECAST, "--dropout", "2"], r"dropout", series, "series.csv"),
        "forecast: --quantiles 0.1 1.5": Case([*FORECAST, "--quantiles", "0.1", "1.5"], r"quantiles must be increasing and strictly between 0 and 1, got \(0\.1, 1\.5\)", series,
                                              "series.csv"),
        "forecast: --horizon 0": Case([*FORECAST, "--horizon", "0"], r"horizon", series, "series.csv"),
        "forecast: --hidden-size -1": Case([*FORECAST, "--hidden-size", "-1"], r"hidden.size", series, "series.csv"),
        "forecast: --lr nan": Case([*FORECAST, "--lr", "nan"], r"\blr\b", series, "series.csv"),
        "forecast: --outliers maybe": Case([*FORECAST, "--outliers", "maybe"], r"argument --outliers: invalid choice",
                                           series, "series.csv"),
        "forecast: --freq bogus": Case([*FORECAST, "--freq", "fortnightly-ish"], r"fortnightly-ish", series,
                                       "series.csv"),
        # forecast predict: the new history against the model
        "forecast predict: inf in history": Case(["forecast", "predict", "{forecast}", "--data", "{data}", "--out",
                                                  "{out}"], r"line 20, column 'y': inf is not a finite number",
                                                 series_csv(value="inf"), "new.csv"),
        "forecast predict: other columns": Case(["forecast", "predict", "{forecast}", "--data", "{data}", "--out",
                                                 "{out}"], r"\['y'\] not found", series.replace("t,y", "t,sales"),
                                                "new.csv"),
        "forecast predict: other frequency": Case(["forecast", "predict", "{forecast}", "--data", "{data}", "--out",
                                                   "{out}"], r"new\.csv: its timestamps are at frequency 'D'; the "
                                                             r"model was trained on 'MS' data",
                                                  table("t,y", [f"2001-01-{d:02d},{d}" for d in range(1, 29)]),
                                                  "new.csv"),
        "forecast predict: horizon too long": Case(["forecast", "predict", "{forecast}", "--horizon", "99", "--out",
                                                    "{out}"], r"horizon"),
        # classify train: labels and texts
        "classify: every label blank": Case(CLASSIFY, r"the label column 'label' is empty on every row",
                                            table("text,label", ["good,", "bad,", "fine, "]), "texts.csv"),
        "classify: a blank label": Case(CLASSIFY, r"texts\.csv, line 4, column 'label': blank \(1 of 4 rows have no 'label'\)",
                                        table("text,label", ["good,pos", "bad,neg", "fine,", "sad,neg"]), "texts.csv"),
        "classify: every text empty": Case(CLASSIFY, r"the text column 'text' is empty on every row",
                                           table("text,label", ['"",pos', '"",neg', '" ",pos']), "texts.csv"),
        "classify: an empty text": Case(CLASSIFY, r"line 3, column 'text': the text is empty",
                                        table("text,label", ["good,pos", '"",neg', "sad,neg"]), "texts.csv"),
        "classify: free-text labels": Case(CLASSIFY, r"looks like free text, not classes: 120 classes in 120 rows",
                                           FREE_TEXT, "texts.csv"),
        "classify: one class": Case(CLASSIFY, r"one class only \('pos'\)",
                                    table("text,label", ["good,pos", "fine,pos", "nice,pos"]), "texts.csv"),
        "classify: no such label": Case(["classify", "train", "{data}", "--label", "sentiment", "--text", "text",
                                         "--out", "{out}"], r"column 'sentiment' not found", texts_csv(), "texts.csv"),
        "classify: line breaks split rows": Case(CLASSIFY, r"line 2, column 'label': blank \(60 of 120 rows",
                                                 "text,label\n" + "".join(f"line {i}\nmore,pos\n" for i in range(60)),
                                                 "texts.csv"),
        "classify: --validation 1.5": Case([*CLASSIFY, "--validation", "1.5"], r"validation", texts_csv(),
                                           "texts.csv"),
        "classify: --dropout 2": Case([*CLASSIFY, "--dropout", "2"], r"dropout", texts_csv(), "texts.csv"),
        "classify: --epochs 0": Case([*CLASSIFY, "--epochs", "0"], r"epochs", texts_csv(), "texts.csv"),
        "classify: --text and --id": Case([*CLASSIFY, "--id", "text"], r"--text|--id|not allowed", texts_csv(),
                                          "texts.csv"),
        "classify wide: text in a feature": Case(WIDE, r"wide\.csv, line 3, column 'x2': 'abc' is not a number",
                                                 table("label,x0,x1,x2", ["0,1,2,3", "1,4,5,abc", "0,1,1,1"]),
                                                 "wide.csv"),
        "classify wide: inf in a feature": Case(WIDE, r"wide\.csv, line 2, column 'x1': inf is not a finite number",
                                                table("label,x0,x1,x2", ["0,1,inf,3", "1,4,5,6"]), "wide.csv"),
        "classify wide: a hole": Case(WIDE, r"line 2: a sequence must have values, and NaN only after its end; "
                                            r"column 'x1' is nan", table("label,x0,x1,x2", ["0,1,,3", "1,4,5,6"]),
                                      "wide.csv"),
        # classify predict: the new table against the model
        "classify predict: text column missing": Case(["classify", "predict", "{classify}", "{data}", "--out",
                                                       "{out}"], r"column 'text' not found|missing: \['text'\]",
                                                      table("review,label", ["good,pos"]), "new.csv"),
        "classify predict: features missing": Case(["classify", "predict", "{wide}", "{data}", "--out", "{out}"],
                                                   r"3 of the 4 column\(s\) the model was trained on are missing: "
                                                   r"\['x1', 'x2', 'x3'\]", table("label,x0", ["0,1", "1,2"]),
                                                   "new.csv"),
        "classify predict: features renamed": Case(["classify", "predict", "{wide}", "{data}", "--out", "{out}"],
                                                   r"are missing: \['x0', 'x1', 'x2', 'x3'\]; the table has other columns "
                                                   r"\['a', 'b', 'c', 'd'\]",
                                                   table("label,a,b,c,d", ["0,1,2,3,4"]), "new.csv"),
        "classify predict: inf": Case(["classify", "predict", "{wide}", "{data}", "--out", "{out}"],
                                      r"new\.csv, line 3, column 'x3': -inf is not a finite number",
                                      table("label,x0,x1,x2,x3", ["0,1,2,3,4", "1,1,2,3,-inf"]), "new.csv"),
        "classify predict: not a model": Case(["classify", "predict", "{valid}", "{valid}/texts.csv", "--out",
                                               "{out}"], r"not a model folder"),
        "classify predict: another task's model": Case(["classify", "predict", "{generate}", "{valid}/texts.csv",
                                                        "--out", "{out}"], r"not a classifier"),
        # generate
        "generate: --validation 2": Case(["generate", "train", "{data}", "--validation", "2", "--out", "{out}"],
                                         r"validation", CORPUS, "corpus.txt"),
        "generate: --dropout -1": Case(["generate", "train", "{data}", "--dropout", "-1", "--out", "{out}"],
                                       r"dropout", CORPUS, "corpus.txt"),
        "generate: too short": Case(["generate", "train", "{data}", "--out", "{out}"], r"2 char tokens, too few for 64 streams of 64 steps", "ab",
                                    "corpus.txt"),
        "generate sample: --temperature -1": Case(["generate", "sample", "{generate}", "--temperature", "-1"],
                                                  r"temperature"),
        "generate sample: --top-p 1.5": Case(["generate", "sample", "{generate}", "--top-p", "1.5"], r"top.p"),
        "generate sample: --top-k 0": Case(["generate", "sample", "{generate}", "--top-k", "0"], r"top.k"),
        "generate eval: unseen characters": Case(["generate", "eval", "{generate}", "{data}"],
                                                 r"never seen|unknown", "\u4e2d\u6587\u5b57" * 50, "text.txt"),
        # seq2seq
        "seq2seq: a line without a tab": Case(["seq2seq", "train", "{data}", "--out", "{out}"],
                                              r"pairs\.tsv, line 3: expected 2 fields", "12\t21\n34\t43\n56\n",
                                              "pairs.tsv"),
        "seq2seq: an empty target": Case(["seq2seq", "train", "{data}", "--out", "{out}"],
                                         r"line 2: empty target field", "12\t21\n34\t \n", "pairs.tsv"),
        "seq2seq: --label-smoothing 1.5": Case(["seq2seq", "train", "{data}", "--label-smoothing", "1.5", "--out",
                                                "{out}"], r"label.smoothing", PAIRS, "pairs.tsv"),
        "seq2seq: --sampling-probability 2": Case(["seq2seq", "train", "{data}", "--sampling-probability", "2",
                                                   "--out", "{out}"], r"sampling.probability", PAIRS, "pairs.tsv"),
        "seq2seq translate: unseen characters": Case(["seq2seq", "translate", "{seq2seq}", "xyz"],
                                                     r"never seen|unknown"),
        "seq2seq translate: not a model": Case(["seq2seq", "translate", "{valid}", "123"], r"not a model folder"),
        # caption
        "caption: image missing": Case(["caption", "train", "{valid}/images", "{data}", "--out", "{out}"],
                                       r"1 image file\(s\) not found in .*: 99\.png \(line 14\)",
                                       captions_csv() + "99.png,a square\n", "captions.csv"),
        "caption: image outside": Case(["caption", "train", "{valid}/images", "{data}", "--out", "{out}"],
                                       r"line 14: image '\.\./corpus\.txt' is outside the images folder",
                                       captions_csv() + "../corpus.txt,a square\n", "captions.csv"),
        "caption: empty caption": Case(["caption", "train", "{valid}/images", "{data}", "--out", "{out}"],
                                       r"line 3: empty caption field",
                                       captions_csv().replace("1.png,red square", "1.png,"), "captions.csv"),
        "caption: no caption column": Case(["caption", "train", "{valid}/images", "{data}", "--out", "{out}"],
                                           r"missing column\(s\) \['caption'\]",
                                           captions_csv().replace("file,caption", "file,text"), "captions.csv"),
        "caption: images folder missing": Case(["caption", "train", "{valid}/nothing", "{valid}/captions.csv",
                                                "--out", "{out}"], r"nothing: no such folder"),
        "caption: --image-size 0": Case(["caption", "train", "{valid}/images", "{valid}/captions.csv",
                                         "--image-size", "0", "--out", "{out}"], r"image.size"),
        # recognize
        "recognize: inf in a feature": Case(["recognize", "train", "{data}", "--out", "{out}"],
                                            r"long\.csv, line 4, column 'f1': inf is not a finite number",
                                            long_csv().replace("\nu0,2,", "\nu0,2,1.0,inf,0,ba\nu0,22,", 1),
                                            "long.csv"),
        "recognize: no transcript column": Case(["recognize", "train", "{data}", "--out", "{out}"],
                                                r"column 'transcript' \(the transcripts\) not found",
                                                long_csv().replace("transcript", "label"), "long.csv"),
        "recognize: a blank transcript": Case(["recognize", "train", "{data}", "--out", "{out}"],
                                              r"line 2, column 'transcript': blank \(1 of 128 rows",
                                              long_csv().replace(",ba\n", ",\n", 1), "long.csv"),
        "recognize: features of another width": Case(["recognize", "{recognize}", "{data}"],
                                                     r"seq\.csv: 2 features per step; the model was trained on 3",
                                                     "a,b\n1,2\n3,4\n", "seq.csv"),
        "recognize: inf in a sequence file": Case(["recognize", "{recognize}", "{data}"],
                                                  r"seq\.csv, line 3, column 2: inf is not a finite number",
                                                  "a,b,c\n1,2,0\n3,inf,1\n", "seq.csv"),
        "recognize: text in a sequence file": Case(["recognize", "{recognize}", "{data}"],
                                                   r"seq\.csv, line 2, column 1: 'x' is not a number",
                                                   "a,b,c\nx,2,0\n", "seq.csv"),
        "recognize eval: no transcripts": Case(["recognize", "eval", "{recognize}", "{data}", "--out", "{out}"],
                                               r"transcript", long_csv().replace("transcript", "note"), "long.csv"),
        "recognize: --conv-kernel 0": Case(["recognize", "train", "{valid}/long.csv", "--conv-kernel", "0", "--out",
                                            "{out}"], r"conv.kernel"),
    }
    for name, case in cases.items():
        case.existing_out = zlib.crc32(name.encode()) % 2 == 1 and "{out}" in case.argv
    return cases


CASES = {**generic_cases(), **task_cases()}


# --- running a case ------------------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, object]:
    return {str(p.relative_to(root)): ("dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def __iter__(self):
        return iter(self.buffer.read().decode("utf-8", errors="replace").splitlines(keepends=True))

    def read(self):
        return self.buffer.read().decode("utf-8", errors="replace")


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_is_refused_with_one_line(world: Path, tmp_path: Path, name: str, capsys, monkeypatch):
    case = CASES[name]
    data, out = tmp_path / case.name, tmp_path / "out"
    if isinstance(case.data, (bytes, str)):
        data.write_bytes(case.data if isinstance(case.data, bytes) else case.data.encode("utf-8"))
    elif case.data is FOLDER:
        data.mkdir()
    argv = [word.format(data=data, out=out, valid=world / "valid", **{task: world / task for task in (
        "forecast", "classify", "wide", "generate", "seq2seq", "caption", "recognize")}) for word in case.argv]
    if case.existing_out:
        out.mkdir()
        (out / "notes.txt").write_text("the user's own file\n")
        argv.append("--force")
    monkeypatch.setattr(sys, "stdin", _Stdin(case.stdin or b""))
    before, models = snapshot(tmp_path), snapshot(world)
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, (code, captured.err[-2000:])
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert re.search(case.message, lines[0]), lines[0]
    assert snapshot(tmp_path) == before and snapshot(world) == models, "a file was written or changed"
    assert not Path("/tmp/rnnkit-corpus-ran-code").exists()


@pytest.mark.parametrize("argv", [
    ["classify", "train", "{data}", "--label", "label", "--text", "text", "--epochs", "1", "--hidden-size", "4",
     "--out", "{out}"],
    ["recognize", "{recognize}", "{data}"],
])
def test_the_encoding_the_message_suggests_reads_the_file(world: Path, tmp_path: Path, argv: list[str], capsys):
    data = tmp_path / "data.csv"
    text = texts_csv().replace("good", "g\xf6\xf6d") if argv[0] == "classify" else sequence_csv().replace("f0", "\xe9")
    data.write_bytes(text.encode("latin-1"))
    argv = [word.format(data=data, out=tmp_path / "out", recognize=world / "recognize") for word in argv]
    assert main(argv) == 2 and "--encoding latin-1" in capsys.readouterr().err
    assert main(argv + ["--encoding", "latin-1"]) == 0, capsys.readouterr().err


def test_absurd_targets_train_when_the_user_asks_to_clip_or_keep_them(tmp_path: Path, capsys):
    data = tmp_path / "series.csv"
    data.write_text(series_csv(value="1e30"), encoding="utf-8")
    argv = ["forecast", "train", str(data), "--target", "y", "--time", "t", "--horizon", "3", "--lookback", "6",
            "--folds", "0", *TINY, "--max-steps", "3"]
    with pytest.warns(UserWarning, match=r"series\.csv, line 20, column 'y': clipped 1 absurd value"):
        assert main([*argv, "--outliers", "clip", "--out", str(tmp_path / "clip")]) == 0
    forecast = (tmp_path / "clip" / "forecast.csv").read_text()
    assert "nan" not in forecast.lower() and "e+" not in forecast  # a forecast on the series' own scale
    assert main([*argv, "--outliers", "keep", "--out", str(tmp_path / "keep")]) == 0  # as asked: kept


def test_the_corpus_covers_every_subcommand_that_reads_user_data():
    commands = Counter(" ".join(word for word in case.argv[:2] if not word.startswith("{")) for case in CASES.values())
    assert len(CASES) >= 150
    for command in ("forecast train", "forecast predict", "classify train", "classify predict", "generate train",
                    "generate sample", "generate eval", "seq2seq train", "seq2seq translate", "seq2seq eval",
                    "caption train", "caption", "recognize train", "recognize eval", "recognize"):
        assert commands[command] >= 2, (command, commands)
