"""Options and checks shared by the subcommands that run something and write a folder of results."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError

RECURRENT_FLAGS = ("cell", "hidden_size", "num_layers", "bidirectional", "dropout")


def add_run_options(parser: argparse.ArgumentParser, *, out_required: bool = True) -> None:
    """Add ``--out DIR``, ``--force``, ``--seed INT`` (default 0) and ``--threads N`` to a subcommand's parser."""
    parser.add_argument(
        "--out", type=Path, required=out_required, metavar="DIR", help="folder to write the results into"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into --out even if it is not empty: rnnkit's own files there are overwritten, "
        "nothing is deleted",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="INT", help="random seed (default: 0)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPU threads for PyTorch (default: PyTorch's choice, one per core); on a machine shared with other "
        "jobs, fewer threads than cores is often much faster",
    )


def prepare_out_dir(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Create the output folder ``path`` (with its parents) and return it.

    A folder that exists and is not empty is refused unless ``force``: then rnnkit writes into it, overwriting the
    files of the same names, and deletes nothing (files from an earlier run that this one does not write stay).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"output folder {path} is a file; choose another --out")
    if path.is_dir() and not force and any(path.iterdir()):
        raise UserError(
            f"output folder {path} exists and is not empty; choose another --out, or pass --force to write into "
            "it (rnnkit overwrites its own files and deletes nothing)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create output folder {path}: {error.strerror or error}") from None
    return path


def recurrent_config(args: argparse.Namespace, **given: Any) -> Any:
    """The ``rnnkit.nn.RecurrentConfig`` of a subcommand's network flags (those of ``--cell``, ``--hidden-size``,
    ``--num-layers``, ``--bidirectional``, ``--dropout`` it has), ``given`` settings overriding them."""
    from rnnkit.nn.config import RecurrentConfig  # heavy imports only when running

    flags = {name: getattr(args, name) for name in RECURRENT_FLAGS if hasattr(args, name)}
    return RecurrentConfig(**{**flags, **given})


def positive_int(text: str) -> int:
    """An argparse ``type``: an integer >= 1 (``--epochs``, ``--batch-size``)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse ``type``: an integer >= 0 (``--seed``)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
    return value
