"""Pen trajectories rendered as ink columns: geometry, saturation, pen lifts, and errors."""

import numpy as np
import pytest

from rnnkit.data.ink import ink_columns, ink_width


def offsets(points, lifts=()):
    """(T, 3) rows (dx, dy, pen_up) for absolute ``points``, the pen lifting after the indices in ``lifts``."""
    points = np.asarray(points, dtype=float)
    X = np.zeros((len(points), 3))
    X[:, :2] = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    X[list(lifts), 2] = 1.0
    X[-1, 2] = 1.0
    return X


def test_a_horizontal_stroke_inks_its_row_across_its_columns():
    ink = ink_columns(offsets([(0.0, 0.5), (2.0, 0.5)]), pixels_per_unit=10, y_range=(0.0, 1.0), margin=2)
    assert ink.shape == (2 + 20 + 2 + 1, 10) and ink.dtype == np.float32
    assert 0.0 <= ink.min() and ink.max() <= 1.0
    row = int(0.5 * 10)  # y = 0.5 lies on the edge between rows 4 and 5: both equally dark
    middle = ink[5:20]
    np.testing.assert_allclose(middle[:, row], middle[:, row - 1], atol=1e-6)
    assert middle[:, row].min() > 0.7 and middle[:, [0, 9]].max() < 1e-3  # dark on the line, blank far off it
    assert ink[-1].max() < 0.05  # the margin past the end stays nearly blank
    assert ink_width(offsets([(0.0, 0.5), (2.0, 0.5)]), pixels_per_unit=10, margin=2) == len(ink)


def test_pen_up_moves_leave_no_ink_and_a_dot_is_drawn():
    # stroke 1 at x in [0, 1], a jump with the pen up, a one-point dot at x = 3
    X = offsets([(0.0, 0.5), (1.0, 0.5), (3.0, 0.5)], lifts=[1])
    ink = ink_columns(X, pixels_per_unit=10, y_range=(0.0, 1.0), margin=0)
    assert ink[15:25].max() < 1e-3 and ink[30, 5] > 0.6 and ink[5, 5] > 0.7


def test_ink_is_the_same_wherever_writing_starts_and_a_retraced_stroke_looks_like_one():
    line = [(0.0, 0.3), (1.0, 0.8)]
    once = ink_columns(offsets(line))
    shifted = ink_columns(offsets([(x + 5.0, y) for x, y in line]))
    np.testing.assert_allclose(once, shifted, atol=1e-5)
    there_and_back = ink_columns(offsets(line + line[::-1]))
    np.testing.assert_allclose(there_and_back, once, atol=1e-6)  # no darker where traced twice


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.zeros((4, 2)), np.zeros(4)])
def test_not_a_trajectory_is_an_error(bad):
    with pytest.raises(ValueError, match="pen trajectory"):
        ink_columns(bad)
