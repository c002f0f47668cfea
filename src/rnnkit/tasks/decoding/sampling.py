"""Sampling text from a language model, one token per step, the recurrent state reused (N tokens cost N steps).

    texts = model.generate("ROMEO:\n", length=300, temperature=0.8, top_p=0.95, n=4, seed=1, stop=["\n\n"])
    for pieces in model.stream("ROMEO:\n", length=300):   # pieces[i]: sample i's new text, as soon as drawn
        print(pieces[0], end="", flush=True)

The prompt is read once, in one call over all its tokens (``n`` copies of it, one per sample); every new token
is then a single ``step`` from the state the previous one left, so generating N tokens costs N steps, not N^2.
The next token is drawn from

    p = softmax(logits / temperature)          temperature 0: the most likely token (greedy)
    top_k: only the k most likely tokens stay; top_p: only the smallest set whose probability reaches p
    (nucleus sampling, Holtzman et al. 2020), always at least the most likely token; then renormalised.

``seed`` makes samples reproducible (a private generator, the global one is untouched). ``stop`` strings end a
sample where the first of them begins (the stop string itself is not returned); while streaming, text that may
be the start of a stop string is held back until it is clear that it is not. With stop strings, ``length`` is a
cap: the stream's ``capped`` says which samples reached it before any stop string (cut short, not finished).

    samples = model.stream("ROMEO:\n", length=300, stop=["\n\n"])
    for pieces in samples: ...
    samples.capped          # [False, True]: the second sample was cut at 300 tokens
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from rnnkit.data.text import SPECIALS
from rnnkit.errors import UserError

SPECIAL_TOKENS = len(SPECIALS)  # ids 0 and 1: <pad>, <unk>


def sample_next(logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                generator: torch.Generator | None = None) -> Tensor:
    """Draw one token id per row of ``logits`` (B, V) -> (B,)."""
    logits = logits.float().clone()
    logits[:, :SPECIAL_TOKENS] = float("-inf")  # <pad> and <unk> are never written
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        probs, order = logits.softmax(-1).sort(-1, descending=True)
        before = probs.cumsum(-1) - probs  # probability of the tokens ranked above each one
        drop_sorted = before >= top_p  # the nucleus: tokens ranked above reached p already; keeps the first
        logits = logits.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
    # Exponential race (the Gumbel-max trick): argmax p_i / E_i with E_i ~ Exp(1) is distributed as p,
    # several times cheaper per step than torch.multinomial for a handful of rows.
    race = torch.empty_like(logits).exponential_(generator=generator)
    return (logits.softmax(-1) / race).argmax(-1)


def _check(length: int, n: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    problems = []
    if length < 0 or n < 1:
        problems.append(f"length must be >= 0 and n >= 1, got {length} and {n}")
    if not temperature >= 0:
        problems.append(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        problems.append(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        problems.append(f"top_p must be in (0, 1], got {top_p}")
    if problems:
        raise UserError("; ".join(problems))


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many characters at the end of ``text`` could begin a stop string."""
    return max((k for stop in stops for k in range(1, len(stop)) if text.endswith(stop[:k])), default=0)


class _Sample:
    """One sample's text, what has been handed out of it, and whether a stop string ended it."""

    def __init__(self) -> None:
        self.text, self.sent, self.done = "", 0, False

    def add(self, piece: str, stops: Sequence[str], last: bool) -> str:
        if self.done:
            return ""
        start = max(0, len(self.text) - max(map(len, stops), default=0))  # a new match must end in the new piece
        self.text += piece
        cuts = [i for i in (self.text.find(stop, start) for stop in stops) if i >= 0]
        if cuts:
            self.text, self.done = self.text[:min(cuts)], True
        end = len(self.text) if self.done or last else len(self.text) - _held_back(self.text, stops)
        new, self.sent = self.text[self.sent:end], max(self.sent, end)
        return new


class SampleStream:
    """The iterator ``stream`` returns: each step's new text per sample; afterwards ``capped[i]`` is True when
    sample ``i`` reached ``length`` tokens before any stop string (always False without stop strings: then
    ``length`` is the size asked for, not a cap)."""

    def __init__(self, steps: Iterator[list[str]], samples: list[_Sample], stops: Sequence[str]) -> None:
        self._steps, self._samples, self._stops = steps, samples, stops

    def __iter__(self) -> SampleStream:
        return self

    def __next__(self) -> list[str]:
        return next(self._steps)

    @property
    def capped(self) -> list[bool]:
        return [bool(self._stops) and not sample.done for sample in self._samples]


def stream(model: Any, prompt: str = "", length: int = 200, *, n: int = 1, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
           stop: Sequence[str] | str = ()) -> SampleStream:
    """Yield, after each step, the new text of each of the ``n`` samples (``""`` once a sample has stopped)."""
    _check(length, n, temperature, top_k, top_p)
    stops = [stop] if isinstance(stop, str) else [s for s in stop if s]
    samples = [_Sample() for _ in range(n)]
    options = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    return SampleStream(_steps(model, prompt, length, samples, stops, seed, options), samples, stops)


@torch.no_grad()
def _steps(model: Any, prompt: str, length: int, samples: list[_Sample], stops: list[str], seed: int | None,
           options: dict[str, Any]) -> Iterator[list[str]]:
    tokenizer = model.require_tokenizer()
    device = next(model.parameters()).device
    ids = model.encode(prompt) if prompt else torch.tensor([_start_token(tokenizer)])
    generator = None if seed is None else torch.Generator(device).manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        logits, state = model(ids.to(device).unsqueeze(0).expand(len(samples), -1))  # the prompt: one call
        logits = logits[:, -1]
        words = tokenizer.level == "word"
        for t in range(length):
            token = sample_next(logits, generator=generator, **options)
            pieces = tokenizer.decode(token.tolist())
            if words:  # words are joined by spaces (after the prompt's last word too)
                pieces = [" " + piece if (t or prompt) else piece for piece in pieces]
            last = t == length - 1
            yield [sample.add(piece, stops, last) for sample, piece in zip(samples, pieces)]
            if all(sample.done for sample in samples) or last:
                return
            logits, state = model.step(token, state)  # one step per token: the state carries the past
    finally:
        model.train(was_training)


def generate(model: Any, prompt: str = "", length: int = 200, **options: Any) -> list[str]:
    """``n`` samples (a list of ``n`` strings) of up to ``length`` tokens continuing ``prompt`` (not included)."""
    n = options.get("n", 1)
    texts = [""] * n
    for pieces in stream(model, prompt, length, **options):
        texts = [text + piece for text, piece in zip(texts, pieces)]
    return texts


def _start_token(tokenizer: Any) -> int:
    """With no prompt, sampling starts after a line break (characters) or the most frequent word."""
    ids = tokenizer.encode("\n") if tokenizer.level == "char" else []
    return ids[0] if ids and ids[0] >= SPECIAL_TOKENS else SPECIAL_TOKENS
