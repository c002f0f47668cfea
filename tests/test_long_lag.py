"""The long-lag generators follow Hochreiter & Schmidhuber (1997), Sections 5.4 and 5.6: invariants and statistics."""

import pytest
import torch

from rnnkit.data import (
    KINDS,
    TEMPORAL_ORDER_SYMBOLS,
    LongLagDataset,
    LongLagProblem,
    adding_problem,
    adding_solved,
    temporal_order,
    temporal_order_classes,
)
from rnnkit.errors import UserError

X, Y, E, B = (TEMPORAL_ORDER_SYMBOLS.index(s) for s in "XYEB")


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_lengths_and_padding(x: torch.Tensor, lengths: torch.Tensor, lag: int) -> None:
    assert lengths.dtype == torch.long
    assert lengths.min() >= lag and lengths.max() <= lag + lag // 10
    assert x.shape[1] == lengths.max()
    padding = torch.arange(x.shape[1]) >= lengths[:, None]
    assert (x[padding] == 0).all()


# --- adding problem --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lag", [10, 11, 20, 100])
def test_adding_shapes_lengths_and_padding(lag):
    x, lengths, target = adding_problem(256, lag, seeded())
    assert x.shape[0] == 256 and x.shape[2] == 2 and x.dtype == torch.float32
    assert target.shape == (256,) and target.dtype == torch.float32
    assert_lengths_and_padding(x, lengths, lag)
    assert set(lengths.tolist()) == set(range(lag, lag + lag // 10 + 1))  # every length is drawn


def test_adding_markers_follow_the_paper():
    lag = 40
    x, lengths, _ = adding_problem(2000, lag, seeded(1))
    values, markers = x[..., 0], x[..., 1]
    assert set(markers.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert ((values >= -1) & (values <= 1)).all()
    firsts, seconds = [], []
    for i in range(len(lengths)):
        n = int(lengths[i])
        marked = (markers[i] == 1).nonzero().flatten().tolist()
        assert len(marked) == 2  # exactly two pairs, at distinct positions
        assert min(marked) < 10 and max(marked) < lag // 2  # X1 in the first ten; X2 in the first T/2 - 1 unmarked
        for end in (0, n - 1):  # first and last pair: -1 unless marked
            assert markers[i, end] == (1.0 if end in marked else -1.0)
        others = [t for t in range(n) if t not in marked and t not in (0, n - 1)]
        assert (markers[i, others] == 0).all()
        firsts.append(min(marked))
        seconds.append(max(marked))
    # both marks reach the edges of their windows
    assert min(firsts) == 0 and max(seconds) == lag // 2 - 1


def test_adding_target_is_the_scaled_sum_of_the_marked_values():
    x, _, target = adding_problem(1000, 30, seeded(2))
    values, markers = x[..., 0], x[..., 1]
    expected = 0.5 + (values * (markers == 1)).sum(dim=1) / 4.0
    torch.testing.assert_close(target, expected)
    assert ((target >= 0) & (target <= 1)).all()
    assert target.std() > 0.1  # X1 + X2 spread over [-2, 2]


def test_adding_zeroes_the_first_value_when_the_first_pair_is_marked():
    x, _, _ = adding_problem(1000, 30, seeded(3))
    first_marked = x[:, 0, 1] == 1
    assert 100 < int(first_marked.sum()) < 230  # X1 there 1 in 10, X2 0.9 in 14: about 164
    assert (x[first_marked, 0, 0] == 0).all()
    assert (x[~first_marked, 0, 0] != 0).all()


def test_adding_solved_uses_the_papers_tolerance():
    target = torch.tensor([0.5, 0.5, 0.5])
    assert adding_solved(torch.tensor([[0.53], [0.459], [0.5]]), target).tolist() == [True, False, True]


# --- temporal order --------------------------------------------------------------------------------------------


def relevant_positions(x: torch.Tensor) -> list[list[int]]:
    symbols = x.argmax(-1)
    return [((row == X) | (row == Y)).nonzero().flatten().tolist() for row in symbols]


@pytest.mark.parametrize("variant, windows", [("6a", [(10, 20), (50, 60)]), ("6b", [(10, 20), (33, 43), (66, 76)])])
def test_temporal_order_at_t100_is_the_papers_task(variant, windows):
    x, lengths, labels = temporal_order(800, 100, seeded(4), variant=variant)
    assert x.shape[2] == len(TEMPORAL_ORDER_SYMBOLS) == 8
    assert_lengths_and_padding(x, lengths, 100)
    valid = torch.arange(x.shape[1]) < lengths[:, None]
    assert (x.sum(-1)[valid] == 1).all()  # one-hot on every real step
    symbols = x.argmax(-1)
    assert (symbols[:, 0] == E).all()
    assert (symbols[torch.arange(len(lengths)), lengths - 1] == B).all()
    by_slot = list(zip(*relevant_positions(x)))
    assert len(by_slot) == len(windows)
    for positions, (low, high) in zip(by_slot, windows):
        assert min(positions) == low and max(positions) == high  # the whole window, nothing outside it
    for i in range(len(lengths)):
        inner = symbols[i, 1 : int(lengths[i]) - 1]
        assert int(((inner < 4)).sum()) == int(lengths[i]) - 2 - len(windows)  # distractors a-d elsewhere
        names = "".join(TEMPORAL_ORDER_SYMBOLS[int(symbols[i, t])] for t in relevant_positions(x[i : i + 1])[0])
        assert temporal_order_classes(variant)[int(labels[i])] == names


def test_temporal_order_scales_the_windows_with_the_lag():
    lag = 30
    x, lengths, _ = temporal_order(600, lag, seeded(5))
    assert_lengths_and_padding(x, lengths, lag)
    first, second = zip(*relevant_positions(x))
    assert (min(first), max(first)) == (3, 6)  # 10-20 % of 30
    assert (min(second), max(second)) == (15, 18)  # 50-60 % of 30


def test_temporal_order_classes_are_balanced():
    _, _, labels = temporal_order(4000, 20, seeded(6))
    assert labels.dtype == torch.long
    counts = torch.bincount(labels, minlength=4)
    assert len(counts) == 4 and (counts - 1000).abs().max() < 150  # about 5 standard deviations
    _, _, labels = temporal_order(4000, 20, seeded(7), variant="6b")
    counts = torch.bincount(labels, minlength=8)
    assert len(counts) == 8 and (counts - 500).abs().max() < 110


def test_class_names():
    assert temporal_order_classes("6a") == ["XX", "XY", "YX", "YY"]
    assert temporal_order_classes("6b")[0] == "XXX" and temporal_order_classes("6b")[6] == "YYX"


# --- determinism, problems and datasets ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_seeds_fix_the_data(kind):
    problem = LongLagProblem(kind, 20)
    a, b, c = (problem.sample(64, seeded(seed)) for seed in (9, 9, 10))
    for left, right in zip(a, b):
        assert torch.equal(left, right)
    assert not torch.equal(a[0][:, :20], c[0][:, :20])


def test_problem_describes_its_model_sizes():
    assert (LongLagProblem("adding", 100).input_size, LongLagProblem("adding", 100).output_size) == (2, 1)
    assert LongLagProblem("adding", 100).classes == []
    assert LongLagProblem("temporal_order_6a", 100).output_size == 4
    assert LongLagProblem("temporal_order_6b", 100).output_size == 8
    assert LongLagProblem("temporal_order_6b", 100).input_size == 8


@pytest.mark.parametrize(
    "kind, lag, message",
    [("copy", 100, "unknown long-lag problem 'copy'"), ("adding", 9, "lag must be an integer >= 10"),
     ("temporal_order_6a", 9, ">= 10"), ("adding", 50.0, "got 50.0")],
)
def test_problem_rejects_bad_settings(kind, lag, message):
    with pytest.raises(UserError, match=message):
        LongLagProblem(kind, lag)


def test_functions_reject_bad_settings():
    with pytest.raises(UserError, match="variant"):
        temporal_order(4, 100, variant="6c")
    with pytest.raises(UserError, match="batch size"):
        adding_problem(0, 100)


def test_fresh_batches_are_reproducible_and_new_each_step():
    problem = LongLagProblem("adding", 20)
    first = [batch[2] for batch, _ in zip(problem.batches(8, seed=1), range(3))]
    again = [batch[2] for batch, _ in zip(problem.batches(8, seed=1), range(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])


def test_dataset_is_a_fixed_padded_set():
    problem = LongLagProblem("temporal_order_6a", 20)
    data = LongLagDataset(problem, size=100, seed=3)
    assert len(data) == 100 and data.inputs.shape == (100, int(data.lengths.max()), 8)
    loader = torch.utils.data.DataLoader(data, batch_size=32)
    x, lengths, y = next(iter(loader))
    assert torch.equal(x, data.inputs[:32]) and torch.equal(lengths, data.lengths[:32])
    assert torch.equal(y, data.targets[:32])
    assert torch.equal(LongLagDataset(problem, 100, seed=3).inputs, data.inputs)
