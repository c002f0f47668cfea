"""Online handwriting as offline ink: a pen trajectory rendered into an image, read column by column.

A recogniser that reads pen points learns the pen's path: the order of strokes, how often the pen lifts, whether
a thick stroke is traced once or there and back. Two writers can draw the same letter along different paths, so
the ink on the page is the more stable signal (offline recognition; Graves & Schmidhuber 2009). ``ink_columns``
turns a trajectory of offsets ``(dx, dy, pen_up)`` into a sequence of image columns, left to right:

    p_t = sum_{s <= t} (dx_s, dy_s)                       absolute pen points; the first is relative to (0, 0)
    ink(r, c) = max_k exp(-|(r, c) - q_k|^2 / (2 sigma^2))   q_k: every pen point, and points every ``STEP`` pixels
                                                             along each pen-down segment (pixel centres at +0.5)
    frame_c = ink(:, c)  for c = 0 .. width - 1           one frame of ``height`` pixels per column

Coordinates are in the writing's own units with (0, 0) on the baseline where writing starts, y up (what
``rnnkit.datasets.handwriting`` writes: the ascender height is 1). ``y_range`` is the band of the page kept
(descenders below 0, ascenders near 1); ``pixels_per_unit`` sets the resolution. Ink is a maximum, not a sum: a
stroke traced twice looks like one, two strokes side by side like one thick stroke, as on paper.
"""

from __future__ import annotations

import numpy as np

STEP = 0.5  # pixels between the points sampled along a segment: a line's ink ripples < 5% at sigma >= 0.8


def ink_columns(X: np.ndarray, *, pixels_per_unit: float = 16.0, y_range: tuple[float, float] = (-0.8, 1.4),
                sigma: float = 0.8, margin: int = 2) -> np.ndarray:
    """The ink of one pen trajectory ``X`` (T, 3) of (dx, dy, pen_up): (width, height) float32 in [0, 1], the
    columns left to right, each from the bottom of ``y_range`` (row 0) to its top."""
    X = np.asarray(X, dtype=np.float64)
    points, width = _pixel_points(X, pixels_per_unit, y_range[0], margin)
    height = int(round((y_range[1] - y_range[0]) * pixels_per_unit))
    samples = _pen_down_samples(points, X[:, 2] > 0.5)
    return _splat(samples, width, height, sigma)


def ink_width(X: np.ndarray, *, pixels_per_unit: float = 16.0, margin: int = 2) -> int:
    """How many columns ``ink_columns(X)`` has, without drawing them."""
    return _pixel_points(np.asarray(X, dtype=np.float64), pixels_per_unit, 0.0, margin)[1]


def _pixel_points(X: np.ndarray, pixels_per_unit: float, y_bottom: float, margin: int) -> tuple[np.ndarray, int]:
    """The pen points in pixels (x from ``margin``, y from ``y_bottom``) and the image width that holds them."""
    if X.ndim != 2 or X.shape[1] != 3 or len(X) == 0:
        raise ValueError(f"a pen trajectory is (T, 3) rows of (dx, dy, pen_up), got shape {X.shape}")
    points = np.cumsum(X[:, :2], axis=0) * pixels_per_unit
    points[:, 1] -= y_bottom * pixels_per_unit
    points[:, 0] += margin - points[:, 0].min()
    return points, int(np.ceil(points[:, 0].max())) + margin + 1


def _pen_down_samples(points: np.ndarray, lifts_after: np.ndarray) -> np.ndarray:
    """Points every ``STEP`` pixels along the segments drawn with the pen down, and every point itself (a dot is
    a stroke of one point)."""
    starts, ends = points[:-1], points[1:]
    drawn = ~lifts_after[:-1]
    starts, ends = starts[drawn], ends[drawn]
    counts = np.maximum(1, np.ceil(np.linalg.norm(ends - starts, axis=1) / STEP).astype(int))
    segment = np.repeat(np.arange(len(starts)), counts)
    fraction = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)) / counts[segment]
    along = starts[segment] + fraction[:, None] * (ends - starts)[segment]
    return np.concatenate([points, along])


def _splat(samples: np.ndarray, width: int, height: int, sigma: float) -> np.ndarray:
    """The pen tip is a Gaussian spot of ``sigma`` pixels; a pixel's ink is the darkest spot over it (a maximum,
    not a sum: a stroke traced twice is no darker than one traced once)."""
    reach = int(np.ceil(3 * sigma))
    offsets = np.arange(-reach, reach + 1)
    columns = np.floor(samples[:, 0]).astype(int)[:, None, None] + offsets[None, :, None]
    rows = np.floor(samples[:, 1]).astype(int)[:, None, None] + offsets[None, None, :]
    spot = np.exp(-((columns + 0.5 - samples[:, 0, None, None]) ** 2 + (rows + 0.5 - samples[:, 1, None, None]) ** 2)
                  / (2 * sigma ** 2))
    inside = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
    pixel, spot = (columns * height + rows)[inside], spot[inside]
    order = np.argsort(pixel, kind="stable")
    pixel, spot = pixel[order], spot[order]
    image = np.zeros(width * height)
    if len(pixel):
        first = np.flatnonzero(np.r_[True, pixel[1:] != pixel[:-1]])
        image[pixel[first]] = np.maximum.reduceat(spot, first)
    return image.reshape(width, height).astype(np.float32)
