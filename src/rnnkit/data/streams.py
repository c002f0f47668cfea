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

Data parallel (``rnnkit.train.distributed``): ``streams.shard(rank, world_size)`` gives each process a
contiguous block of the rows of every batch (``StreamBatch.rows`` says which), so every process takes every
batch, carries the state of its own rows only, and all take the same number of steps.
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
    rows: slice = slice(None)  # which of the streams these are (a process's block under data parallel)


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

    def shard(self, rank: int, world_size: int) -> StreamShard:
        """Process ``rank``'s rows of every batch: a contiguous block, the blocks' sizes differing by at most one
        (the first ``batch_size % world_size`` ranks take one more). A rank may get no rows when there are fewer
        rows than processes (evaluation skips it; the trainer refuses that for training)."""
        return StreamShard(self, rank, world_size)


class StreamShard:
    """One process's rows of ``TokenStreams``: item ``i`` is ``StreamBatch(x[rows], y[rows], i, rows)``."""

    def __init__(self, streams: TokenStreams, rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world_size {world_size}")
        block = torch.arange(streams.batch_size).tensor_split(world_size)[rank]
        start = int(block[0]) if len(block) else streams.batch_size
        self.streams, self.rows = streams, slice(start, start + len(block))

    def __len__(self) -> int:
        return len(self.streams)

    def __getitem__(self, i: int) -> StreamBatch:
        x, y, index, _ = self.streams[i]
        return StreamBatch(x[self.rows], y[self.rows], index, self.rows)


def first_item(items: list[Any]) -> Any:
    """The Trainer's ``collate_fn`` for streams: each item is already a whole batch (use ``batch_size=1``)."""
    if len(items) != 1:
        raise UserError(f"stream batches are whole batches: use the trainer's batch_size=1, got {len(items)} items")
    return items[0]
