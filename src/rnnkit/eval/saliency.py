"""Which steps drove a sequence model's decision: attention weights, or gradient x input saliency.

    attention:  a_t from the model's attention pooling (sums to 1 over the sequence's steps)
    gradient:   s_t = | sum_f  x_{t,f} * d logit_c / d x_{t,f} |      normalised to sum to 1 over the steps

where c is the predicted class and x the recurrent layers' input before the front-end convolution (the token
embeddings for text, the scaled numbers otherwise). Gradient x input (Shrikumar et al. 2016) rather than the bare
gradient: a step whose input is zero contributes nothing, whatever the gradient there.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from rnnkit.data.sequences import pad_batch
from rnnkit.eval.reports.plots import PAGE_WIDTH


def step_importance(model: Any, X: Any, method: str = "auto") -> tuple[list[np.ndarray], str]:
    """Importance of each step of each sequence of raw inputs ``X`` for a ``SequenceClassifier``.

    ``method``: "attention" (needs pooling="attention"), "gradient", or "auto" (attention when the model has
    it). Returns one (T_i,) array per sequence, each summing to 1, and the method used.
    """
    has_attention = model.encoder.config.pooling == "attention"
    if method == "auto":
        method = "attention" if has_attention else "gradient"
    if method not in ("attention", "gradient"):
        raise ValueError(f"method must be 'auto', 'attention' or 'gradient', got {method!r}")
    if method == "attention" and not has_attention:
        raise ValueError("attention weights need a model with pooling='attention'; use method='gradient'")
    sequences = model.prepare(X)
    x, lengths = pad_batch(sequences)
    device = next(model.parameters()).device
    x, lengths = x.to(device), lengths.to(device)
    was_training = model.training
    model.eval()
    try:
        scores = _attention(model, x, lengths) if method == "attention" else _gradient(model, x, lengths)
    finally:
        model.train(was_training)
    return [row[:n] / max(row[:n].sum(), 1e-12) for row, n in zip(scores.cpu().numpy(), lengths.tolist())], method


@torch.no_grad()
def _attention(model: Any, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return model.encoder(x, lengths)[1]


def _gradient(model: Any, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    captured: list[torch.Tensor] = []
    embedding = model.encoder.embedding
    if embedding is not None:  # take the gradient at the embeddings: token ids have none
        def keep(module, inputs, output):  # noqa: ANN001 (a torch hook)
            output.retain_grad()
            captured.append(output)

        handle = embedding.register_forward_hook(keep)
    else:
        x = x.clone().requires_grad_(True)
        captured.append(x)
    try:
        # cuDNN's RNN backward refuses eval mode; the plain kernels compute the same gradient.
        with torch.backends.cudnn.flags(enabled=False), torch.enable_grad():
            logits = model(x, lengths)
            logits.gather(1, logits.argmax(-1, keepdim=True)).sum().backward()
    finally:
        if embedding is not None:
            handle.remove()
        model.zero_grad(set_to_none=True)
    inputs = captured[0]
    return (inputs * inputs.grad).sum(-1).abs().detach()  # (B, T)


def importance_figure(steps: Sequence[Any], importance: np.ndarray, title: str = "",
                      values: np.ndarray | None = None, channels: Sequence[str] | None = None) -> Figure:
    """One example: the tokens (text) or the series ``values`` (T, F) over the steps, with each step's
    importance as bars below. The input channels are named in a legend (``channels``, default "input 0", ...)."""
    width = min(2.0 + 0.35 * len(steps), PAGE_WIDTH) if values is None else PAGE_WIDTH
    fig = Figure(figsize=(width, 3.2), layout="constrained")
    title = "\n".join(textwrap.wrap(title, int(width * 9))[:2])  # about 9 title characters an inch
    if values is not None:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        lines = np.asarray(values).reshape(len(values), -1)
        names = list(channels) if channels is not None else [f"input {k}" for k in range(lines.shape[1])]
        for k in range(lines.shape[1]):
            top.plot(lines[:, k], label=str(names[k]))
        top.legend(fontsize="small", ncols=-(-lines.shape[1] // 8), loc="upper left", bbox_to_anchor=(1.0, 1.0))
        top.set_ylabel("input (scaled)")
        top.set_title(title)
    else:
        bottom = fig.subplots()
        bottom.set_title(title)
        bottom.set_xticks(range(len(steps)), [str(s) for s in steps], rotation=60, ha="right", fontsize="small")
    bottom.bar(range(len(importance)), importance, color="tab:red")
    bottom.set_ylabel("importance")
    bottom.set_xlabel("step" if values is not None else "")
    return fig
