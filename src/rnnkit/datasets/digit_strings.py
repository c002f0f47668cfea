"""Spoken digit strings, synthesized: 3 to 7 digits ("3917") said by espeak-ng in one voice, the single-digit clips
joined with random pauses, in background noise, as MFCC (or log-mel) frames: a task for CTC recognition.

    data = digit_strings_split()                   # needs: apt-get install espeak-ng sox
    data.train.X[0]                                # (T, 13) float32 MFCC frames, one every 10 ms
    data.train.y[0]                                # "3917"
    make_digit_strings(100, variants=("m1",), seed=1)

How a string is made (one speaker per string: an accent ``voice``, a voice ``variant``, a ``speed`` and a
``pitch``, drawn at random): each digit is synthesized alone by ``spoken_digits.synthesize`` (8 kHz), trimmed of
silence and resampled by a factor drawn from ``stretch`` (speed perturbation, Ko et al. 2015: a clip 10% shorter is
also 10% higher, much as a shorter vocal tract would say it) and tilted by a filter y[n] = x[n] - a x[n-1] with
``a`` drawn from ``tilt`` once per string (a brighter or duller voice); the clips are joined with pauses drawn from
``pause`` seconds (between digits, before and after); noise, white or pink at random, is added at a signal-to-noise
ratio drawn from ``snr_db`` (the speech power measured over the digits alone); then ``spoken_digits.mfcc`` or
``log_mel`` frames. Every string has its own random generator, drawn from ``seed``.

Joining isolated words, rather than synthesizing the string in one espeak-ng call, gives pauses of known length and
lets one clip serve many strings: clips are cached in memory per (digit, voice, variant, speed, pitch) and the
missing ones synthesized in parallel (the work is in subprocesses: threads suffice). A speaker needs 10 clips of
about 20 ms each; once they are cached a string costs a few milliseconds (noise and features).

Held-out evaluation (``digit_strings_split``): train and validation strings are spoken with ``TRAIN_VARIANTS``
(validation at ``VALID_PITCHES``, so with clips training never heard), test strings with ``TEST_VARIANTS`` (voice
variants never heard in training), all accents in both.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rnnkit import _smoke
from rnnkit.datasets.spoken_digits import (DIGITS, RATE, TEST_VARIANTS, TRAIN_VARIANTS, VOICES, SpokenDigits,
                                           log_mel, mfcc, require_tools, synthesize, trim_silence)

SPEEDS = (130, 165, 200)  # words per minute
PITCHES = (35, 50, 65)  # espeak-ng's 0-99
VALID_PITCHES = (42, 58)  # validation: clips training never heard, from voices it knows
_clips: dict[tuple[int, str, str, int, int], np.ndarray] = {}  # (digit, voice, variant, speed, pitch) -> samples


class DigitStrings(SpokenDigits):
    """Strings as frames ``X[i]`` (T_i, F) float32, the digits ``y[i]`` ("3917"), and the voice that said them."""


@dataclasses.dataclass
class DigitStringSplits:
    train: DigitStrings
    valid: DigitStrings
    test: DigitStrings


def clip(digit: int, voice: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    """One digit spoken alone, silence trimmed (cached)."""
    key = (digit, voice, variant, speed, pitch)
    if key not in _clips:
        _clips[key] = trim_silence(synthesize(DIGITS[digit], f"{voice}+{variant}", speed, pitch))
    return _clips[key]


def _stretch(signal: np.ndarray, factor: float) -> np.ndarray:
    """``signal`` played ``factor`` times faster (and higher), by linear interpolation."""
    count = max(round(len(signal) / factor), 1)
    return np.interp(np.arange(count) * factor, np.arange(len(signal)), signal).astype(np.float32)


def _tilt(signal: np.ndarray, a: float) -> np.ndarray:
    """A first-order filter y[n] = x[n] - a x[n-1]: brighter for a > 0, duller for a < 0 (a voice's or a
    microphone's spectral tilt)."""
    return np.concatenate([signal[:1], signal[1:] - a * signal[:-1]])


def _noise(count: int, pink: bool, rng: np.random.Generator) -> np.ndarray:
    """Unit-power white noise, or pink noise (power 1/f: the white spectrum scaled by 1/sqrt(f))."""
    if pink:
        size = 1 << (count - 1).bit_length()  # a power of two: the FFT of an odd length can be 10x slower
        spectrum = np.fft.rfft(rng.standard_normal(size))
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, size)[:count]
    else:
        noise = rng.standard_normal(count)
    return noise / (noise.std() + 1e-12)


