"""Unsegmented sequence recognition with CTC: ``SequenceRecognizer`` reads a long signal (pen points, audio frames)
and writes a shorter label string, trained without any alignment (Graves et al. 2006).

    o_t = encoder(x_1 .. x_T)_t          (optional strided Conv1d front-end: T' = ceil(T / conv_stride) frames)
    y_t = softmax(W o_t + b)             over C = 1 + |alphabet| outputs; index 0 is the CTC blank
    loss = -log p(l | x) / |l|           (PyTorch's ``ctc_loss``, reduction "mean": per label, then over the batch)

The per-label normalisation keeps long and short transcripts on one scale, so a batch's gradient is not ruled by
its longest strings; ``zero_infinity`` makes an impossible alignment contribute nothing rather than NaN, but
``dataset`` refuses such samples first: CTC needs ``T' >= L + r`` frames for L labels with r repeated neighbours
(a blank must separate the two ``l`` of "hello").

The strided front-end must leave every training transcript its frames: ``for_data`` lowers ``conv_stride`` to the
largest stride all of them fit (with a ``ResultWarning``) rather than have training refuse them, and
``recognize(..., return_details=True)`` reports each transcript that used every frame (``capped``: it could not
have been longer).

The alphabet is the sorted set of characters of the training transcripts, kept in the model folder with the
feature scaler (``rnnkit.data.sequences.Preprocessor``). A transcript with a character outside it is an error
when it is encoded for training or validation (it could never be produced); scoring against any string is fine.

    encoder = EncoderConfig(conv_channels=64, conv_stride=2, rnn=RecurrentConfig(hidden_size=128, bidirectional=True))
    model = SequenceRecognizer.for_data(X_train, transcripts, SequenceRecognizerConfig(encoder))
    fit_sequence_model(model, X_train, transcripts, X_val=X_val, y_val=y_val, train_config=TrainConfig(...))
    model.recognize(X_test)             # greedy (best path); beam=K: prefix beam search
    model.alignment(X_test[0])          # per-frame posteriors and which frames emitted which labels
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.ink import ink_columns, ink_width
from rnnkit.data.sequences import IGNORE_INDEX, SequenceDataset, from_numpy, pad_batch
from rnnkit.errors import ResultWarning, UserError
from rnnkit.eval.sequence_metrics import edit_distance
from rnnkit.tasks.base import SequenceModel
from rnnkit.tasks.blocks.encoder import EncoderConfig
from rnnkit.tasks.decoding.ctc import beam_decode, best_path, collapse, emissions, forced_align, greedy_decode
from rnnkit.tasks.decoding.limits import warn_capped

BLANK = 0
BLANK_NAME = "<blank>"
FRAME_LIMIT = "their input's frame count (labels + repeated neighbours = frames after the stride)"
FRAME_SETTING = "the frames: a smaller --conv-stride (conv_stride)"


@dataclass
class SequenceRecognizerConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    num_labels: int = 0  # characters in the alphabet, the blank not counted (for_data: from the transcripts)
    # Standardise each sequence over its own steps too, x' = (x - mean_t x) / std_t x, after the global scaler:
    # per-utterance cepstral mean and variance normalisation, which removes a speaker's or channel's offset.
    sequence_norm: bool = field(default=False, metadata={
        "help": "standardise each sequence over its own steps too (cepstral mean and variance normalisation)"})
    # Inputs are pen trajectories (dx, dy, pen_up), read as the ink they leave: image columns (rnnkit.data.ink),
    # so that the path the pen took (stroke order, retraced strokes) does not matter, only what it drew.
    pen_ink: bool = field(default=False, metadata={
        "help": "pen input ((dx, dy, pen_up) rows): read the ink it leaves, image columns left to right, "
                "instead of the pen's path (robust to stroke order)"})


class SequenceRecognizer(SequenceModel):
    task = "sequence-recognition"
    config_class = SequenceRecognizerConfig

    def __init__(self, config: SequenceRecognizerConfig) -> None:
        super().__init__(config)
        if config.num_labels < 1:
            raise ValueError(f"num_labels must be >= 1, got {config.num_labels}")
        self.head = nn.Linear(config.encoder.output_size, config.num_labels + 1)
        self.alphabet: list[str] = [chr(ord("a") + i) for i in range(config.num_labels)]  # set by for_data

    @classmethod
    def for_data(cls, X: Any, transcripts: Any, config: SequenceRecognizerConfig | None = None, *,
                 scale: bool = True) -> SequenceRecognizer:
        """A new recognizer for ``config`` (None: the defaults), training inputs ``X`` (numeric sequences, (T, F)
        each; pen trajectories with ``config.pen_ink``) and their transcripts (strings): the alphabet is every
        character they use."""
        config = cls.settings(config)
        transcripts = _strings(transcripts)
        alphabet = sorted(set("".join(transcripts)))
        if not alphabet:
            raise UserError("the training transcripts are all empty: there is nothing to learn to recognize")
        inputs = _pen_ink(X) if config.pen_ink else from_numpy(X)
        config = _fitting_stride(config, [len(x) for x in inputs], transcripts)
        config, preprocessor = cls._build(inputs, config, None, scale,
                                          num_labels=len(alphabet))
        model = cls(config)
        model.preprocessor, model.alphabet = preprocessor, alphabet
        return model

    @property
    def labels(self) -> list[str]:
        """The output names, index = output: the blank, then the alphabet."""
        return [BLANK_NAME, *self.alphabet]

    def encode_targets(self, y: Any) -> list[np.ndarray]:
        index = {char: i + 1 for i, char in enumerate(self.alphabet)}
        encoded = []
        for i, text in enumerate(_strings(y)):
            unknown = sorted(set(text) - set(index))
            if unknown:
                raise UserError(f"transcript {i} ({text!r}) has character(s) {unknown} outside the model's "
                                f"alphabet {''.join(self.alphabet)!r}")
            encoded.append(np.asarray([index[c] for c in text], dtype=np.int64))
        return encoded

    def decode_labels(self, labels: Any) -> str:
        return "".join(self.alphabet[i - 1] for i in labels)

    def prepare(self, X: Any) -> list[np.ndarray]:
        sequences = super().prepare(_pen_ink(X) if self.config.pen_ink else X)
        if not self.config.sequence_norm:
            return sequences
        return [((x - x.mean(0)) / np.maximum(x.std(0), 1e-3)).astype(np.float32) for x in sequences]

    def dataset(self, X: Any, y: Any = None) -> SequenceDataset:
        """Preprocessed inputs and label-id targets; refuses a sample whose frames are too few for its labels."""
        data = super().dataset(X, y)
        if y is not None:
            for i, (sequence, target) in enumerate(zip(data.sequences, data.targets)):
                self._check_frames(f"sample {i}", len(sequence), target)
        return data

    def check_lengths(self, X: Any, y: Any, names: Any) -> None:
        """``dataset``'s check with the samples' own ``names`` (file names) in the error."""
        steps = [ink_width(x) for x in _pen_trajectories(X)] if self.config.pen_ink else [len(x) for x in X]
        for name, count, target in zip(names, steps, self.encode_targets(y)):
            self._check_frames(str(name), count, target)

    def _check_frames(self, name: str, steps: int, target: np.ndarray) -> None:
        frames = self.config.encoder.output_length(steps)
        needed = frames_needed(target)
        if frames < needed:
            after = f" ({frames} after conv_stride {self.config.encoder.conv_stride})" if frames != steps else ""
            raise UserError(f"{name}: {steps} steps{after} are too few for its transcript "
                            f"{self.decode_labels(target)!r}: CTC needs at least {needed} frames "
                            f"({len(target)} labels + {needed - len(target)} repeated neighbours)")

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Per-frame log-probabilities (B, T', 1 + |alphabet|); frames per sequence: ``frame_lengths(lengths)``."""
        return F.log_softmax(self.head(self.encoder.steps(x, lengths)[0]), dim=-1)

    def frame_lengths(self, lengths: Tensor) -> Tensor:
        return self.encoder.output_lengths(lengths)

    def _ctc(self, batch: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, lengths, target = batch  # target (B, L_max) padded with IGNORE_INDEX by pad_collate
        log_probs, frames = self(x, lengths), self.frame_lengths(lengths)
        target_lengths = (target != IGNORE_INDEX).sum(1)
        loss = F.ctc_loss(log_probs.transpose(0, 1), target.clamp(min=0), frames, target_lengths, blank=BLANK,
                          reduction="mean", zero_infinity=True)
        return loss, log_probs, frames, target_lengths

    def loss(self, batch: Any) -> Tensor:
        return self._ctc(batch)[0]

    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        """The CTC loss and the greedy character error rate of the batch (edits / reference characters). The
        trainer averages batches weighted by their size: close to the corpus CER, not exactly it."""
        loss, log_probs, frames, target_lengths = self._ctc(batch)
        paths = log_probs.argmax(-1).cpu()
        edits = total = 0
        for path, n, target, m in zip(paths, frames.tolist(), batch[2].cpu(), target_lengths.tolist()):
            edits += edit_distance(target[:m].tolist(), collapse(path[:n], BLANK))
            total += m
        return {"loss": float(loss.detach()), "cer": edits / max(total, 1)}

    @torch.no_grad()
    def log_probs(self, X: Any, batch_size: int = 64) -> list[np.ndarray]:
        """Per-frame log-probabilities of each raw input, (T'_i, 1 + |alphabet|) float32, in the order of ``X``.
        Batches hold sequences of similar lengths (less padding); the result does not depend on the batch."""
        sequences = self.prepare(X)
        order = np.argsort([len(s) for s in sequences], kind="stable")
        was_training, device = self.training, next(self.parameters()).device
        out: list[np.ndarray | None] = [None] * len(sequences)
        self.eval()
        try:
            for start in range(0, len(order), batch_size):
                chosen = order[start:start + batch_size]
                x, lengths = pad_batch([sequences[i] for i in chosen])
                values = self(x.to(device), lengths.to(device)).cpu().numpy()
                for row, i, n in zip(values, chosen, self.frame_lengths(lengths).tolist()):
                    out[i] = row[:n]
        finally:
            self.train(was_training)
        return out  # type: ignore[return-value]

    def recognize(self, X: Any, beam: int = 1, *, batch_size: int = 64, prune: float = 1e-4,
                  return_details: bool = False, progress: Callable[[int, int], None] | None = None) -> Any:
        """Transcripts of raw inputs ``X``: ``beam=1`` best path decoding (greedy), ``beam=K`` prefix beam search
        keeping K prefixes (labels below ``prune`` probability in a frame are not tried; see ``decoding.ctc``).
        With ``return_details``: ``(transcripts, details)``, one dict per input with ``frames`` (after the
        stride) and ``capped`` (True: the transcript used every frame, labels + repeated neighbours = frames, so
        a longer one could not have been written); without it, such transcripts raise an
        ``OutputCappedWarning``. ``progress``: called ``(inputs done, inputs)`` as the decoding goes."""
        if beam < 1:
            raise UserError(f"beam must be >= 1, got {beam}")
        decoded, details = [], []
        for values in self.log_probs(X, batch_size):
            labels = greedy_decode(values, BLANK) if beam == 1 else beam_decode(values, beam, blank=BLANK,
                                                                                 prune=prune)
            decoded.append(self.decode_labels(labels))
            details.append({"frames": len(values), "capped": frames_needed(labels) >= len(values)})
            if progress is not None:
                progress(len(decoded), len(X))
        if return_details:
            return decoded, details
        warn_capped([d["capped"] for d in details], FRAME_LIMIT, FRAME_SETTING)
        return decoded

    def alignment(self, sequence: Any, transcript: str | None = None) -> dict[str, Any]:
        """Which frames emitted which labels, for one raw input (T, F).

        Without ``transcript``: the best path (the frame-wise argmax, as greedy decoding reads it); with it: the
        most probable path that spells the transcript (Viterbi forced alignment). Returns ``posteriors`` (T', C)
        probabilities, ``path`` (T',) label per frame, ``emitted`` [(frame, character)], ``labels`` (the C
        output names, blank first), ``frame_steps`` (input steps per frame: ``conv_stride``) and ``text``.
        """
        values = self.log_probs([sequence])[0]
        if transcript is None:
            path = best_path(values)
        else:
            target = self.encode_targets([transcript])[0]
            self._check_frames("the sequence", len(np.asarray(sequence)), target)
            path, _ = forced_align(values, target.tolist(), BLANK)
        emitted = [(frame, self.alphabet[label - 1]) for frame, label in emissions(path, BLANK)]
        return {"posteriors": np.exp(values), "path": path, "emitted": emitted, "labels": self.labels,
                "frame_steps": self.config.encoder.conv_stride, "text": "".join(c for _, c in emitted)}

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "alphabet": self.alphabet}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        super().load_extra_state(extra)
        self.alphabet = list(extra.get("alphabet", self.alphabet))
        if len(self.alphabet) != self.config.num_labels:
            raise ValueError(f"{len(self.alphabet)} characters for num_labels={self.config.num_labels}")


