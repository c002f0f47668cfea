"""The one input layer (rnnkit.data.inputs, rnnkit.data.checks): every bad file refused with one line that names
file, line, column and value, and the readers of every task built on it."""

import gzip

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import checks
from rnnkit.data.captions import read_captions
from rnnkit.data.inputs import input_path, place, read_table, read_text
from rnnkit.data.pairs import read_pairs
from rnnkit.data.recognition_io import read_recognition_data, read_sequence_file
from rnnkit.data.sequences import read_sequences
from rnnkit.data.text_corpus import load_text_corpus
from rnnkit.data.timeseries import SeriesColumns, to_panel
from rnnkit.errors import UserError


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# --- files: one wording for each fault, whatever reads them ----------------------------------------------------

FILE_FAULTS = [
    (b"", r"the file is empty \(0 bytes\)"),
    (b"\n\n  \n", r"no data \(the file holds only blank lines\)"),
    (b"a,b\n", r"a header \(a, b\) but no rows"),
    ("name,score\nJos\xe9,1\n".encode("latin-1"),
     r"line 2: not UTF-8 \(looks like Latin-1\): re-save as UTF-8 or pass --encoding latin-1"),
    ("a,b\n\u201cq\u201d,1\n".encode("cp1252"), r"not UTF-8 \(looks like Windows-1252\).*--encoding cp1252"),
    (b"PK\x03\x04\x14\x00\x00\x00", r"looks like a zip archive \(or an Excel .xlsx workbook: export it as CSV\)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", r"looks like a PNG image, not text"),
    (b"\x80\x04\x95\x10\x00", r"looks like a Python pickle, not text"),
    (b"a,b\n1,\x00\x00\x002\n", r"binary data \(NUL bytes\), not text"),
    (b'a,b\n1,2\n3,"x\n4,5\n', r"line 3: a quoted field opens here and is never closed"),
    (b"a,b\n1,2\n3,4,5\n", r"line 3: 3 fields, but the header has 2 \(separated by commas\)"),
    (b'a,b\n1,"x\ny"\n\n3,4,5\n', r"line 5: 3 fields, but the header has 2"),  # lines, not records
]


@pytest.mark.parametrize("data, message", FILE_FAULTS)
def test_table_faults_name_the_file_and_line(tmp_path, data, message):
    path = write(tmp_path, "data.csv", data)
    with pytest.raises(UserError, match=message) as caught:
        read_table(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)
    assert path.read_bytes() == data


