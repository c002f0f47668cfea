"""Options and checks shared by the subcommands that run something and write a folder of results."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from rnnkit.cli import flags


def add_run_options(parser: argparse.ArgumentParser, *, out_required: bool = True, seed: bool = True,
                    threads: int | None = None) -> None:
    """Add ``--out DIR``, ``--force``, ``--seed INT`` (default 0; ``seed=False``: none) and ``--threads N``
    (default ``threads``; None: PyTorch's choice) to a subcommand's parser."""
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
    add_encoding_option(parser)
    shown = threads or "PyTorch's choice, one per core"
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=threads,
        metavar="N",
        help=f"CPU threads for PyTorch (default: {shown}); on a machine shared with other jobs, fewer threads than "
        "cores is often much faster",
    )


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoding", metavar="NAME", help="the text encoding of the files (and standard input) "
                        "read (default: UTF-8, with or without a byte-order mark); e.g. latin-1, cp1252, utf-16")


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line (the usage is one ``--help`` away), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def prepare_out_dir(path: str | os.PathLike[str], force: bool = False, *, create: bool = True) -> Path:
    """Create the output folder ``path`` (with its parents) and return it (``rnnkit.pipelines.run_folder``).

    A folder that exists and is not empty is refused unless ``force``: then rnnkit writes into it, overwriting the
    files of the same names, and deletes nothing (files from an earlier run that this one does not write stay).
    Temporaries an interrupted write left there never count, and are removed.
    """
    from rnnkit.pipelines.run_folder import prepare_output

    return prepare_output(path, force, create=create)


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
    add_run_options(parser, seed=False, threads=recipe.threads)  # --seed is the training settings' own
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out where it stopped (the folder must be one this command made, "
                        "with the same settings)")
    parser.add_argument("--nproc", type=positive_int, default=1, metavar="N",
                        help="train in N processes on this machine (distributed data parallel under torchrun; "
                        "--batch-size is the global batch)")
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
    explain(parser)
    try:
        options = parser.parse_args(rest)
    except SystemExit as done:  # --help, or a usage error argparse has already printed
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    if getattr(options, "threads", None):  # the form's own --threads: the main parser never saw it
        use_threads(options.threads)
    from rnnkit.data.inputs import files_encoded_as

    with files_encoded_as(getattr(options, "encoding", None)):
        return options.func(options)


def explain(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``--help`` complete, once for every parser under ``parser``: each option's default in its help (the
    generated flags already say theirs), and a subcommand's one-line ``help`` as its description when it has none."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                if sub.description is None and choice.help:
                    sub.description = choice.help[0].upper() + choice.help[1:] + "."
                explain(sub)
        elif (action.option_strings and action.help != argparse.SUPPRESS and "default" not in (action.help or "")
              and action.default not in (None, False, argparse.SUPPRESS)):
            action.help = f"{action.help or ''} (default: {_shown(action.default)})".lstrip()
    return parser


def _shown(value: Any) -> str:
    text = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace("\n", "\\n").replace("%", "%%")  # argparse formats help with %


def use_threads(count: int) -> None:
    """PyTorch's intra-op thread pool: busy-waiting threads on cores that other jobs hold slow every step."""
    import torch

    torch.set_num_threads(count)


# The arguments the running ``rnnkit`` was given (``main`` sets them): ``--nproc N`` re-runs them under torchrun.
ARGV: list[str] = []


def _run_training(args: argparse.Namespace) -> int:
    from rnnkit.pipelines.driver import is_main_process, summarise, train
    from rnnkit.train.distributed import in_worker, launch, leave

    if getattr(args, "nproc", 1) > 1 and not in_worker():
        return launch(["-m", "rnnkit.cli.main", *_without_nproc(ARGV)], args.nproc, threads=args.threads)
    settings = flags.config_from_args(args, args.settings_class, skip=args.skip)
    if args.tie is not None:
        settings = args.tie(settings)
    metrics = train(args.recipe, settings, args.out, resume=args.resume, force=args.force)
    if is_main_process():
        print(summarise(args.recipe, metrics))
        print(f"wrote {args.out}")
    leave(together=True)  # every rank trained: close the group in step
    return 0


def _without_nproc(argv: list[str]) -> list[str]:
    """``argv`` less ``--nproc N`` (the workers train; torchrun's own parser would take ``--nproc`` as an ambiguous
    abbreviation of its ``--nproc-per-node``)."""
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--nproc":
            skip = True
        elif not word.startswith("--nproc="):
            kept.append(word)
    return kept


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
