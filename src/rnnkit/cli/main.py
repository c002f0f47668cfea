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
bug in rnnkit and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rnnkit._version import __version__
from rnnkit.cli import caption, classify, common, demo, forecast, generate, recognize, seq2seq
from rnnkit.errors import UserError

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# The subcommands, in the order `rnnkit --help` lists them: one `register` per task (import it above).
SUBCOMMANDS: list[Register] = [demo.register, forecast.register, classify.register, generate.register, seq2seq.register,
                              caption.register,
                              recognize.register]

# OS errors about a path the user gave (the error names it): reported as user errors, without a traceback.
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def build_parser(subcommands: Sequence[Register] | None = None) -> argparse.ArgumentParser:
    """The ``rnnkit`` parser with ``subcommands`` (default: ``SUBCOMMANDS``) registered."""
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks for sequence data. Batch-first everywhere."
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS if subcommands is None else subcommands:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, subcommands: Sequence[Register] | None = None) -> int:
    """Run ``rnnkit`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code; never calls exit."""
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


def _user_error(message: str) -> int:
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"rnnkit: error: {one_line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
