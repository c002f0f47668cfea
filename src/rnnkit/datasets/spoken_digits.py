"""Spoken digits, synthesized: Debian's espeak-ng says "zero" .. "nine" in many accents and voice variants, sox
resamples to 8 kHz, and each clip becomes MFCC frames (one 13-coefficient vector every 10 ms).

    data = make_spoken_digits()                       # needs: apt-get install espeak-ng sox
    train = data.subset(variants=TRAIN_VARIANTS)      # evaluate on voice variants never heard in training
    test = data.subset(variants=TEST_VARIANTS)

Every clip is one accent (``voice``) x voice variant (``variant``: espeak-ng's ``+m3``, ``+f2``, ...) x speed x
pitch. MFCCs as usual (Davis & Mermelstein 1980): 25 ms Hamming frames every 10 ms, power spectrum, 26 triangular
mel filters, log, DCT-II, coefficients 0..12; silence before and after the word is trimmed by frame energy.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rnnkit.errors import UserError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
          "en-gb-x-gbcwmd")
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3")
TEST_VARIANTS = ("m6", "m7", "f4", "f5")
RATE = 8000
INSTALL_HINT = "apt-get install espeak-ng sox"


@dataclasses.dataclass
class SpokenDigits:
    """Clips as MFCC frames ``X[i]`` (T_i, 13), the digit ``y[i]`` ("0".."9"), and how each was spoken."""

    X: list[np.ndarray]
    y: list[str]
    voice: list[str]
    variant: list[str]

    def subset(self, *, variants: Sequence[str] | None = None, voices: Sequence[str] | None = None) -> SpokenDigits:
        keep = [i for i in range(len(self.y)) if (variants is None or self.variant[i] in variants)
                and (voices is None or self.voice[i] in voices)]
        return type(self)(*([column[i] for i in keep] for column in (self.X, self.y, self.voice, self.variant)))

    def __len__(self) -> int:
        return len(self.y)


def make_spoken_digits(voices: Sequence[str] = VOICES, variants: Sequence[str] = TRAIN_VARIANTS + TEST_VARIANTS,
                       speeds: Sequence[int] = (140, 190), pitches: Sequence[int] = (50,)) -> SpokenDigits:
    """Synthesize every digit in every combination of accent, variant, speed (words/min) and pitch (0-99)."""
    require_tools()
    clips = [(voice, variant, speed, pitch, digit) for voice, variant, speed, pitch in
             itertools.product(voices, variants, speeds, pitches) for digit in range(len(DIGITS))]

    def features(clip: tuple[str, str, int, int, int]) -> np.ndarray:
        voice, variant, speed, pitch, digit = clip
        return mfcc(trim_silence(synthesize(DIGITS[digit], f"{voice}+{variant}", speed, pitch)))

    with ThreadPoolExecutor(max_workers=2) as pool:  # the work is in the subprocesses: threads suffice
        X = list(pool.map(features, clips))
    return SpokenDigits(X, [str(c[4]) for c in clips], [c[0] for c in clips], [c[1] for c in clips])


def require_tools() -> None:
    """A UserError naming the Debian packages when espeak-ng or sox is not on the PATH."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise UserError(f"spoken digits need {tool} on the PATH: {INSTALL_HINT}")


def synthesize(text: str, voice: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng, resampled by sox to 8 kHz mono: float32 samples in [-1, 1)."""
    speak = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                           capture_output=True, check=False)
    if speak.returncode != 0 or not speak.stdout:
        raise UserError(f"espeak-ng failed for voice {voice!r}: {speak.stderr.decode(errors='replace').strip()}")
    convert = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16",
                              "-c", "1", "-"], input=speak.stdout, capture_output=True, check=False)
    if convert.returncode != 0:
        raise UserError(f"sox failed: {convert.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(convert.stdout, dtype="<i2").astype(np.float32) / 32768.0


def _frames(signal: np.ndarray, size: int, hop: int) -> np.ndarray:
    signal = np.pad(signal, (0, max(0, size - len(signal))))
    count = 1 + (len(signal) - size) // hop
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return signal[index]  # (frames, size)


def trim_silence(signal: np.ndarray, threshold_db: float = -40.0, hop: int = 80) -> np.ndarray:
    """Cut the frames before the first and after the last one within ``threshold_db`` of the loudest."""
    energy = 10 * np.log10((_frames(signal, 2 * hop, hop) ** 2).mean(1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() + threshold_db)
    return signal[loud[0] * hop: (loud[-1] + 2) * hop]


def mel_filterbank(filters: int, fft_size: int, rate: int) -> np.ndarray:
    """(filters, fft_size // 2 + 1) triangles evenly spaced on the mel scale m = 2595 log10(1 + f / 700)."""
    mel = np.linspace(0, 2595 * np.log10(1 + rate / 2 / 700), filters + 2)
    bins = np.floor((fft_size + 1) * 700 * (10 ** (mel / 2595) - 1) / rate).astype(int)
    bank = np.zeros((filters, fft_size // 2 + 1))
    for i in range(filters):
        left, centre, right = bins[i], bins[i + 1], bins[i + 2]
        bank[i, left:centre] = (np.arange(left, centre) - left) / max(centre - left, 1)
        bank[i, centre:right] = (right - np.arange(centre, right)) / max(right - centre, 1)
    return bank


def log_mel(signal: np.ndarray, rate: int = RATE, filters: int = 26) -> np.ndarray:
    """Log mel filterbank energies (T, filters): 25 ms Hamming windows every 10 ms, 256-point FFT."""
    size, hop, fft_size = int(0.025 * rate), int(0.010 * rate), 256
    frames = _frames(signal, size, hop) * np.hamming(size)
    power = np.abs(np.fft.rfft(frames, fft_size)) ** 2 / fft_size  # (T, fft_size/2 + 1)
    # contiguous right operands: OpenBLAS multiplies by a transposed view ~40x slower on a busy machine
    bank = np.ascontiguousarray(mel_filterbank(filters, fft_size, rate).T)  # (fft_size/2 + 1, filters)
    return np.log(power @ bank + 1e-10)  # (T, filters)


def mfcc(signal: np.ndarray, rate: int = RATE, coefficients: int = 13, filters: int = 26) -> np.ndarray:
    """MFCC frames (T, coefficients): the DCT-II of ``log_mel``."""
    log_mel_frames = log_mel(signal, rate, filters)
    n = np.arange(filters)
    dct = np.cos(np.pi / filters * (n[None, :] + 0.5) * np.arange(coefficients)[:, None])  # DCT-II rows
    return (log_mel_frames @ np.ascontiguousarray(dct.T)).astype(np.float32)
