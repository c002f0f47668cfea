import matplotlib
import numpy as np
import pytest

from rnnkit.datasets import handwriting, hershey
from rnnkit.datasets.handwriting import (ALPHABET, Distortion, absolute, handwriting_split, layout, make_handwriting,
                                         write)
from rnnkit.datasets.hershey import load_font, parse_glyph, parse_jhf
from rnnkit.errors import UserError
from rnnkit.eval.reports.plots import draw_trajectory

# The double quote of the Roman simplex font: bounds J, Z (-8, 8), two vertical strokes split by the pen-up " R".
QUOTE = '12345  6JZNFNM RVFVM'


def test_parse_glyph_reads_bounds_strokes_and_pen_ups():
    glyph = parse_glyph(QUOTE[8:])
    assert (glyph.left, glyph.right, glyph.width) == (-8, 8, 16)
    assert [s.tolist() for s in glyph.strokes] == [[[-4, -12], [-4, -5]], [[4, -12], [4, -5]]]


def test_parse_jhf_joins_wrapped_records():
    long_record = "12345 40" + "JZ" + "PQ" * 39  # 80 characters: written as a 72-character line and the rest
    text = "\n".join([QUOTE, long_record[:72], long_record[72:], QUOTE]) + "\n"
    glyphs = parse_jhf(text)
    assert len(glyphs) == 3 and len(glyphs[1].strokes[0]) == 39 and glyphs[2].width == 16
    with pytest.raises(ValueError, match="record ends after"):
        parse_jhf(long_record[:72])


def test_installed_fonts_parse():
    for path in sorted(hershey.FONT_DIR.glob("*.jhf")):
        assert len(parse_jhf(path.read_text(encoding="ascii"))) >= 96, path
    font = load_font("futural")
    assert set(font) == {chr(c) for c in range(32, 128)}
    (o,) = font["o"].strokes  # one closed stroke
    assert np.array_equal(o[0], o[-1]) and len(o) == 17 and font["o"].width == 19
    assert font[" "].strokes == [] and font[" "].width == 16
    assert [len(font[c].strokes) for c in "ilx"] == [2, 1, 2]  # i: stem and dot


def test_missing_fonts_say_what_to_install(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="apt-get install hershey-fonts-data"):
        load_font("cursive", tmp_path)
    monkeypatch.setattr(hershey, "FONT_DIR", tmp_path)
    with pytest.raises(UserError, match="apt-get install hershey-fonts-data"):
        make_handwriting(["word"], ["cursive"])


def test_cursive_words_are_connected_and_words_are_separated():
    assert len(layout("mum", "cursive")) == 1  # ligatures and retraces join every stroke
    assert len(layout("mum mum", "cursive")) == 2  # the pen lifts between words
    assert len(layout("mini", "cursive")) == 4  # and for each i-dot, written after its stem: mi . ni .
    X = write("mum mum", "cursive", np.random.default_rng(0))
    assert X[:, 2].sum() == 2 and X[-1, 2] == 1
    gap = np.flatnonzero(X[:, 2])[0]
    assert X[gap + 1, 0] > 0.3  # the pen-up move to the second word goes right, at least a letter's width


def test_samples_are_seeded_float_offsets_of_a_modest_length():
    a = make_handwriting(["hello", "world"], ["cursive", "timesi"], n_per_word=3, seed=1)
    b = make_handwriting(["hello", "world"], ["cursive", "timesi"], n_per_word=3, seed=1)
    c = make_handwriting(["hello", "world"], ["cursive", "timesi"], n_per_word=3, seed=2)
    assert a.y == ["hello"] * 3 + ["world"] * 3 and set(a.style) <= {"cursive", "timesi"}
    assert all(np.array_equal(x, y) for x, y in zip(a.X, b.X)) and a.style == b.style
    assert not np.array_equal(a.X[0], c.X[0])
    for x in a.X:
        assert x.dtype == np.float32 and x.shape[1] == 3 and set(np.unique(x[:, 2])) == {0.0, 1.0}
        assert 10 * 5 <= len(x) <= 45 * 5  # 18-32 points a letter on average, +-15% a stroke
    points = absolute(a.X[0])
    assert 2.0 < np.ptp(points[:, 0]) < 6.0 and 0.5 < np.ptp(points[:, 1]) < 2.0  # in ascender heights
    assert len(a.subset(styles=["timesi"])) == a.style.count("timesi")


