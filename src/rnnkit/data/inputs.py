"""The one way user files come in: paths checked, bytes decoded, tables parsed, every fault one ``UserError``.

    path = input_path("train.csv")                 # "train.csv: no such file" / "train.csv: is a folder, not a file"
    text = read_text("corpus.txt")                 # UTF-8 (a BOM is fine), or ``encoding=`` as the user says
    frame = read_table("data.csv")                 # .csv / .tsv / .txt / .gz / .parquet -> pandas DataFrame
    place(frame, 4)                                # "data.csv, line 7": where the frame's 5th row is in the file

Every reader of rnnkit (tables, text corpora, pairs, captions, recognition files, time series) goes through here,
so a given mistake reads the same wherever it is made:

- a missing path, or a folder where a file is expected (and the other way round);
- an empty (0-byte) file, a header without rows, a file of blank lines;
- a binary file given as text (NUL bytes, or the signature of a known format: zip/xlsx, gzip, PNG, PDF, pickle...);
- bytes that are not UTF-8: "not UTF-8 (looks like Latin-1): re-save as UTF-8 or pass --encoding latin-1";
- an unbalanced quote or a row with too many fields: the file and the line.

CSV files are read as their quoting says: a quoted field may hold commas, line breaks and carriage returns; lines
end with ``\\n``, ``\\r\\n`` or (old Mac files) ``\\r``, and a lone ``\\r`` inside an unquoted field of a file with
``\\n`` line ends is part of the field (it does not split the row). A frame read from a file remembers where each
of its rows starts (``place``), so later checks name the line the user sees in an editor, not a row index.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")

# Known binary formats by their first bytes, named so the user knows what they gave and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook: export it as CSV)"),
    (b"\xd0\xcf\x11\xe0", "an Office document (an Excel .xls workbook: export it as CSV)"),
    (b"\x1f\x8b", "gzip-compressed data (name it .gz, or decompress it)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "an executable"),
    (b"\x80", "a Python pickle"),
)
# The encoding of the files one command reads (its --encoding), for the readers that are not given one.
_ENCODING: contextvars.ContextVar[str | None] = contextvars.ContextVar("rnnkit_input_encoding", default=None)
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PARSER_ROW = re.compile(r"EOF inside string starting at row (\d+)")


class Lines:
    """The file line (1-based) where each row of a frame starts; survives pandas' copies of ``attrs``."""

    def __init__(self, source: str, starts: list[int]) -> None:
        self.source, self.starts = source, starts

    def __deepcopy__(self, memo: dict) -> Lines:  # pandas deep-copies attrs on every operation: share instead
        return self

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


@contextlib.contextmanager
def files_encoded_as(encoding: str | None) -> Iterator[None]:
    """Within the block, text files and standard input are decoded as ``encoding`` (None: UTF-8, detected)
    unless a reader is given its own: the CLI's ``--encoding``."""
    token = _ENCODING.set(encoding)
    try:
        yield
    finally:
        _ENCODING.reset(token)


def input_path(path: str | Path, kind: str = "file") -> Path:
    """``path`` if it exists and is a ``kind`` ("file", "folder" or "any"); else one ``UserError`` wording."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such {'file or folder' if kind == 'any' else kind}")
    if kind == "file" and path.is_dir():
        raise UserError(f"{path}: is a folder, not a file")
    if kind == "folder" and not path.is_dir():
        raise UserError(f"{path}: is a file, not a folder")
    if kind == "file" and not path.is_file():
        raise UserError(f"{path}: not a regular file")
    return path


def read_bytes(path: str | Path) -> bytes:
    """The bytes of the file ``path``; OS errors become one line naming it."""
    path = input_path(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror or error})") from None


def read_text(path: str | Path, *, encoding: str | None = None, allow_empty: bool = False) -> str:
    """The text of ``path``: UTF-8 (with or without a byte-order mark, or UTF-16 with one) unless ``encoding``.

    Refused with the reason: an empty file (unless ``allow_empty``), a binary file, bytes that are not valid
    in the encoding (with a guess at the encoding they are in, and what to do).
    """
    path = input_path(path)
    return decode(read_bytes(path), str(path), encoding=encoding, allow_empty=allow_empty)


def read_stdin(*, encoding: str | None = None) -> str:
    """Standard input as text, checked as ``read_text`` checks a file (binary data and other encodings refused);
    empty input is the empty string."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in its place (tests, notebooks): already decoded
        return sys.stdin.read()
    return decode(stream.read(), "standard input", encoding=encoding, allow_empty=True)


