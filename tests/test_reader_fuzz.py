"""Fuzzing the readers: whatever the bytes, a reader returns data or raises one ``UserError``; never another
exception (a traceback in the CLI). HYPOTHESIS_PROFILE=thorough runs 10x more examples."""

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.inputs import read_table
from rnnkit.data.pairs import read_pairs
from rnnkit.data.recognition_io import read_sequence_file
from rnnkit.data.sequences import read_sequences
from rnnkit.data.text_corpus import load_text_corpus
from rnnkit.data.timeseries import SeriesColumns, to_panel
from rnnkit.errors import UserError

# Characters that matter to a CSV reader, numbers that are not quite numbers, and a few that are not text.
CELLS = st.sampled_from(["1", "2.5", "-3e4", "1e30", "inf", "-inf", "nan", "NA", "", " ", "x", "caf\u00e9", "a,b",
                         '"', '""', '"q"', "\r", "\n", "\t", "2024-01-01", "1,5", "\x00", "\u2028"])
SEPARATORS = st.sampled_from([",", "\t", "\n", "\r\n", "\r", ""])
TEXTS = st.lists(st.tuples(CELLS, SEPARATORS), max_size=40).map(lambda parts: "".join(a + b for a, b in parts))
DATA = st.one_of(TEXTS.map(lambda text: text.encode("utf-8")), TEXTS.map(lambda text: text.encode("latin-1",
                 errors="replace")), st.binary(max_size=300))
SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _folder():
    with tempfile.TemporaryDirectory(prefix="rnnkit-fuzz-") as folder:
        _FOLDER[:] = [Path(folder)]
        yield


_FOLDER: list[Path] = []
_COUNT = iter(range(10**9))


def _file(data: bytes, name: str) -> Path:
    path = _FOLDER[0] / str(next(_COUNT))
    path.mkdir()
    path = path / name
    path.write_bytes(data)
    return path


def _either(read, *args, **kwargs):
    """Call ``read``: a result, or None after a one-line ``UserError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' dtype warnings are not what is tested here
            return read(*args, **kwargs)
    except UserError as error:
        assert "\n" not in str(error).strip() or str(error).count("\n") < 3, str(error)
        return None


@SETTINGS
@given(data=DATA, suffix=st.sampled_from([".csv", ".tsv"]))
def test_tables_parse_or_raise_a_user_error(data, suffix):
    path = _file(data, "data" + suffix)
    frame = _either(read_table, path)
    assert path.read_bytes() == data
    if frame is None:
        return
    first = str(frame.columns[0])
    _either(read_sequences, frame, label=first)
    _either(read_sequences, frame, text=first)
    if len(frame.columns) > 1:
        _either(read_sequences, frame, label=first, id=str(frame.columns[1]))
    _either(to_panel, frame, SeriesColumns(target=first), fill="zero")


@SETTINGS
@given(data=DATA, suffix=st.sampled_from([".csv", ".tsv"]))
def test_pairs_parse_or_raise_a_user_error(data, suffix):
    pairs = _either(read_pairs, _file(data, "pairs" + suffix))
    assert pairs is None or all(source and target for source, target in pairs)


@SETTINGS
@given(data=DATA)
def test_text_corpora_read_or_raise_a_user_error(data):
    splits = _either(load_text_corpus, _file(data, "corpus.txt"), validation=0.1, test=0.1)
    assert splits is None or "\x00" not in splits.train


@SETTINGS
@given(data=DATA, suffix=st.sampled_from([".csv", ".tsv", ".npy"]))
def test_sequence_files_read_or_raise_a_user_error(data, suffix):
    sequence = _either(read_sequence_file, _file(data, "s" + suffix))
    assert sequence is None or (sequence.ndim == 2 and len(sequence) > 0)


@pytest.mark.parametrize("data", [b"a,b\n" + b"1,2\n" * 3 + b'"' * 7, b"\xff\xfe" + b"\x00" * 9, b"\r\r\r", b'"""'])
def test_known_awkward_inputs(data):
    _either(read_table, _file(data, "x.csv"))
    _either(read_pairs, _file(data, "x.csv"))