def test_distortions_act():
    fixed = Distortion(slant=(0.0, 0.0), x_scale=(1.0, 1.0), y_scale=(1.0, 1.0), rotation=(0.0, 0.0),
                       drift=(0.0, 0.0), spacing=(0.0, 0.0), speed=(25.0, 25.0), jitter=(0.0, 0.0))
    upright = absolute(write("l", "futural", np.random.default_rng(0), fixed))
    slanted = absolute(write("l", "futural", np.random.default_rng(0),
                             Distortion(**{**vars(fixed), "slant": (0.5, 0.5)})))
    assert abs(upright[-1, 0] - upright[0, 0]) < 1e-5  # the l of futural: one vertical stroke
    assert slanted[0, 0] - slanted[-1, 0] == pytest.approx(0.5 * (upright[0, 1] - upright[-1, 1]), abs=1e-4)
    doubled = absolute(write("l", "futural", np.random.default_rng(0),
                             Distortion(**{**vars(fixed), "nib": (0.04, 0.04), "double": 1.0})))
    np.testing.assert_allclose(doubled[-1, :2] - doubled[0, :2], [0.04 / np.sqrt(2)] * 2, atol=1e-4)  # and back
    assert doubled[:, 2].sum() == 1 and abs(len(doubled) - len(upright)) <= 2  # one stroke, as many points
    for bad in ("Hello", " "):
        with pytest.raises(ValueError, match="handwriting needs letters"):
            write(bad, "cursive", np.random.default_rng(0))


def test_split_holds_out_words_and_styles():
    words = [w + w[::-1] for w in ("ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st")]
    splits = handwriting_split(words, test_fraction=0.3, n_train=2, n_valid=1, n_test=1, phrase_fraction=0.5)
    assert len(splits.test_words) == 3 and not set(splits.train_words) & set(splits.test_words)
    train_words = {w for text in splits.train.y + splits.valid.y for w in text.split()}
    assert train_words <= set(splits.train_words) and {w for t in splits.test.y for w in t.split()} <= set(
        splits.test_words)
    assert set(splits.train.style) | set(splits.valid.style) <= set(handwriting.TRAIN_STYLES)
    assert set(splits.test.style) == set(handwriting.TEST_STYLES)
    assert len(splits.train) == 14 and len(splits.valid) == 7 and len(splits.test) == 3
    assert any(" " in t for t in splits.train.y) and all(set(t) <= set(ALPHABET) for t in splits.train.y)
    with pytest.raises(ValueError, match="overlap"):
        handwriting_split(words, train_styles=("cursive",), test_styles=("cursive",))


def test_draw_trajectory_draws_a_line_per_stroke():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = write("mini", "cursive", np.random.default_rng(0))
    fig, ax = plt.subplots()
    draw_trajectory(ax, X, pen_up_moves=True)
    assert len(ax.lines) == 4 + 3  # four strokes, three pen-up moves
    plt.close(fig)


def test_split_can_hold_out_validation_words_and_a_validation_face():
    words = [w + w[::-1] for w in ("ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st")]
    splits = handwriting_split(words, test_fraction=0.2, valid_fraction=0.2, train_styles=("cursive", "timesi"),
                               valid_styles=handwriting.VALID_STYLES, n_train=1, n_valid=2, n_test=1)
    train, valid, test = set(splits.train_words), set(splits.valid_words), set(splits.test_words)
    assert (len(train), len(valid), len(test)) == (6, 2, 2) and not (train & valid or train & test or valid & test)
    assert set(splits.valid.y) == valid and len(splits.valid) == 4 and set(splits.train.y) == train
    assert set(splits.valid.style) == set(handwriting.VALID_STYLES) and set(splits.train.style) <= {"cursive",
                                                                                                     "timesi"}
    with pytest.raises(ValueError, match="valid and test styles overlap"):
        handwriting_split(words, valid_styles=handwriting.TEST_STYLES)


def test_train_distortion_varies_training_alone_and_leaves_valid_and_test_as_they_were():
    words = [w + w[::-1] for w in ("ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st")]
    split = dict(test_fraction=0.2, valid_fraction=0.2, valid_styles=handwriting.VALID_STYLES, n_valid=1, n_test=1)
    plain = handwriting_split(words, n_train=1, **split)
    doubled = handwriting_split(words, n_train=3, train_distortion=handwriting.Distortion(double=1.0), **split)
    for name in ("valid", "test"):
        assert all(np.array_equal(a, b) for a, b in zip(getattr(plain, name).X, getattr(doubled, name).X)), name
        assert getattr(plain, name).y == getattr(doubled, name).y
    assert len(doubled.train) == 3 * len(plain.train)
    # every training stroke traced there and back: about twice the pen's path of a single pass
    def path(data):
        return np.mean([np.linalg.norm(x[:, :2], axis=1).sum() for x in data.train.X])
    assert path(doubled) > 1.6 * path(plain)