def frames_needed(labels: Any) -> int:
    """Frames CTC needs to write ``labels`` (ids or characters): one per label, a blank between repeated
    neighbours."""
    labels = list(labels)
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


def _fitting_stride(config: SequenceRecognizerConfig, steps: list[int],
                    transcripts: list[str]) -> SequenceRecognizerConfig:
    """``config`` with ``conv_stride`` lowered to the largest stride that leaves every training transcript (of
    an input of ``steps``) the frames it needs (a ``ResultWarning`` says so), or as it is when they all fit."""
    encoder = config.encoder
    if encoder.conv_stride == 1:
        return config
    needed = [frames_needed(text) for text in transcripts]

    def fits(stride: int) -> bool:
        return all(-(-count // stride) >= need for count, need in zip(steps, needed))

    stride = next((s for s in range(encoder.conv_stride, 1, -1) if fits(s)), 1)
    if stride == encoder.conv_stride:
        return config
    worst = min(range(len(steps)), key=lambda i: steps[i] / max(needed[i], 1))
    warnings.warn(f"conv_stride {encoder.conv_stride} leaves training sample {worst} ({steps[worst]} steps) fewer "
                  f"frames than its transcript {transcripts[worst]!r} needs ({needed[worst]}): using conv_stride "
                  f"{stride}, the largest every training transcript fits", ResultWarning, stacklevel=3)
    return dataclasses.replace(config, encoder=dataclasses.replace(encoder, conv_stride=stride))


def _pen_ink(X: Any) -> list[np.ndarray]:
    """Pen trajectories (T, 3) of (dx, dy, pen_up) -> their ink, (width, height) columns each."""
    return [ink_columns(x) for x in _pen_trajectories(X)]


def _pen_trajectories(X: Any) -> list[np.ndarray]:
    sequences = from_numpy(X)
    for i, x in enumerate(sequences):
        if x.shape[1] != 3:
            raise UserError(f"sequence {i}: a pen trajectory has 3 features per step (dx, dy, pen_up), got shape "
                            f"{x.shape}")
    return sequences


def _strings(texts: Any) -> list[str]:
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UserError(f"transcript {i} must be a string, got {type(text).__name__}: {text!r}")
        out.append(text)
    return out