@pytest.mark.parametrize("reader", [read_table, read_text, read_pairs, read_sequence_file])
def test_missing_path_and_folder_read_the_same_everywhere(tmp_path, reader):
    with pytest.raises(UserError, match=r"missing\.csv: no such file$"):
        reader(tmp_path / "missing.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(UserError, match=r"folder\.csv: is a folder, not a file$"):
        reader(tmp_path / "folder.csv")


def test_folders_and_files_where_the_other_is_expected(tmp_path):
    path = write(tmp_path, "x.csv", "a\n1\n")
    with pytest.raises(UserError, match="is a file, not a folder"):
        input_path(path, "folder")
    with pytest.raises(UserError, match="images: no such folder"):
        read_captions(tmp_path / "images", path)
    with pytest.raises(UserError, match="corpus: no such file or folder"):
        load_text_corpus(tmp_path / "corpus")


def test_encoding_is_detected_named_and_can_be_given(tmp_path):
    latin = write(tmp_path, "latin.csv", "name,score\nJos\xe9,1\n".encode("latin-1"))
    assert read_table(latin, encoding="latin-1")["name"].tolist() == ["Jos\u00e9"]
    with pytest.raises(UserError, match="unknown encoding 'klingon'"):
        read_table(latin, encoding="klingon")
    with pytest.raises(UserError, match=r"line 2: not ascii \(byte 0xe9\)"):
        read_table(latin, encoding="ascii")
    bom = write(tmp_path, "bom.csv", b"\xef\xbb\xbfa,b\n1,2\n")
    assert list(read_table(bom).columns) == ["a", "b"]  # Excel's UTF-8 byte-order mark is not part of the header
    utf16 = write(tmp_path, "utf16.csv", "a,b\n1,\u00e9\n".encode("utf-16"))  # Excel's "Unicode text"
    assert read_table(utf16)["b"].tolist() == ["\u00e9"]
    gz = write(tmp_path, "data.csv.gz", gzip.compress(b"a,b\n1,2\n"))
    assert read_table(gz)["b"].tolist() == [2]


def test_quoted_line_breaks_and_carriage_returns_are_read_as_the_quoting_says(tmp_path):
    path = write(tmp_path, "texts.csv", b'label,text\r\npos,"two\r\nlines"\r\nneg,"a\rb"\r\npos,plain\r\n')
    frame = read_table(path)
    assert frame["text"].tolist() == ["two\nlines", "a\rb", "plain"] and frame["label"].tolist() == ["pos", "neg", "pos"]
    assert [place(frame, i) for i in range(3)] == [f"{path}, line {n}" for n in (2, 4, 5)]
    stray = write(tmp_path, "stray.csv", b"label,text\npos,one\rtwo\nneg,three\n")  # an unquoted \r is not a row end
    assert read_table(stray)["text"].tolist() == ["one\rtwo", "three"]
    mac = write(tmp_path, "mac.csv", b"a,b\r1,2\r3,4\r")  # old Mac line ends
    assert read_table(mac)["b"].tolist() == [2, 4]
    inch = write(tmp_path, "inch.csv", b'a,b\n1,5" screen\n2,x\n')  # a quote inside a field is a character
    assert read_table(inch)["b"].tolist() == ['5" screen', "x"]


# --- values: column, line and value ----------------------------------------------------------------------------

def test_text_and_inf_in_numeric_columns_are_named(tmp_path):
    path = write(tmp_path, "wide.csv", "label,t0,t1\na,1,2\nb,3,x\n")
    with pytest.raises(UserError, match=r"wide\.csv, line 3, column 't1': 'x' is not a number"):
        read_sequences(read_table(path), label="label")
    path = write(tmp_path, "inf.csv", "label,t0,t1\na,1,2\nb,3,inf\n")
    with pytest.raises(UserError, match=r"inf\.csv, line 3, column 't1': inf is not a finite number"):
        read_sequences(read_table(path), label="label")
    long = write(tmp_path, "long.csv", "id,x,y\n1,0.5,a\n1,0.7,a\n2,oops,b\n2,0.1,b\n")
    with pytest.raises(UserError, match=r"long\.csv, line 4, column 'x': 'oops' is not a number"):
        read_sequences(read_table(long), label="y", id="id")  # a typo does not silently drop the column
    holes = write(tmp_path, "holes.csv", "id,x,y\n1,0.5,a\n1,,a\n")
    with pytest.raises(UserError, match=r"holes\.csv, line 3, column 'x': nan is not a finite number"):
        read_sequences(read_table(holes), label="y", id="id")


def test_blank_labels_empty_texts_and_free_text_classes_are_refused_with_the_reason(tmp_path):
    blank = write(tmp_path, "blank.csv", "text,label\nhello,\nworld,  \n")
    with pytest.raises(UserError, match=r"blank\.csv: the label column 'label' is empty on every row"):
        read_sequences(read_table(blank), text="text", label="label")
    some = write(tmp_path, "some.csv", "text,label\nhello,pos\nworld,\n")
    with pytest.raises(UserError, match=r"some\.csv, line 3, column 'label': blank \(1 of 2 rows have no 'label'\)"):
        read_sequences(read_table(some), text="text", label="label")
    empty = write(tmp_path, "empty.csv", 'text,label\n"",pos\n"  ",neg\n')
    with pytest.raises(UserError, match=r"the text column 'text' is empty on every row"):
        read_sequences(read_table(empty), text="text", label="label")
    words = [f"review number {i} was {'good' if i % 2 else 'bad'}" for i in range(200)]
    frame = pd.DataFrame({"label": words, "text": ["x"] * 200})
    with pytest.raises(UserError, match=r"looks like free text, not classes: 200 classes in 200 rows, 200 of"):
        checks.check_classes(checks.labels_of(frame, "label"), frame, "label")
    with pytest.raises(UserError, match="one class only"):
        checks.check_classes(["a"] * 5, frame, "label")
    checks.check_classes(["a", "b"] * 100 + [f"rare {i}" for i in range(20)], frame, "label")  # a long tail is fine


def test_absurd_targets_are_refused_or_clipped_when_asked(tmp_path):
    values = 10 + 15 * np.abs(np.sin(np.arange(48.0)))
    values[30] = 1e30
    path = write(tmp_path, "series.csv", "y\n" + "\n".join(map(str, values)) + "\n")
    frame = read_table(path)
    with pytest.raises(UserError, match=r"series\.csv, line 32, column 'y': 1e\+30 is absurd for this column"):
        to_panel(frame, SeriesColumns(target="y"), where=str(path))
    with pytest.warns(UserWarning, match=r"line 32, column 'y': clipped 1 absurd value"):
        clipped = to_panel(frame, SeriesColumns(target="y"), where=str(path), outliers="clip").series[0].target
    assert clipped.max() <= 25
    kept = to_panel(frame, SeriesColumns(target="y"), outliers="keep").series[0].target
    assert kept.max() == 1e30
    growth = pd.DataFrame({"y": 2.0 ** np.arange(40)})  # forty doublings: steep, not absurd
    to_panel(growth, SeriesColumns(target="y"))
    intermittent = pd.DataFrame({"y": [0.0] * 50 + [900.0, 0.0, 1200.0]})  # mostly zeros, a few orders
    to_panel(intermittent, SeriesColumns(target="y"))
    with pytest.raises(UserError, match=r"data, row 3, column 'y': inf is not a finite number"):
        to_panel(pd.DataFrame({"y": [1.0, 2.0, np.inf, 3.0]}), SeriesColumns(target="y"))


# --- each task's reader on the layer ---------------------------------------------------------------------------

def test_text_corpus_refuses_binary_blank_and_latin1(tmp_path):
    with pytest.raises(UserError, match=r"binary data \(NUL bytes\), not text"):
        load_text_corpus(write(tmp_path, "bin.txt", bytes(range(256)) * 4))
    with pytest.raises(UserError, match=r"the text is blank"):
        load_text_corpus(write(tmp_path, "blank.txt", "  \n\n \n"))
    latin = write(tmp_path, "latin.txt", ("caf\xe9 " * 100).encode("latin-1"))
    with pytest.raises(UserError, match=r"looks like Latin-1"):
        load_text_corpus(latin)
    assert "caf\u00e9" in load_text_corpus(latin, encoding="latin-1").train


def test_pairs_read_quoted_line_breaks_and_name_unbalanced_quotes(tmp_path):
    path = write(tmp_path, "pairs.csv", 'source,target\n"two\nlines",b\nc,d\n')
    assert read_pairs(path) == [("two\nlines", "b"), ("c", "d")]
    bad = write(tmp_path, "bad.csv", 'source,target\na,b\n"c,d\n')
    with pytest.raises(UserError, match=r"bad\.csv, line 3: .*unbalanced"):
        read_pairs(bad)
    with pytest.raises(UserError, match="looks like Latin-1"):
        read_pairs(write(tmp_path, "latin.tsv", "caf\xe9\tkafe\n".encode("latin-1")))


def test_recognition_files_refuse_pickles_damage_and_escapes(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match=r"objects\.npy: not a readable numeric \.npy array"):
        read_sequence_file(tmp_path / "objects.npy")
    np.save(tmp_path / "good.npy", np.zeros((5, 2), dtype=np.float32))
    truncated = write(tmp_path, "cut.npy", (tmp_path / "good.npy").read_bytes()[:-8])
    with pytest.raises(UserError, match=r"cut\.npy: not a readable numeric \.npy array"):
        read_sequence_file(truncated)
    with pytest.raises(UserError, match=r"fake\.npy: not a \.npy file"):
        read_sequence_file(write(tmp_path, "fake.npy", "1,2\n3,4\n"))
    with pytest.raises(UserError, match=r"s\.csv, line 3, column 2: inf is not a finite number"):
        read_sequence_file(write(tmp_path, "s.csv", "a,b\n1,2\n3,inf\n"))
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "transcripts.csv", "file,transcript\n../good.npy,ab\n")
    with pytest.raises(UserError, match=r"line 2: file '\.\./good\.npy' is outside the folder"):
        read_recognition_data(folder)


def test_caption_table_refuses_paths_outside_the_images_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    table = write(tmp_path, "captions.csv", "file,caption\n../secret.png,a cat\n")
    with pytest.raises(UserError, match=r"line 2: image '\.\./secret\.png' is outside the images folder"):
        read_captions(images, table)


def test_standard_input_is_checked_like_a_file(monkeypatch):
    import io
    import sys

    from rnnkit.data.inputs import read_stdin

    class Stdin:
        def __init__(self, data):
            self.buffer = io.BytesIO(data)

    monkeypatch.setattr(sys, "stdin", Stdin("caf\u00e9\n".encode("utf-8")))
    assert read_stdin() == "caf\u00e9\n"
    monkeypatch.setattr(sys, "stdin", Stdin(b"\x7fELF\x02\x01\x01\x00"))
    with pytest.raises(UserError, match=r"standard input: looks like an executable, not text"):
        read_stdin()
    monkeypatch.setattr(sys, "stdin", Stdin("caf\xe9\n".encode("latin-1")))
    with pytest.raises(UserError, match=r"standard input, line 1: not UTF-8 \(looks like Latin-1\)"):
        read_stdin()
    monkeypatch.setattr(sys, "stdin", Stdin(b""))
    assert read_stdin() == ""
