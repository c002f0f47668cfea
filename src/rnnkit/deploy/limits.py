"""The limits of ``rnnkit serve`` and the checks of a request that pydantic cannot express (sizes, ragged rows,
float32 range). A refusal is ``Invalid``: answered 422 with a ``detail`` that names the field
(``["body", "inputs", 3]``) and the problem, as FastAPI writes its own validation errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from rnnkit.errors import UserError

FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; larger requests are refused (413 for the body, 422 for the rest)."""

    max_body_bytes: int = field(default=2_000_000, metadata={"help": "largest request body (413 beyond)",
                                                            "metavar": "N"})
    max_batch: int = field(default=64, metadata={"help": "most sequences or images per request", "metavar": "N"})
    max_steps: int = field(default=5_000, metadata={"help": "most steps per sequence (characters of a text)",
                                                   "metavar": "N"})
    max_generate: int = field(default=1_000, metadata={"help": "most tokens per generation", "metavar": "N"})
    max_beam: int = field(default=16, metadata={"help": "widest beam search", "metavar": "N"})

    def __post_init__(self) -> None:
        bad = [f"{item.name}={getattr(self, item.name)!r}" for item in fields(self)
               if not isinstance(getattr(self, item.name), int) or getattr(self, item.name) < 1]
        if bad:
            raise UserError(f"server limits must be integers >= 1, got {', '.join(bad)}")


class Invalid(Exception):
    """A request that passed pydantic but not the model's limits: 422 naming ``location``."""

    def __init__(self, location: list[Any], message: str) -> None:
        super().__init__(message)
        self.location, self.message = location, message


def check_count(name: str, count: int, limit: int) -> None:
    if count > limit:
        raise Invalid(["body", name], f"at most {limit} per request, got {count}")


def check_beam(beam: int, limits: Limits) -> None:
    if beam > limits.max_beam:
        raise Invalid(["body", "beam"], f"must be <= {limits.max_beam}, got {beam}")


def sequences(inputs: list[Any], limits: Limits) -> list[Any]:
    """Texts as they are, numeric sequences as (T, F) float32 arrays; each checked against the limits."""
    check_count("inputs", len(inputs), limits.max_batch)
    kinds = {isinstance(item, str) for item in inputs}
    if len(kinds) > 1:
        raise Invalid(["body", "inputs"], "mix of texts and numeric sequences; give one kind")
    out = []
    for i, item in enumerate(inputs):
        if len(item) == 0:
            raise Invalid(["body", "inputs", i], "empty sequence")
        if len(item) > limits.max_steps:
            raise Invalid(["body", "inputs", i], f"{len(item)} steps; at most {limits.max_steps}")
        if isinstance(item, str):
            out.append(item)
            continue
        try:
            array = np.asarray(item, np.float64)
        except ValueError:
            raise Invalid(["body", "inputs", i], "rows of different lengths") from None
        if not np.abs(array).max(initial=0.0) <= FLOAT32_MAX:
            raise Invalid(["body", "inputs", i], "values beyond the float32 range")
        array = array.astype(np.float32)
        out.append(array[:, None] if array.ndim == 1 else array)
    return out


def images(values: list[Any], limits: Limits) -> np.ndarray:
    """(B, H, W, 3) uint8 from nested lists; the same size for every image."""
    check_count("images", len(values), limits.max_batch)
    try:
        batch = np.asarray(values, np.float64)
    except ValueError:
        raise Invalid(["body", "images"], "images of different sizes (or ragged rows)") from None
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.shape[1] * batch.shape[2] > limits.max_steps * 10:
        raise Invalid(["body", "images"], f"(height, width, 3) RGB images of one size, got {batch.shape[1:]}")
    if batch.min() < 0 or batch.max() > 255:
        raise Invalid(["body", "images"], "values must be in 0..255")
    return batch.round().astype(np.uint8)
