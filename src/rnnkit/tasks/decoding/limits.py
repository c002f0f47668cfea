"""Length limits of the decoders: derived from the training data where a fixed default could cut a legitimate
output, and reported whenever they bind, never silently.

- seq2seq and captioning stop at EOS or at a maximum number of tokens; the models derive it from their training
  targets with ``length_cap`` (1.5 times what the longest needs, plus 10 tokens) and report each output that
  reached it without EOS (``Hypotheses.capped``);
- CTC writes at most one label per frame (and needs a blank between repeated labels), so an input's frames after
  the convolution's stride bound its transcript: the recognizer lowers a stride that some training transcript
  would not fit, and reports each output that used every frame;
- sampling from a language model stops at a stop string or after ``length`` tokens: the samples that reached
  ``length`` before any stop string are reported.

``warn_capped`` is what an API call that returns outputs only does with those flags: an ``OutputCappedWarning``
(the CLI prints it as one line ``rnnkit: warning: ...``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from rnnkit.errors import OutputCappedWarning
from rnnkit.eval.sequence_metrics import capped_message

# Caps derived from the training data leave room for outputs a little longer than any seen in training.
LENGTH_MARGIN, LENGTH_SLACK = 1.5, 10


def length_cap(longest: float) -> int:
    """A cap with room for ``longest`` tokens and EOS: ``ceil(1.5 * longest) + 10``."""
    return math.ceil(LENGTH_MARGIN * longest) + LENGTH_SLACK


def warn_capped(capped: Sequence[bool] | int, limit: str, setting: str, count: int | None = None) -> None:
    """Warn (``OutputCappedWarning``) when some outputs reached their ``limit``; ``setting`` raises it.
    ``capped``: a flag per output, or how many of ``count`` outputs were cut."""
    cut, count = (capped, count) if isinstance(capped, int) else (sum(capped), len(capped))
    message = capped_message(cut, count, limit, setting)
    if message:
        warnings.warn(message, OutputCappedWarning, stacklevel=3)
