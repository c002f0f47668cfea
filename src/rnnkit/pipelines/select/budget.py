"""A wall-time budget for a search, and its progress on screen.

    budget = Budget.parse("5m")          # "90s", "5m", "1h", "1h30m", or a number of seconds
    budget.left()                        # seconds left (never below 0)
    budget.allows(seconds)               # would something estimated to take ``seconds`` still fit?

The progress line redraws in place on a terminal (``\\r``) and prints one line per trial elsewhere, like the
trainer's (``rnnkit.train.progress``), but counts trials of a search, not batches of an epoch.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from typing import TextIO

from rnnkit import _smoke
from rnnkit.errors import UserError
from rnnkit.nn import extension

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``: a number of seconds, or parts like ``1h30m``, ``5m``, ``90s``, ``2.5m``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*",
                             str(text))
        if parts is None or not any(parts.groups()):
            raise UserError(f"budget must be a duration like 90s, 5m, 1h30m or a number of seconds, got {text!r}")
        seconds = sum(float(value) * unit for value, unit in zip(parts.groups(), _UNITS.values()) if value)
    if not seconds > 0:
        raise UserError(f"budget must be positive, got {text!r}")
    return seconds


class Budget:
    """Seconds to spend from now (the clock starts at creation)."""

    def __init__(self, seconds: float, clock=time.monotonic) -> None:
        self.seconds, self.clock = float(seconds), clock
        self.started = clock()

    @classmethod
    def parse(cls, text: str | float | int | Budget) -> Budget:
        """A budget starting now from a duration; a ``Budget`` is returned as it is (its clock running)."""
        if isinstance(text, Budget):
            return text
        seconds = parse_duration(text)  # in smoke mode (RNNKIT_SMOKE) a few seconds at most
        return cls(min(seconds, _smoke.BUDGET_SECONDS) if _smoke.active() else seconds)

    @classmethod
    def start(cls, text: str | float | int | Budget) -> Budget:
        """``parse``, once rnnkit's C++ kernels are built (once per machine and version, up to a minute): a
        user's first search would otherwise spend that minute of its budget compiling."""
        extension.unavailable()
        return cls.parse(text)

    def spent(self) -> float:
        return self.clock() - self.started

    def left(self) -> float:
        return max(0.0, self.seconds - self.spent())

    def allows(self, seconds: float) -> bool:
        return seconds <= self.left()


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60:d}:{seconds % 60:02d}"


class SearchProgress:
    """``search 5/12 [########........] best 0.532 (last: transform=log 0.611) 1:12 left``. ``kind`` as the
    trainer's progress: "auto" (a bar on a terminal, lines otherwise), "bar", "lines" or "none"."""

    def __init__(self, kind: str = "auto", stream: TextIO | None = None, what: str = "search") -> None:
        self.stream = stream or sys.stdout
        if kind == "auto":
            kind = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.kind, self.what = kind, what
        self._open = False

    def update(self, done: int, total: int, best: float | None, last: str, budget: Budget) -> None:
        if self.kind == "none":
            return
        filled = int(20 * done / max(total, 1))
        text = f"{self.what} {done}/{total} [{'#' * filled}{'.' * (20 - filled)}]"
        text += f" best {best:.4g}" if best is not None else ""
        text += f" (last: {last}) {format_seconds(budget.left())} left"
        if self.kind == "bar":
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r" + text[:width].ljust(width))
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """One line of its own (a step outside the trials), after any open bar."""
        self.close(message)

    def close(self, message: str = "") -> None:
        if self.kind == "none":
            return
        if self._open:
            self.stream.write("\n")
            self._open = False
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