def decode(data: bytes, where: str, *, encoding: str | None = None, allow_empty: bool = False) -> str:
    """``data`` as text (see ``read_text``); ``where`` names it in errors."""
    encoding = encoding or _ENCODING.get()
    if not data and not allow_empty:
        raise UserError(f"{where}: the file is empty (0 bytes)")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UserError(f"{where}: unknown encoding {encoding!r} (--encoding); e.g. utf-8, latin-1, cp1252") \
                from None
        try:
            return _no_nul(data.decode(encoding), where)
        except UnicodeDecodeError as error:
            raise UserError(f"{where}, line {_line_of(data, error.start)}: not {encoding} (byte "
                            f"{data[error.start]:#04x})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _no_nul(data.decode("utf-16"), where)
        except UnicodeDecodeError:
            raise UserError(f"{where}: starts like UTF-16 text but is not: re-save it as UTF-8") from None
    binary = _binary_kind(data)
    if binary:
        raise UserError(f"{where}: {binary}, not text; give a UTF-8 text or CSV file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        guess, name = ("Windows-1252", "cp1252") if re.search(rb"[\x80-\x9f]", data) else ("Latin-1", "latin-1")
        raise UserError(f"{where}, line {_line_of(data, error.start)}: not UTF-8 (looks like {guess}): re-save as "
                        f"UTF-8 or pass --encoding {name}") from None


def _no_nul(text: str, where: str) -> str:
    if "\x00" in text:
        raise UserError(f"{where}: binary data (NUL characters), not text; give a UTF-8 text or CSV file")
    return text


def _binary_kind(data: bytes) -> str | None:
    """What a binary ``data`` looks like, or None when it may be text."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return f"looks like {name}"
    head = data[:65536]
    if b"\x00" in head:
        return "binary data (NUL bytes)"
    controls = sum(head.count(bytes([c])) for c in (*range(1, 9), *range(14, 32)) if c != 27)
    if head and controls > 0.05 * len(head):
        return "binary data (control characters)"
    return None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_table(path: str | Path, *, encoding: str | None = None, sep: str | None = None,
               dtype: dict[str, Any] | None = None) -> Any:
    """A CSV/TSV (``.csv``, ``.tsv``, ``.txt``, any of them ``.gz``) or Parquet file as a pandas DataFrame.

    TSV by the name (``.tsv``, ``.tsv.gz``) unless ``sep`` says; every fault a ``UserError`` with file and line;
    a file with a header and no rows is refused. Rows remember their lines (``place``).
    """
    pandas = _pandas()
    path = input_path(path)
    name = path.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    suffix = Path(base).suffix
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, pandas)
    if suffix not in (".csv", ".tsv", ".txt"):
        raise UserError(f"{path}: unknown table format {Path(name).suffix!r}; use .csv, .tsv or .parquet")
    data = read_bytes(path)
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise UserError(f"{path}: not a readable gzip file ({error})") from None
    text = decode(data, str(path), encoding=encoding)
    return parse_csv(text, str(path), sep=sep or ("\t" if suffix == ".tsv" else ","), dtype=dtype)


def parse_csv(text: str, where: str, *, sep: str = ",", header: bool = True,
              dtype: dict[str, Any] | None = None) -> Any:
    """CSV ``text`` as a DataFrame (see the module docstring for line ends and quoting); ``dtype`` as pandas'
    (e.g. ``{"transcript": str}`` keeps "0042" as written)."""
    pandas = _pandas()
    text = text.replace("\r\n", "\n") if "\n" in text else text.replace("\r", "\n")
    if not text.strip():
        raise UserError(f"{where}: no data (the file holds only blank lines)")
    starts = check_quotes(text, where, sep)
    try:
        frame = pandas.read_csv(io.StringIO(text), sep=sep, lineterminator="\n", header=0 if header else None,
                                 dtype=dtype)
    except pandas.errors.EmptyDataError:
        raise UserError(f"{where}: no data (the file holds only blank lines)") from None
    except pandas.errors.ParserError as error:
        raise UserError(f"{where}{_parser_place(str(error), starts, sep)}") from None
    except (ValueError, OverflowError) as error:
        raise UserError(f"{where}: cannot read as CSV: {error}") from None
    if header and len(frame) == 0:
        raise UserError(f"{where}: a header ({', '.join(map(str, frame.columns))}) but no rows")
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ")]
    if header and unnamed and len(unnamed) == len(frame.columns):
        raise UserError(f"{where}, line {starts[0][0] if starts else 1}: the header row is empty")
    data_starts = [line for line, blank in starts if not blank][1 if header else 0:]
    if len(data_starts) == len(frame):
        frame.attrs["lines"] = Lines(where, data_starts)
    return frame


def check_quotes(text: str, where: str, sep: str = ",") -> list[tuple[int, bool]]:
    """Refuse CSV ``text`` (line ends ``\\n``) with a quote that opens and never closes, naming its line; returns
    the first line of each record and whether it is blank."""
    starts, open_quote = _record_starts(text, sep)
    if open_quote is not None:
        raise UserError(f"{where}, line {open_quote}: a quoted field opens here and is never closed "
                        f"(an unbalanced '\"')")
    return starts


def _record_starts(text: str, sep: str) -> tuple[list[tuple[int, bool]], int | None]:
    """``[(first line, blank?)]`` of each CSV record of ``text``, and the line where a quote opens that never
    closes (None when they balance). Quoting as pandas reads it: a ``"`` opens a quoted field only at the start of
    a field; inside one, ``""`` is a quote and a lone ``"`` closes it; a quoted field may span lines."""
    starts: list[tuple[int, bool]] = []
    quoted, opened, start, blank = False, None, 1, True
    for number, line in enumerate(text.split("\n"), start=1):
        if not quoted:
            start, blank = number, True
        blank = blank and not line.strip()
        if quoted or '"' in line:
            quoted, opened = _scan_quotes(line, sep, quoted, number, opened)
        if not quoted:
            starts.append((start, blank))
    if starts and starts[-1][1] and text.endswith("\n"):
        starts.pop()  # the empty "line" after the final line break
    return starts, (opened if quoted else None)


def _scan_quotes(line: str, sep: str, quoted: bool, number: int, opened: int | None) -> tuple[bool, int | None]:
    """The quoting state after ``line`` (see ``_record_starts``); ``opened`` is the line of the open quote."""
    field_start, i = not quoted, 0
    while i < len(line):
        char = line[i]
        if quoted:
            if char == '"':
                if line[i + 1:i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif char == '"' and field_start:
            quoted, opened = True, number
        field_start = not quoted and char == sep
        i += 1
    return quoted, opened


def _parser_place(message: str, starts: list[tuple[int, bool]], sep: str) -> str:
    """pandas' tokenizer message turned into ", line L: what is wrong" (pandas counts records, not lines)."""
    separator = {"\t": "tabs", ",": "commas"}.get(sep, repr(sep))
    found = _PARSER_LINE.search(message)
    if found:
        expected, record, saw = map(int, found.groups())
        line = starts[record - 1][0] if 0 < record <= len(starts) else record
        return (f", line {line}: {saw} fields, but the header has {expected} (separated by {separator}); quote "
                f"fields that hold the separator")
    found = _PARSER_ROW.search(message)
    if found:
        record = int(found.group(1))
        line = starts[record][0] if record < len(starts) else record + 1
        return f", line {line}: a quoted field opens here and is never closed (an unbalanced '\"')"
    return f": cannot read as CSV: {message.replace('Error tokenizing data. C error: ', '')}"


def _read_parquet(path: Path, pandas: Any) -> Any:
    from rnnkit._optional import require

    require("pyarrow", "parquet", why=f"to read the Parquet file {path}")
    try:
        frame = pandas.read_parquet(path)
    except Exception as error:  # pyarrow raises its own error types for every kind of damaged file
        raise UserError(f"{path}: not a readable Parquet file ({type(error).__name__}: {error})") from None
    if len(frame) == 0:
        raise UserError(f"{path}: a Parquet file with columns ({', '.join(map(str, frame.columns))}) but no rows")
    return frame


def place(frame: Any, row: int, where: str | None = None) -> str:
    """Where the ``row``-th (0-based position) row of ``frame`` is: "FILE, line L" for a frame read from a file
    (the line an editor shows), else "WHERE, row R" (1-based, the header not counted, as a spreadsheet numbers
    the rows below it)."""
    lines = frame.attrs.get("lines") if hasattr(frame, "attrs") else None
    if isinstance(lines, Lines) and 0 <= row < len(lines.starts) and len(lines.starts) == len(frame):
        return f"{lines.source}, line {lines.starts[row]}"
    return f"{where}, row {row + 1}" if where else f"row {row + 1}"


def row_numbers(frame: Any) -> tuple[Any, str]:
    """The number the user sees for each row of ``frame`` and its word: the file lines (``"line"``) for a
    frame read from a file, else 1, 2, ... (``"row"``)."""
    import numpy as np

    lines = frame.attrs.get("lines") if hasattr(frame, "attrs") else None
    if isinstance(lines, Lines) and len(lines.starts) == len(frame):
        return np.asarray(lines.starts), "line"
    return np.arange(1, len(frame) + 1), "row"


def source(frame: Any, default: str = "data") -> str:
    """The file a frame was read from (for messages), or ``default``."""
    lines = frame.attrs.get("lines") if hasattr(frame, "attrs") else None
    return lines.source if isinstance(lines, Lines) else default


def _pandas() -> Any:
    from rnnkit._optional import require

    return require("pandas", "forecast", why="to read tables")