def join(clips: Sequence[np.ndarray], pauses: Sequence[float], snr_db: float, pink: bool,
         rng: np.random.Generator) -> np.ndarray:
    """Clips separated by ``pauses`` (seconds; one more than the clips: before, between, after), plus noise at
    ``snr_db`` (``inf``: none)."""
    gaps = [np.zeros(round(p * RATE), dtype=np.float32) for p in pauses]
    signal = np.concatenate([part for pair in itertools.zip_longest(gaps, clips) for part in pair
                             if part is not None])
    speech_power = np.mean(np.concatenate(clips) ** 2)
    if np.isfinite(snr_db):
        signal = signal + np.sqrt(speech_power / 10 ** (snr_db / 10)) * _noise(len(signal), pink, rng)
    return signal.astype(np.float32)


def make_digit_strings(n: int, *, voices: Sequence[str] = VOICES, variants: Sequence[str] = TRAIN_VARIANTS,
                       speeds: Sequence[int] = SPEEDS, pitches: Sequence[int] = PITCHES,
                       lengths: tuple[int, int] = (3, 7), pause: tuple[float, float] = (0.03, 0.3),
                       snr_db: tuple[float, float] = (10.0, 30.0), stretch: tuple[float, float] = (0.9, 1.1),
                       tilt: tuple[float, float] = (-0.5, 0.5), features: str = "mfcc", seed: int = 0,
                       workers: int = 2) -> DigitStrings:
    """``n`` random digit strings of ``lengths`` (inclusive) digits, each spoken by a random voice (see the module
    docstring); ``features`` is "mfcc" (13 per frame) or "log_mel" (26)."""
    if features not in ("mfcc", "log_mel"):
        raise ValueError(f"features must be 'mfcc' or 'log_mel', got {features!r}")
    require_tools()
    rng = np.random.default_rng(seed)
    digits = [rng.integers(0, 10, rng.integers(lengths[0], lengths[1] + 1)) for _ in range(n)]
    speakers = [(voices[rng.integers(len(voices))], variants[rng.integers(len(variants))],
                 int(speeds[rng.integers(len(speeds))]), int(pitches[rng.integers(len(pitches))])) for _ in range(n)]
    missing = sorted({(int(d), *speaker) for ds, speaker in zip(digits, speakers) for d in ds} - _clips.keys())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda key: clip(*key), missing))
    frames = mfcc if features == "mfcc" else log_mel
    X = []
    for ds, speaker, string_rng in zip(digits, speakers, rng.spawn(n)):  # a generator each: strings independent
        factors, a = string_rng.uniform(*stretch, len(ds)), string_rng.uniform(*tilt)
        clips = [_tilt(_stretch(clip(int(d), *speaker), f), a) for d, f in zip(ds, factors)]
        signal = join(clips, string_rng.uniform(*pause, len(ds) + 1), string_rng.uniform(*snr_db),
                      bool(string_rng.integers(2)), string_rng)
        X.append(frames(signal).astype(np.float32))
    return DigitStrings(X, ["".join(map(str, ds)) for ds in digits], [s[0] for s in speakers],
                        [s[1] for s in speakers])


def digit_strings_split(n_train: int = 4000, n_valid: int = 500, n_test: int = 1000, *,
                        train_variants: Sequence[str] = TRAIN_VARIANTS, test_variants: Sequence[str] = TEST_VARIANTS,
                        valid_pitches: Sequence[int] = VALID_PITCHES, seed: int = 0,
                        **options) -> DigitStringSplits:
    """Train and validation strings in ``train_variants``, test strings in the held-out ``test_variants``; the
    ``options`` go to ``make_digit_strings``. Validation strings are said at ``valid_pitches``, pitches training
    never uses, so that every validation clip is new (the training clips again would score close to 100% and
    choose nothing)."""
    overlap = set(train_variants) & set(test_variants)
    if overlap:
        raise ValueError(f"train and test voice variants overlap: {sorted(overlap)}")
    # smoke mode (RNNKIT_SMOKE): a few strings per split, so the README's example runs in seconds
    n_train, n_valid, n_test = (_smoke.examples(n, 16) for n in (n_train, n_valid, n_test))
    seeds = np.random.default_rng(seed).integers(2 ** 31, size=3)
    valid_options = options | {"pitches": valid_pitches}
    return DigitStringSplits(make_digit_strings(n_train, variants=train_variants, seed=int(seeds[0]), **options),
                             make_digit_strings(n_valid, variants=train_variants, seed=int(seeds[1]), **valid_options),
                             make_digit_strings(n_test, variants=test_variants, seed=int(seeds[2]), **options))
