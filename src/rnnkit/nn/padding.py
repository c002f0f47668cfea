"""Variable-length batches: checking ``lengths``, masks, and moving left padding to the right.

A batch of sequences of different lengths is a (B, T, I) tensor plus ``lengths`` (B,). With right padding
sequence b occupies steps ``0 .. lengths[b]-1``; with left padding it occupies ``T-lengths[b] .. T-1``.
The layers turn left padding into right padding once on the way in and back on the way out, so each path
handles one layout.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import Tensor

Lengths = Union[Tensor, Sequence[int]]


def check_lengths(lengths: Lengths, batch_size: int, steps: int, device: torch.device) -> Tensor:
    """Validate ``lengths`` and return it as an int64 tensor on ``device``."""
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ValueError(f"lengths must have shape ({batch_size},), one per sequence; got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integers, got dtype {lengths.dtype}")
    lengths = lengths.long()
    shortest, longest = int(lengths.min()), int(lengths.max())
    if shortest <= 0:
        raise ValueError(f"lengths must be >= 1; sequence {int(lengths.argmin())} has length {shortest}")
    if longest > steps:
        raise ValueError(
            f"lengths must be <= the sequence dimension {steps}; sequence {int(lengths.argmax())} has length {longest}"
        )
    return lengths


def valid_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, T) bool, True where a right-padded step holds data."""
    return torch.arange(steps, device=lengths.device) < lengths.unsqueeze(1)


def roll_rows(x: Tensor, shifts: Tensor) -> Tensor:
    """Roll each row of ``x`` (B, T, ...) along time by its own shift: ``out[b, t] = x[b, (t - shifts[b]) % T]``."""
    steps = x.shape[1]
    index = (torch.arange(steps, device=x.device) - shifts.unsqueeze(1)) % steps  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def left_to_right(x: Tensor, lengths: Tensor) -> Tensor:
    return roll_rows(x, -(x.shape[1] - lengths))


def right_to_left(x: Tensor, lengths: Tensor) -> Tensor:
    return roll_rows(x, x.shape[1] - lengths)


def first_nonfinite(x: Tensor, mask: Optional[Tensor] = None) -> Optional[tuple[int, ...]]:
    """Index of the first NaN/Inf in ``x`` (ignoring padded steps when ``mask`` (B, T) is given), or None."""
    bad = ~torch.isfinite(x)
    if mask is not None:
        bad &= mask.view(*mask.shape, *([1] * (x.dim() - 2)))
    if not bool(bad.any()):
        return None
    return tuple(int(i) for i in bad.nonzero()[0])


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each right-padded sequence of ``x`` (B, T, ...) within its own length; padding stays in place."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    index = torch.where(steps < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - steps, steps)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)
