"""The folder a selection saves: ``auto.json`` (what was chosen, its table, the format version) beside one model
folder per member under ``members/``; the same layout for every ``Auto*`` model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError

DOCUMENT = "auto.json"


def is_auto_folder(folder: str | Path) -> bool:
    return (Path(folder) / DOCUMENT).is_file()


def refuse_overwrite(folder: Path, overwrite: bool) -> None:
    if is_auto_folder(folder) and not overwrite:
        raise UserError(f"{folder} already holds a model; pass overwrite=True to replace it")


def write_document(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DOCUMENT).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return folder


def read_document(folder: str | Path, format_version: int, what: str) -> tuple[Path, dict[str, Any]]:
    """(the document's path, the document), refused when the folder has none or another format version."""
    path = Path(folder) / DOCUMENT
    if not path.is_file():
        raise UserError(f"{folder}: no {DOCUMENT} (not an {what} folder)")
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format_version") != format_version:
        raise UserError(f"{path}: format_version {document.get('format_version')!r}; this rnnkit reads "
                        f"{format_version}")
    return path, document
