"""The long-time-lag experiments of Hochreiter & Schmidhuber (1997), as seeded batch generators.

Source: S. Hochreiter and J. Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8):1735-1780, 1997:
Section 5.4 (Experiment 4, the adding problem) and Section 5.6 (Experiment 6, temporal order).

Every generator returns batch-first CPU tensors ``(x, lengths, y)``:

- ``x``: ``(B, T_max, input_size)`` float32, right-padded with zeros after each sequence's end;
- ``lengths``: ``(B,)`` int64, the true length of each sequence (lengths vary: ``T`` to ``T + T // 10``);
- ``y``: one target per sequence, due after its last element (the paper gives an error signal only there).

``lag`` is the paper's ``T``, the minimal sequence length. All randomness comes from the ``generator`` argument
(``torch.Generator``), so a seed fixes the data; ``None`` uses torch's global generator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import torch

from rnnkit.errors import UserError

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]

# The paper's size of a test set (Section 5.4: "2560 test sequences").
PAPER_TEST_SIZE = 2560

# --- the adding problem (Section 5.4) --------------------------------------------------------------------------
ADDING_TOLERANCE = 0.04  # a sequence is "processed correctly" when the absolute error at its end is below this
ADDING_FIRST_MARK_WINDOW = 10  # X1 is one of the first ten pairs
ADDING_MIN_LAG = 10  # the paper's shortest setting: X1 among the first ten pairs, X2 among the first four unmarked

# --- the temporal-order problem (Section 5.6) ------------------------------------------------------------------
TEMPORAL_ORDER_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "E", "B")  # one-hot index = position in this tuple
_DISTRACTORS = 4  # a, b, c, d
_X, _E, _B = 4, 6, 7
# The paper's windows for the relevant symbols at T = 100, in percent of T (0-based indices).
_RELEVANT_WINDOWS = {
    "6a": ((10, 20), (50, 60)),
    "6b": ((10, 20), (33, 43), (66, 76)),
}
TEMPORAL_ORDER_MIN_LAG = 10  # from here on every window is non-empty, inside the sequence and disjoint


def adding_problem(batch_size: int, lag: int, generator: torch.Generator | None = None) -> Batch:
    """A batch of the adding problem; returns ``(x (B, T_max, 2), lengths (B,), target (B,))``.

    As in the paper (Section 5.4): each element is a pair (value, marker). Values are uniform in [-1, 1);
    markers are 0 except that exactly two pairs are marked 1 and the first and the last pair are marked -1
    (unless marked 1). The length is a uniform integer in ``[T, T + T // 10]``. The first marked pair (value
    ``X1``) is one of the first ten pairs; the second (``X2``) is one of "the first ``T/2 - 1`` still unmarked
    pairs", read literally: the ``T // 2 - 1`` lowest unmarked positions, so the two positions are distinct. "In
    the rare case where the first pair gets marked", the paper sets X1 to zero; here the value of the first pair
    is zeroed in the input whenever it is marked (X2 can land there too), so the target stays the scaled sum of
    the marked inputs. Target: ``0.5 + (X1 + X2) / 4.0`` in [0, 1]; a prediction is correct when its absolute
    error is below ``ADDING_TOLERANCE`` (0.04), see ``adding_solved``.
    """
    _check_sizes(batch_size, lag, ADDING_MIN_LAG, "adding")
    lengths = torch.randint(lag, lag + lag // 10 + 1, (batch_size,), generator=generator)
    t_max = int(lengths.max())
    valid = torch.arange(t_max) < lengths[:, None]  # (B, T_max)
    values = (torch.rand(batch_size, t_max, generator=generator) * 2 - 1) * valid  # (B, T_max)
    first = torch.randint(0, ADDING_FIRST_MARK_WINDOW, (batch_size,), generator=generator)  # (B,)
    draw = torch.randint(0, lag // 2 - 1, (batch_size,), generator=generator)
    second = draw + (draw >= first).long()  # skip the first mark: the draw-th unmarked position

    rows = torch.arange(batch_size)
    markers = torch.zeros(batch_size, t_max)
    markers[rows, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    values[:, 0] = values[:, 0] * (markers[:, 0] != 1)  # the paper's "X1 = 0" when the first pair is marked

    target = 0.5 + (values[rows, first] + values[rows, second]) / 4.0  # (B,)
    return torch.stack([values, markers], dim=-1), lengths, target


def adding_solved(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Which sequences the paper counts as processed correctly: ``|prediction - target| < 0.04`` (bool, (B,))."""
    return (prediction.reshape(target.shape) - target).abs() < ADDING_TOLERANCE


