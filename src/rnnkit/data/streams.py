"""Contiguous streams for truncated backpropagation through time (char-rnn's ``CharSplitLMMinibatchLoader``).

The token ids are cut into ``batch_size`` equal rows, each a contiguous stretch of the text; batch ``i`` is the
``i``-th window of ``seq_len`` steps of every row:

    rows   = ids[: B * L].view(B, L)                      L = (N - 1) // B: row r is text [r*L, (r+1)*L)
    x_i    = rows[:, i*T : (i+1)*T]                       (B, T)
    y_i    = next tokens of x_i                           (B, T): the same windows shifted by one

So row ``r`` of batch ``i + 1`` continues exactly where row ``r`` of batch ``i`` stopped, and a model that carries
its state from one batch to the next (detached: truncated BPTT) sees each row as one long sequence. The dataset
is map-style, item ``i`` = batch ``i``, so the shared ``Trainer`` drives it with ``shuffle=False``,
``batch_size=1`` and ``collate_fn=first_item``, and resumes mid-epoch at the exact batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from rnnkit.errors import UserError


class StreamBatch(NamedTuple):
    x: Tensor  # (B, T) input ids
    y: Tensor  # (B, T) next-token ids
    index: int  # the batch's position in the stream: 0 starts every row afresh


class TokenStreams:
    """``len(streams)`` batches of ``batch_size`` contiguous rows, ``seq_len`` steps each (the last window may be
    shorter when ``drop_last=False``, so that evaluation counts every token)."""

    def __init__(self, ids: Sequence[int] | Tensor, batch_size: int, seq_len: int, *, drop_last: bool = True):
        ids = torch.as_tensor(ids, dtype=torch.long)
        if batch_size < 1 or seq_len < 1:
            raise UserError(f"batch_size and seq_len must be >= 1, got {batch_size} and {seq_len}")
        row_length = (len(ids) - 1) // batch_size
        if row_length < (seq_len if drop_last else 1):
            raise UserError(f"{len(ids)} tokens are too few for {batch_size} rows of at least "
                            f"{seq_len if drop_last else 1} steps; use a smaller batch size or sequence length")
        self.batch_size, self.seq_len, self.row_length = batch_size, seq_len, row_length
        # One extra column for the targets: row r also needs the token after its last input.
        starts = torch.arange(batch_size) * row_length
        self.rows = ids[starts.unsqueeze(1) + torch.arange(row_length + 1)]  # (B, L + 1)
        self.batches = row_length // seq_len if drop_last else -(-row_length // seq_len)

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, i: int) -> StreamBatch:
        if not 0 <= i < self.batches:
            raise IndexError(f"batch {i} out of range for {self.batches} batches")
        start = i * self.seq_len
        stop = min(start + self.seq_len, self.row_length)
        return StreamBatch(self.rows[:, start:stop], self.rows[:, start + 1:stop + 1], i)

    @property
    def tokens(self) -> int:
        """Predicted tokens per pass: every row's steps that the batches cover."""
        return self.batch_size * min(self.batches * self.seq_len, self.row_length)


def first_item(items: list[Any]) -> Any:
    """The Trainer's ``collate_fn`` for streams: each item is already a whole batch (use ``batch_size=1``)."""
    if len(items) != 1:
        raise UserError(f"stream batches are whole batches: use the trainer's batch_size=1, got {len(items)} items")
    return items[0]
