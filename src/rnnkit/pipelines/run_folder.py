"""Run folders: the ``--out`` of a ``rnnkit <task> train``, which rnnkit creates, marks, and may continue.

    out = open_run("runs/x", "classify train", settings, resume=False, force=False)

A run folder holds ``rnnkit-run.json`` (the marker: which command made it, with which settings), ``model/``,
``checkpoints/``, ``metrics.json``, ``report.html``, ``history.json``, ``log.jsonl`` and a task's own outputs.
The rules, so that nothing the user had is ever touched:

- a new or empty folder, or one holding only the marker of a run that stopped before training: the run starts
  there;
- a folder that is not empty: refused, unless ``force`` (write into it: rnnkit's own files there are overwritten,
  nothing else is deleted; an earlier run's checkpoints in a folder rnnkit marked are removed, as that run is
  started over) or ``resume``;
- ``resume`` continues the run only when the marker says this command made the folder, with the same settings
  (a different setting is refused, named), and the folder holds nothing rnnkit did not write;
- temporary folders and files of an interrupted write (``.model.tmp-1a2b3c4d``, ``.metrics.json.tmp-...``,
  from ``rnnkit._fs``) never count and are removed when a run starts in the folder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit._version import __version__
from rnnkit.errors import UserError

MARKER = "rnnkit-run.json"
FORMAT = "rnnkit-run"
CHECKPOINTS = "checkpoints"
# What every train command writes into its run folder (a task adds its own outputs).
WRITES = (MARKER, "model", CHECKPOINTS, "metrics.json", "report.html", "history.json", "log.jsonl")
# Settings that change how a run is shown, not what it computes: they may differ when it resumes.
DISPLAY_ONLY = ("progress",)
_TEMPORARY = re.compile(r"^\..+\.(tmp|old|del)-[0-9a-f]{8}$")  # rnnkit._fs.temporary_sibling's names


def open_run(out: str | Path, command: str, settings: dict[str, Any], *, resume: bool = False, force: bool = False,
             writes: tuple[str, ...] = ()) -> Path:
    """Check the run folder ``out`` for ``rnnkit <command>`` with ``settings`` (plain JSON), create it, remove
    leftover temporaries, write the marker, and return it. ``writes``: the task's own output names."""
    out = Path(out)
    if resume and force:
        raise UserError("--resume continues the run in --out and --force starts it over: pass one of them")
    settings = json.loads(json.dumps(settings))  # tuples as lists, as the marker holds them
    entries = _entries(out)
    marker = read_marker(out) if MARKER in entries else None
    if entries == [MARKER]:  # a run that stopped before it trained (a wrong column name): start it afresh
        entries, marker = [], None
    if resume and entries:
        _check_resumable(out, marker, command, settings, entries, WRITES + tuple(writes))
    elif entries and not force:
        if marker is not None:
            raise UserError(f"output folder {out} is not empty: it holds a run of `rnnkit {marker['command']}`; pass "
                            f"--resume to continue it, or --force to start it over")
        refuse_not_empty(out)
    elif entries and marker is not None:  # --force over a run rnnkit made: its checkpoints would be resumed
        if (out / CHECKPOINTS).is_dir():
            _fs.remove_dir(out / CHECKPOINTS)
    _create(out)
    remove_temporaries(out)
    if not (resume and marker is not None):
        document = {"format": FORMAT, "format_version": 1, "rnnkit_version": __version__, "command": command,
                    "settings": settings}
        _fs.atomic_write(out / MARKER, _fs.json_bytes(document))
    return out


def prepare_output(out: str | Path, force: bool = False) -> Path:
    """An output folder for a command that is not a training run (predict, eval): created if needed; one that is
    not empty is refused unless ``force`` (then rnnkit overwrites its own files and deletes nothing)."""
    out = Path(out)
    if _entries(out) and not force:
        refuse_not_empty(out)
    _create(out)
    remove_temporaries(out)
    return out


def read_marker(out: Path) -> dict[str, Any]:
    """The marker of the run folder ``out``, checked: a ``UserError`` when it is not rnnkit's."""
    path = out / MARKER
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: not a readable run marker ({error}); rnnkit did not write it") from None
    if not (isinstance(document, dict) and document.get("format") == FORMAT and isinstance(document.get("command"), str)
            and isinstance(document.get("settings"), dict)):
        raise UserError(f"{path}: not an rnnkit run marker (expected \"format\": \"{FORMAT}\")")
    return document


def remove_temporaries(out: Path) -> list[str]:
    """Delete what interrupted writes left in ``out`` (only names of ``rnnkit._fs``'s temporaries); their names."""
    removed = []
    for path in sorted(out.iterdir()) if out.is_dir() else []:
        if _TEMPORARY.match(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def refuse_not_empty(out: Path) -> None:
    raise UserError(f"output folder {out} exists and is not empty; choose another --out, or pass --force to write "
                    "into it (rnnkit overwrites its own files and deletes nothing)")


def _check_resumable(out: Path, marker: dict[str, Any] | None, command: str, settings: dict[str, Any],
                     entries: list[str], writes: tuple[str, ...]) -> None:
    if marker is None:
        raise UserError(f"{out} was not made by rnnkit (no {MARKER}): refusing to resume into it; choose another "
                        f"--out")
    if marker["command"] != command:
        raise UserError(f"{out} holds a run of `rnnkit {marker['command']}`, not `rnnkit {command}`: cannot resume it")
    foreign = [name for name in entries if name not in writes]
    if foreign:
        raise UserError(f"{out} holds files rnnkit did not write ({', '.join(foreign[:5])}"
                        f"{' ...' if len(foreign) > 5 else ''}): refusing to resume into it")
    before, now = _flatten(marker["settings"]), _flatten(settings)
    changed = [f"{name} was {_show(before.get(name))} in the run, now {_show(now.get(name))}"
               for name in sorted(set(before) | set(now))
               if before.get(name) != now.get(name) and name.rsplit(".", 1)[-1] not in DISPLAY_ONLY]
    if changed:
        raise UserError(f"cannot resume the run in {out} with other settings: {'; '.join(changed)}; pass the same "
                        f"settings, or --force to start it over")


def _entries(out: Path) -> list[str]:
    """The names in ``out`` that count: everything but leftover temporaries. A file is refused."""
    if out.exists() and not out.is_dir():
        raise UserError(f"output folder {out} is a file; choose another --out")
    if not out.is_dir():
        return []
    return sorted(path.name for path in out.iterdir() if not _TEMPORARY.match(path.name))


def _create(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create output folder {out}: {error.strerror or error}") from None


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for name, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)
