"""Crash-safe file writes: a reader sees the old content or the new one, never half of either.

The recipe (POSIX): write to a temporary name in the same folder, flush and fsync the file, ``os.replace`` it
onto the final name (atomic within one file system), then fsync the folder so the rename itself is durable.
Folders are published the same way: fill ``name.tmp-*``, fsync everything, rename.

A write that fails (a full disk, a file-size limit, a folder without write permission) leaves no temporary file
or folder behind and raises one ``UserError`` naming the path and the reason, not a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError


@contextlib.contextmanager
def os_errors(path: Path, what: str = "write") -> Iterator[None]:
    """Turn an ``OSError`` in the block into a one-line ``UserError``: "PATH: cannot write (No space left on
    device)". The path is the file the OS names, unless that is one of our hidden temporaries: then ``path``."""
    try:
        yield
    except OSError as error:
        named = error.filename if error.filename is not None and ".tmp-" not in str(error.filename) else path
        raise UserError(f"{named}: cannot {what} ({error.strerror or error})") from None


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; its renames are journalled by NTFS instead
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and Windows) refuse fsync on folders: nothing more we can do
        pass
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and fsync it (no rename: for files inside a temporary folder)."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file in the same folder, fsync, rename); the folder is
    created when it is missing."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    with os_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_file(temporary, data)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        fsync_dir(path.parent)


def write_folder(final: Path, files: Mapping[str, bytes]) -> None:
    """Publish a folder holding ``files`` (name -> bytes) as ``final`` atomically (``publish_dir``). On any
    failure, Ctrl-C included, the temporary folder is removed; OS errors become a ``UserError`` naming the path."""
    final = Path(final)
    with os_errors(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_sibling(final, "tmp")
        temporary.mkdir()
        try:
            for name, data in files.items():
                write_file(temporary / name, data)
            publish_dir(temporary, final)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise


def remove_leftovers(path: Path) -> None:
    """Delete the hidden temporaries (``.NAME.tmp-*``, ``.old-*``, ``.del-*``) that a killed write of ``path``
    left next to it, so that they neither pile up nor block the next run."""
    path = Path(path)
    for tag in ("tmp", "old", "del"):
        for leftover in path.parent.glob(f".{path.name}.{tag}-*"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


def json_bytes(document: Any, *, allow_nan: bool = False) -> bytes:
    """Indented UTF-8 JSON in insertion order; standard JSON (no NaN/Infinity tokens) unless ``allow_nan``."""
    return (json.dumps(document, indent=2, allow_nan=allow_nan) + "\n").encode("utf-8")


def temporary_sibling(path: Path, tag: str) -> Path:
    """A unique hidden name next to ``path``; the ``tag`` says what it is if a crash leaves it behind."""
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def publish_dir(temporary: Path, final: Path) -> None:
    """Rename a fully written, fsynced ``temporary`` folder to ``final``, replacing what is there.

    ``os.replace`` replaces an empty folder atomically but not a full one, so a full ``final`` is first renamed
    aside and deleted after the swap: a crash in between leaves ``final`` absent (and two hidden folders), never
    half-written.
    """
    fsync_dir(temporary)
    old = None
    if final.exists() and any(final.iterdir()):
        old = temporary_sibling(final, "old")
        os.replace(final, old)
    os.replace(temporary, final)
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_dir(path: Path) -> None:
    """Delete a folder so that no crash leaves a partial copy under its real name: rename first, then delete."""
    doomed = temporary_sibling(path, "del")
    os.replace(path, doomed)
    fsync_dir(path.parent)
    shutil.rmtree(doomed, ignore_errors=True)
