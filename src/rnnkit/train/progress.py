"""Progress on screen: a live bar on a terminal, plain periodic lines elsewhere (CI logs, pipes, files).

Hand-written (``\\r`` redraws) to avoid a dependency. ``progress="auto"`` picks the bar when the stream is a TTY.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

from rnnkit.train.callbacks import Callback


def format_record(record: dict[str, Any], max_epochs: int) -> str:
    """One epoch's record as a line: ``epoch 3/10 step 30 train_loss 0.4123 val_loss 0.5012 lr 0.001 ...``."""
    parts = [f"epoch {record['epoch']}/{max_epochs}", f"step {record['step']}"]
    for key, value in record.items():
        if key in ("epoch", "step", "seconds", "sequences_per_s"):
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    parts.append(f"{record['seconds']:.1f}s {record['sequences_per_s']:.0f} seq/s")
    return " ".join(parts)


def _eta(trainer: Any) -> str:
    done = trainer.batch_in_epoch - trainer.epoch_first_batch
    if done <= 0:
        return "--:--"
    seconds = int(trainer.epoch_seconds / done * (trainer.batches_per_epoch - trainer.batch_in_epoch))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _status(trainer: Any) -> str:
    """The running part of a progress line: batch count, loss, last monitored value, speed, ETA."""
    rate = trainer.epoch_sequences / max(trainer.epoch_seconds, 1e-9)
    text = f"{trainer.batch_in_epoch}/{trainer.batches_per_epoch} loss {trainer.epoch_loss:.4g}"
    monitor = trainer.config.monitor
    if trainer.history and monitor in trainer.history[-1]:
        text += f" {monitor} {trainer.history[-1][monitor]:.4g}"
    return text + f" {rate:.0f} seq/s ETA {_eta(trainer)}"


class ProgressBar(Callback):
    """A one-line bar redrawn in place (at most every ``min_interval`` seconds); a summary line per epoch."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._drawn = 0.0
        self._open = False  # a bar is on screen without its newline

    def on_batch_end(self, trainer: Any) -> None:
        now = time.monotonic()
        if now - self._drawn < self.min_interval and trainer.batch_in_epoch < trainer.batches_per_epoch:
            return
        self._drawn = now
        width = shutil.get_terminal_size().columns - 1
        filled = int(20 * trainer.batch_in_epoch / trainer.batches_per_epoch)
        line = f"epoch {trainer.epoch}/{trainer.config.max_epochs} [{'#' * filled}{'.' * (20 - filled)}] "
        line += _status(trainer)
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
        self._open = True

    def on_epoch_end(self, trainer: Any) -> None:
        width = shutil.get_terminal_size().columns - 1
        line = format_record(trainer.history[-1], trainer.config.max_epochs)
        self.stream.write(("\r" + line[:width].ljust(width) if self._open else line) + "\n")
        self.stream.flush()
        self._open = False

    def close(self) -> None:
        if self._open:  # training stopped mid-bar (an error): leave the cursor on a fresh line
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


class ProgressLines(Callback):
    """A line per epoch, and a status line every ``every_seconds`` within long epochs."""

    def __init__(self, stream: TextIO | None = None, every_seconds: float = 30.0) -> None:
        self.stream = stream or sys.stdout
        self.every_seconds = every_seconds
        self._printed = time.monotonic()

    def on_epoch_start(self, trainer: Any) -> None:
        self._printed = time.monotonic()

    def on_batch_end(self, trainer: Any) -> None:
        now = time.monotonic()
        if now - self._printed >= self.every_seconds and trainer.batch_in_epoch < trainer.batches_per_epoch:
            self._printed = now
            print(f"epoch {trainer.epoch}/{trainer.config.max_epochs} batch {_status(trainer)}",
                  file=self.stream, flush=True)

    def on_epoch_end(self, trainer: Any) -> None:
        print(format_record(trainer.history[-1], trainer.config.max_epochs), file=self.stream, flush=True)


def resolve(kind: str, stream: TextIO) -> str:
    """``"auto"``: ``"bar"`` on a terminal, ``"lines"`` elsewhere; other kinds as they are."""
    if kind == "auto":
        return "bar" if getattr(stream, "isatty", lambda: False)() else "lines"
    return kind


class CountProgress:
    """Progress through the items of a long step outside training (decoding, scoring), as the trainer shows its
    batches: ``decode 320/1391 [####................] 12 s ETA 0:40`` redrawn on a terminal, a line every
    ``every_seconds`` and a closing line elsewhere, nothing for ``"none"``. Call it with ``(done, total)``; the
    call with ``done == total`` closes the line, and the next call starts a new count."""

    def __init__(self, what: str, kind: str = "auto", stream: TextIO | None = None, every_seconds: float = 30.0,
                 min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stdout
        self.what, self.kind = what, resolve(kind, self.stream)
        self.every = every_seconds if self.kind == "lines" else min_interval
        self._started: float | None = None
        self._drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.kind == "none" or total <= 0:
            return
        now = time.monotonic()
        if self._started is None:
            self._started = self._drawn = now
        if done < total and now - self._drawn < self.every:
            return
        self._drawn, seconds = now, now - self._started
        left = int(seconds / done * (total - done)) if done else 0
        filled = int(20 * done / total)
        line = (f"{self.what} {done}/{total} [{'#' * filled}{'.' * (20 - filled)}] {seconds:.0f} s"
                + (f" ETA {left // 60}:{left % 60:02d}" if done < total else ""))
        if self.kind == "bar":
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r" + line[:width].ljust(width) + ("\n" if done >= total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        if done >= total:
            self._started = None


def make_progress(kind: str, stream: TextIO | None = None) -> Callback | None:
    """The reporter for ``TrainConfig.progress``: ``"auto"`` is a bar on a terminal, lines otherwise."""
    stream = stream or sys.stdout
    kind = resolve(kind, stream)
    if kind == "bar":
        return ProgressBar(stream)
    if kind == "lines":
        return ProgressLines(stream)
    return None
