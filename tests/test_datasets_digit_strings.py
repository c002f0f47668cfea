import shutil

import numpy as np
import pytest

from rnnkit.datasets import digit_strings
from rnnkit.datasets.digit_strings import RATE, digit_strings_split, join, make_digit_strings
from rnnkit.errors import UserError

ONE_VOICE = {"voices": ("en",), "speeds": (170,), "pitches": (50,)}  # ten clips a variant: fast to synthesize


def test_strings_have_their_transcripts_and_frames():
    data = make_digit_strings(12, variants=("m1",), seed=3, **ONE_VOICE)
    again = make_digit_strings(12, variants=("m1",), seed=3, **ONE_VOICE)
    assert data.y == again.y and all(np.array_equal(a, b) for a, b in zip(data.X, again.X))
    assert all(3 <= len(s) <= 7 and s.isdigit() for s in data.y) and len(set(data.y)) == 12
    assert set(data.voice) == {"en"} and set(data.variant) == {"m1"}
    for x, s in zip(data.X, data.y):
        assert x.dtype == np.float32 and x.shape[1] == 13 and np.isfinite(x).all()
        assert 20 * len(s) <= len(x) <= 100 * len(s)  # 10 ms frames: a digit and a pause are 0.2-1 s
    short = make_digit_strings(5, variants=("m1",), lengths=(3, 3), seed=0, **ONE_VOICE)
    assert [len(s) for s in short.y] == [3] * 5
    log_mel = make_digit_strings(2, variants=("m1",), features="log_mel", seed=0, **ONE_VOICE)
    assert log_mel.X[0].shape[1] == 26


def test_pauses_and_noise_act():
    kwargs = {"variants": ("m1",), "seed": 4, "snr_db": (20.0, 20.0), **ONE_VOICE}
    quick = make_digit_strings(3, pause=(0.05, 0.05), **kwargs)
    slow = make_digit_strings(3, pause=(0.45, 0.45), **kwargs)
    assert quick.y == slow.y
    for a, b, s in zip(quick.X, slow.X, quick.y):
        assert len(b) - len(a) == pytest.approx(40 * (len(s) + 1), abs=2)  # 0.4 s more per gap, 100 frames/s
    slower = make_digit_strings(3, pause=(0.05, 0.05), stretch=(0.5, 0.5), **kwargs)
    clip = digit_strings.clip(7, "en", "m1", 170, 50)
    assert all(len(b) > 1.6 * len(a) for a, b in zip(quick.X, slower.X))  # every digit twice as long
    clean = join([clip, clip], [0.1, 0.2, 0.1], np.inf, False, np.random.default_rng(0))
    assert len(clean) == 2 * len(clip) + int(0.4 * RATE) and not clean[:int(0.1 * RATE)].any()
    for pink in (False, True):
        noisy = join([clip, clip], [0.1, 0.2, 0.1], 10.0, pink, np.random.default_rng(0))
        speech, noise = np.mean(clip ** 2), np.mean((noisy - clean) ** 2)
        assert 10 * np.log10(speech / noise) == pytest.approx(10.0, abs=0.1)


def test_split_holds_out_voice_variants():
    splits = digit_strings_split(4, 2, 3, train_variants=("m1", "f1"), test_variants=("f2",), valid_pitches=(45,),
                                 **ONE_VOICE)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (4, 2, 3)
    assert set(splits.train.variant + splits.valid.variant) <= {"m1", "f1"} and set(splits.test.variant) == {"f2"}
    assert splits.train.y != splits.valid.y
    assert any(key[2] in ("m1", "f1") and key[4] == 45 for key in digit_strings._clips)  # validation's own pitch
    assert isinstance(splits.test.subset(variants=("f2",)), digit_strings.DigitStrings)
    with pytest.raises(ValueError, match="overlap"):
        digit_strings_split(1, 1, 1, train_variants=("m1",), test_variants=("m1",))


def test_missing_tools_say_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apt-get install espeak-ng sox"):
        make_digit_strings(1)
