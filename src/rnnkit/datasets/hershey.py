"""Hershey stroke fonts (Debian's ``hershey-fonts-data``, /usr/share/hershey-fonts/*.jhf) as pen strokes.

    font = load_font("cursive")            # needs: apt-get install hershey-fonts-data
    glyph = font["o"]                      # Glyph(left=-9, right=9, strokes=[array (n, 2), ...])

The .jhf format (one glyph per record; a record may wrap onto following lines every 72 characters):

    12345 18H\\QFNGLJKOKRLWNZQ[S[VZXWYRYOXJVGSFQF
    ^^^^^ glyph id (5 chars)   ^^^ vertex count (3 chars), the left/right pair included
             then the vertex count of character pairs, each an offset from 'R' (ord 82): the first pair is the
             glyph's left and right bounds, then (x, y) points; the pair " R" lifts the pen (a new stroke).

Coordinates are Hershey units with y pointing down (the capital height is about 21 units: y from -12 to 9, the
baseline at y = 9). The ASCII-ordered fonts hold 96 glyphs, one per character code 32 (space) .. 127.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from rnnkit.errors import UserError

FONT_DIR = Path("/usr/share/hershey-fonts")
INSTALL_HINT = "apt-get install hershey-fonts-data"
FIRST_CODE = 32  # ASCII-ordered fonts: glyph i is chr(32 + i)


@dataclasses.dataclass
class Glyph:
    """One character: horizontal bounds (the advance is ``right - left``) and pen-down strokes, each (n, 2)."""

    left: int
    right: int
    strokes: list[np.ndarray]

    @property
    def width(self) -> int:
        return self.right - self.left


def parse_glyph(data: str) -> Glyph:
    """A glyph from its pair string (the record after the id and the vertex count)."""
    if len(data) < 2 or len(data) % 2:
        raise ValueError(f"a Hershey glyph needs an even number of characters, got {len(data)}: {data!r}")
    pairs = [data[i:i + 2] for i in range(0, len(data), 2)]
    left, right = (ord(c) - ord("R") for c in pairs[0])
    strokes, points = [], []
    for pair in pairs[1:]:
        if pair == " R":  # pen up
            if points:
                strokes.append(np.array(points, dtype=np.float32))
            points = []
        else:
            points.append((ord(pair[0]) - ord("R"), ord(pair[1]) - ord("R")))
    if points:
        strokes.append(np.array(points, dtype=np.float32))
    return Glyph(left, right, strokes)


def parse_jhf(text: str) -> list[Glyph]:
    """Every glyph of a .jhf file in file order; records that wrap over several lines are joined."""
    glyphs = []
    lines = [line for line in text.splitlines() if line.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        try:
            count = int(line[5:8])
        except ValueError:
            raise ValueError(f"line {i + 1}: not a Hershey record (no vertex count in columns 6-8): {line!r}")
        data = line[8:]
        while len(data) < 2 * count and i + 1 < len(lines):  # wrapped record: the rest is on the next lines
            i += 1
            data += lines[i]
        if len(data) < 2 * count:
            raise ValueError(f"line {i + 1}: the record ends after {len(data)} of {2 * count} characters")
        glyphs.append(parse_glyph(data[:2 * count]))
        i += 1
    return glyphs


def font_path(name: str | Path, folder: Path | None = None) -> Path:
    """The .jhf file of a font given by name ("cursive", in ``folder``, default ``FONT_DIR``) or path; a clear
    install hint when it is missing."""
    path = Path(name) if str(name).endswith(".jhf") else Path(folder or FONT_DIR) / f"{name}.jhf"
    if not path.is_file():
        raise UserError(f"Hershey font {path} not found: {INSTALL_HINT}")
    return path


def load_font(name: str | Path, folder: Path | None = None) -> dict[str, Glyph]:
    """An ASCII-ordered font as ``{character: Glyph}`` for the characters " " .. "~" (and DEL)."""
    glyphs = parse_jhf(font_path(name, folder).read_text(encoding="ascii"))
    if len(glyphs) != 96:
        raise UserError(f"Hershey font {name} has {len(glyphs)} glyphs, not the 96 of an ASCII-ordered font")
    return {chr(FIRST_CODE + i): glyph for i, glyph in enumerate(glyphs)}
