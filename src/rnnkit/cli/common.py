"""Options and checks shared by the subcommands that run something and write a folder of results."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnkit.cli import flags


def add_run_options(parser: argparse.ArgumentParser, *, out_required: bool = True, seed: bool = True) -> None:
    """Add ``--out DIR``, ``--force``, ``--seed INT`` (default 0; ``seed=False``: none) and ``--threads N`` to a
    subcommand's parser."""
    parser.add_argument(
        "--out", type=Path, required=out_required, metavar="DIR", help="folder to write the results into"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into --out even if it is not empty: rnnkit's own files there are overwritten, "
        "nothing is deleted",
    )
    if seed:
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
    """Create the output folder ``path`` (with its parents) and return it (``rnnkit.pipelines.run_folder``).

    A folder that exists and is not empty is refused unless ``force``: then rnnkit writes into it, overwriting the
    files of the same names, and deletes nothing (files from an earlier run that this one does not write stay).
    Temporaries an interrupted write left there never count, and are removed.
    """
    from rnnkit.pipelines.run_folder import prepare_output

    return prepare_output(path, force)


def add_train_command(actions: Any, recipe: Any, settings: type, *, skip: tuple[str, ...] = (),
                      tie: Callable[[Any], Any] | None = None, **parser_options: Any) -> argparse.ArgumentParser:
    """The ``train`` subcommand of a task (``add_train_options`` on a new subparser)."""
    parser = actions.add_parser("train", **parser_options)
    add_train_options(parser, recipe, settings, skip=skip, tie=tie)
    return parser


def add_train_options(parser: argparse.ArgumentParser, recipe: Any, settings: type, *, skip: tuple[str, ...] = (),
                      tie: Callable[[Any], Any] | None = None) -> None:
    """A task's training command: its flags generated from the ``settings`` dataclass (``flags``; the ``skip``
    paths left out), the run options, and ``--resume``; it runs ``rnnkit.pipelines.driver.train(recipe, settings,
    --out)``. ``tie``: settings -> settings, filling what one flag sets in two places (the decoder's cell and size
    from the encoder's)."""
    flags.add_config_flags(parser, settings, skip=skip)
    add_run_options(parser, seed=False)  # --seed is the training settings' own
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out where it stopped (the folder must be one this command made, "
                        "with the same settings)")
    parser.set_defaults(func=_run_training, recipe=recipe, settings_class=settings, skip=skip, tie=tie)


def run_form(command: str, words: list[str], forms: dict[str, Callable[[], argparse.ArgumentParser]],
             other: Callable[[], argparse.ArgumentParser], expected: str) -> int:
    """Parse ``words`` with the parser of the form their first word names (``forms``: "train", "eval"), else with
    ``other``'s (a model folder first), and run it: for commands whose first word may be a free value."""
    if not words:
        print(f"rnnkit {command}: error: give {expected} (see rnnkit {command} --help)", file=sys.stderr)
        return 2
    build = forms.get(words[0])
    parser, rest = (build(), words[1:]) if build else (other(), words)
    try:
        options = parser.parse_args(rest)
    except SystemExit as done:  # --help, or a usage error argparse has already printed
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    if getattr(options, "threads", None):  # the form's own --threads: the main parser never saw it
        use_threads(options.threads)
    return options.func(options)


def use_threads(count: int) -> None:
    """PyTorch's intra-op thread pool: busy-waiting threads on cores that other jobs hold slow every step."""
    import torch

    torch.set_num_threads(count)


def _run_training(args: argparse.Namespace) -> int:
    from rnnkit.pipelines.driver import train

    settings = flags.config_from_args(args, args.settings_class, skip=args.skip)
    if args.tie is not None:
        settings = args.tie(settings)
    metrics = train(args.recipe, settings, args.out, resume=args.resume, force=args.force)
    print("; ".join(filter(None, [args.recipe.summary(metrics), f"wrote {args.out}"])))
    return 0


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