def temporal_order(
    batch_size: int, lag: int, generator: torch.Generator | None = None, variant: str = "6a"
) -> Batch:
    """A batch of the temporal-order problem; returns ``(x (B, T_max, 8), lengths (B,), labels (B,) int64)``.

    As in the paper (Section 5.6): a sequence starts with ``E``, ends with ``B`` (the "trigger symbol") and is
    otherwise uniform random symbols from {a, b, c, d}, except at two (variant "6a") or three ("6b") positions
    that hold ``X`` or ``Y``, each chosen uniformly and independently. The class is the order of those symbols:
    6a has 4 classes XX, XY, YX, YY (the paper's Q, R, S, U); 6b has 8, XXX ... YYY (Q, R, S, U, V, A, B, C);
    class index = the X/Y symbols read as a binary number with X = 0, first symbol most significant. Inputs are
    one-hot over ``TEMPORAL_ORDER_SYMBOLS``; padding after a sequence's end is all zeros. (The paper counts a
    sequence correct when every output unit's final error is below 0.3; with a softmax head, use argmax accuracy.)

    Generalised to any ``T`` (the paper fixes T = 100): the length is uniform in ``[T, T + T // 10]`` (paper: 100
    to 110) and each relevant position is uniform in the paper's window scaled by ``T / 100`` and rounded down,
    as 0-based indices: 6a ``t1 in [T*10//100, T*20//100]``, ``t2 in [T*50//100, T*60//100]``; 6b
    ``t1 in [10, 20]``, ``t2 in [33, 43]``, ``t3 in [66, 76]`` percent of T. At T = 100 these are the paper's.
    """
    if variant not in _RELEVANT_WINDOWS:
        raise UserError(f"temporal order: unknown variant {variant!r}; known: {sorted(_RELEVANT_WINDOWS)}")
    _check_sizes(batch_size, lag, TEMPORAL_ORDER_MIN_LAG, "temporal order")
    windows = [(lag * low // 100, lag * high // 100) for low, high in _RELEVANT_WINDOWS[variant]]
    lengths = torch.randint(lag, lag + lag // 10 + 1, (batch_size,), generator=generator)
    t_max = int(lengths.max())
    rows = torch.arange(batch_size)

    symbols = torch.randint(0, _DISTRACTORS, (batch_size, t_max), generator=generator)  # (B, T_max)
    symbols[:, 0] = _E
    bits = torch.randint(0, 2, (batch_size, len(windows)), generator=generator)  # 0 = X, 1 = Y
    labels = torch.zeros(batch_size, dtype=torch.long)
    for j, (low, high) in enumerate(windows):
        position = torch.randint(low, high + 1, (batch_size,), generator=generator)
        symbols[rows, position] = _X + bits[:, j]
        labels = labels * 2 + bits[:, j]
    symbols[rows, lengths - 1] = _B

    valid = torch.arange(t_max) < lengths[:, None]  # (B, T_max)
    x = torch.nn.functional.one_hot(symbols, len(TEMPORAL_ORDER_SYMBOLS)).float() * valid[..., None]
    return x, lengths, labels


def temporal_order_classes(variant: str = "6a") -> list[str]:
    """The class names in label order: ``["XX", "XY", "YX", "YY"]`` for 6a, ``["XXX", ..., "YYY"]`` for 6b."""
    if variant not in _RELEVANT_WINDOWS:
        raise UserError(f"temporal order: unknown variant {variant!r}; known: {sorted(_RELEVANT_WINDOWS)}")
    k = len(_RELEVANT_WINDOWS[variant])
    return ["".join("XY"[(label >> (k - 1 - j)) & 1] for j in range(k)) for label in range(2**k)]


KINDS = ("adding", "temporal_order_6a", "temporal_order_6b")


@dataclasses.dataclass(frozen=True)
class LongLagProblem:
    """One long-lag task at one lag: what a model needs to know about it, and a sampler.

    ``kind`` is one of ``KINDS``: "adding" (Section 5.4), "temporal_order_6a" or "temporal_order_6b" (5.6).
    ``lag`` is the paper's T (minimal sequence length).
    """

    kind: str
    lag: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"unknown long-lag problem {self.kind!r}; known: {list(KINDS)}")
        minimum = ADDING_MIN_LAG if self.kind == "adding" else TEMPORAL_ORDER_MIN_LAG
        if isinstance(self.lag, bool) or not isinstance(self.lag, int) or self.lag < minimum:
            raise UserError(f"{self.kind}: lag must be an integer >= {minimum}, got {self.lag!r}")

    @property
    def input_size(self) -> int:
        return 2 if self.kind == "adding" else len(TEMPORAL_ORDER_SYMBOLS)

    @property
    def output_size(self) -> int:
        """1 (a regression target in [0, 1]) for adding; the number of classes for temporal order."""
        return 1 if self.kind == "adding" else len(self.classes)

    @property
    def classes(self) -> list[str]:
        """Class names in label order; empty for the adding problem (a regression)."""
        return [] if self.kind == "adding" else temporal_order_classes(self.kind.rsplit("_", 1)[1])

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """One fresh batch ``(x, lengths, y)``."""
        if self.kind == "adding":
            return adding_problem(batch_size, self.lag, generator)
        return temporal_order(batch_size, self.lag, generator, variant=self.kind.rsplit("_", 1)[1])

    def batches(self, batch_size: int, seed: int) -> Iterator[Batch]:
        """Endless fresh training batches, reproducible from ``seed`` (the paper trains on fresh sequences).

        Use a different seed than the fixed validation/test set, or the first batches repeat it.
        """
        generator = torch.Generator().manual_seed(seed)
        while True:
            yield self.sample(batch_size, generator)



class LongLagDataset(torch.utils.data.Dataset):
    """A fixed set of ``size`` sequences drawn once from ``seed``: for validation and test.

    All sequences are padded to the longest one in the set. Item ``i`` is ``(x[i], lengths[i], y[i])``, so the
    default ``DataLoader`` collation gives the same ``(x, lengths, y)`` batches as ``LongLagProblem.sample``.
    The whole set is also available as the tensors ``inputs``, ``lengths`` and ``targets``.
    """

    def __init__(self, problem: LongLagProblem, size: int, seed: int) -> None:
        self.problem = problem
        self.inputs, self.lengths, self.targets = problem.sample(size, torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> Batch:
        return self.inputs[index], self.lengths[index], self.targets[index]


def _check_sizes(batch_size: int, lag: int, minimum: int, name: str) -> None:
    if batch_size < 1:
        raise UserError(f"{name}: batch size must be at least 1, got {batch_size}")
    if lag < minimum:
        raise UserError(f"{name}: lag must be at least {minimum}, got {lag}")
