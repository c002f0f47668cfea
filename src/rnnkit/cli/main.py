"""The ``rnnkit`` command: argument parsing only; each subcommand calls the Python API.

A subcommand is a module ``rnnkit/cli/<name>.py`` with a ``register`` function, listed in ``SUBCOMMANDS``::

    from rnnkit.cli import common

    def register(subparsers) -> None:
        parser = subparsers.add_parser("demo", help="one line for `rnnkit --help`", description="...")
        common.add_run_options(parser)           # --out DIR, --force, --seed INT, --threads N
        parser.set_defaults(func=run)

    def run(args) -> int | None:                 # None or 0: success
        out = common.prepare_out_dir(args.out, args.force)
        ...                                      # import torch and the API here, not at module top:
                                                 # `rnnkit --version` and `--help` then stay fast

Exit codes: 0 success; 2 a user error (``UserError``, a missing or unreadable user-given path, a usage error),
reported as one line ``rnnkit: error: ...`` with no traceback; 130 interrupted (Ctrl-C). Any other exception is a
bug in rnnkit and keeps its traceback. Warnings about the results (``ResultWarning``, e.g. outputs cut at a length
limit) are printed as one line ``rnnkit: warning: ...``, every time.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from rnnkit._version import __version__
from rnnkit.cli import caption, classify, common, demo, deploy, forecast, generate, recognize, seq2seq
from rnnkit.errors import ResultWarning, UserError

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# The subcommands, in the order `rnnkit --help` lists them: one `register` per task (import it above).
SUBCOMMANDS: list[Register] = [demo.register, forecast.register, classify.register, generate.register, seq2seq.register,
                              caption.register,
                              recognize.register, deploy.register]

# OS errors about a path (the error names it: a file the user gave, a full disk under --out): reported as user
# errors, in one line, without a traceback.
_PATH_ERRORS = (OSError,)


def build_parser(subcommands: Sequence[Register] | None = None) -> argparse.ArgumentParser:
    """The ``rnnkit`` parser with ``subcommands`` (default: ``SUBCOMMANDS``) registered."""
    parser = common.Parser(
        prog="rnnkit", description="Recurrent neural networks for sequence data. Batch-first everywhere."
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS if subcommands is None else subcommands:
        register(subparsers)
    return common.explain(parser)


def main(argv: Sequence[str] | None = None, *, subcommands: Sequence[Register] | None = None) -> int:
    """Run ``rnnkit`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code; never calls exit."""
    argv = list(sys.argv[1:] if argv is None else argv)
    common.ARGV[:] = argv
    try:
        try:
            args = build_parser(subcommands).parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error argparse has already printed
            return done.code if isinstance(done.code, int) else int(done.code is not None)
        func = getattr(args, "func", None)
        if func is None:
            raise RuntimeError(f"subcommand {args.command!r} did not set func: fix its register()")
        if getattr(args, "threads", None):
            common.use_threads(args.threads)
        from rnnkit.data.inputs import files_encoded_as

        with files_encoded_as(getattr(args, "encoding", None)), warnings.catch_warnings():
            warnings.simplefilter("always", ResultWarning)
            warnings.showwarning = _show_warning(warnings.showwarning)
            return int(func(args) or 0)
    except UserError as error:
        return _user_error(str(error))
    except _PATH_ERRORS as error:
        if error.filename is None:  # not about a path we can name: treat as a bug
            raise
        return _user_error(f"{error.filename}: {error.strerror or error}")
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130


def _show_warning(show: Callable) -> Callable:
    """``warnings.showwarning`` that prints rnnkit's result warnings as one line, and others as ``show`` does."""

    def shown(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202 (warnings' own)
        if issubclass(category, ResultWarning):
            print(f"rnnkit: warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    return shown


def _user_error(message: str) -> int:
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"rnnkit: error: {one_line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
