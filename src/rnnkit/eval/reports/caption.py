"""The results of an image captioner as ``metrics.json`` content and a self-contained ``report.html``.

    metrics, report, outputs = caption_report(model, images, references, beam=3, history=result.history,
                                              train=(train_images, train_captions))

Scores (``rnnkit.eval.sequence_metrics.seq2seq_metrics`` on word strings): corpus ``bleu`` and ``chrf``
(sacrebleu), ``exact_match`` (share of captions equal to their reference), ``wer`` (word error rate); references
are first put through the model's tokenizer (lower case, its word pattern) so both sides are spelled alike. With
beam search, the greedy scores come too (``greedy_*``). Two baselines need no model and set the bar, given the
training images: ``frequent_*`` captions every image with the most frequent training caption, ``nearest_*`` with
the caption of the nearest training image in pixel space (Euclidean distance between 16 x 16 thumbnails).
``capped`` counts the captions cut at the model's ``max_output_length`` (the report warns when it is not 0);
``near_duplicates`` the images captioned with their nearest training image's caption (the model's
``nearest_within``), not by the decoder.

The report shows the metrics, the learning curves, a grid of images with the true and predicted captions, and
for a few images the attention of each generated word over the image (the CNN's grid, drawn over the picture).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from rnnkit.eval.reports.document import Report, add_training_section
from rnnkit.eval.reports.plots import PAGE_WIDTH
from rnnkit.eval.sequence_metrics import capped_message, seq2seq_metrics
from rnnkit.tasks.blocks.retrieval import CaptionRetrieval
from rnnkit.tasks.models.captioning import CAPTION_LIMIT

GRID_IMAGES = 24  # images in the "captions" grid
MAX_WORDS = 8  # attention panels per example
SCORING = ("BLEU and chrF are sacrebleu corpus scores on lower-case word captions, exact_match the share of captions "
           "equal to the reference, wer the word error rate. Baselines without a model: frequent_* gives every image "
           "the most frequent training caption, nearest_* the caption of the nearest training image in pixel space "
           "(16 x 16 thumbnails).")


def most_frequent_caption(captions: Sequence[str]) -> str:
    """The most frequent training caption (ties: the first in sorted order)."""
    counts = Counter(captions)
    return min(counts, key=lambda caption: (-counts[caption], caption))


def nearest_neighbour_captions(train_images: Any, train_captions: Sequence[str], images: Any,
                               batch_size: int = 256) -> list[str]:
    """The caption of the training image nearest to each of ``images``: the lookup of the captioner's own
    near-duplicate rule (``CaptionRetrieval.nearest``, 16 x 16 thumbnails), over a table of the training images."""
    table = CaptionRetrieval(neighbours=0, embedding_dim=1, memory_size=1)
    table.fill(train_images, torch.zeros(len(train_captions), 1, dtype=torch.long))  # the captions stay text here
    return [train_captions[i] for i in table.nearest_one(images, batch_size)[0].tolist()]


def caption_metrics(model: Any, images: Any, references: Sequence[str], *, beam: int = 1, alpha: float = 0.0,
                    train: tuple[Any, Sequence[str]] | None = None, progress: Any = None
                    ) -> tuple[dict[str, Any], list[str], list[dict]]:
    """Metrics (see the module docstring), the captions and their attention details. ``progress``: called
    ``(done, total)`` as each decoding goes (``rnnkit.train.progress.CountProgress``)."""
    references = [model.normalise(text) for text in references]
    outputs, details = model.caption(images, beam=beam, alpha=alpha, return_details=True, progress=progress)
    capped = [d["capped"] for d in details]
    metrics: dict[str, Any] = {"count": len(references), "beam": beam,
                               **seq2seq_metrics(references, outputs, capped=capped),
                               "max_output_length": model.config.max_output_length,
                               "near_duplicates": sum(bool(d.get("nearest")) for d in details)}
    if beam > 1:
        greedy, greedy_details = model.caption(images, beam=1, return_details=True, progress=progress)
        greedy_capped = [d["capped"] for d in greedy_details]
        metrics.update({f"greedy_{k}": v for k, v in seq2seq_metrics(references, greedy, capped=greedy_capped).items()})
    if train is not None:
        train_images, train_captions = train
        train_captions = [model.normalise(text) for text in train_captions]
        baselines = {"frequent": [most_frequent_caption(train_captions)] * len(references),
                     "nearest": nearest_neighbour_captions(train_images, train_captions, images)}
        for name, guesses in baselines.items():
            metrics.update({f"{name}_{k}": v for k, v in seq2seq_metrics(references, guesses).items()})
    return metrics, outputs, details


def caption_grid(images: Any, references: Sequence[str], outputs: Sequence[str], columns: int = 6) -> Figure:
    """Images with their true caption above (black) and the model's below (green when equal, red otherwise)."""
    count = len(references)
    rows = -(-count // columns)
    fig = Figure(figsize=(PAGE_WIDTH, 2.3 * rows), layout="constrained")  # text at its size on the page
    for i, ax in enumerate(fig.subplots(rows, columns, squeeze=False).flat):
        if i >= count:
            ax.axis("off")
            continue
        ax.imshow(np.asarray(images[i]))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
        ax.set_title(_wrap(references[i]), fontsize=8)
        colour = "tab:green" if outputs[i] == references[i] else "tab:red"
        ax.set_xlabel(_wrap(f"> {outputs[i]}"), fontsize=8, color=colour)  # a label: the layout makes room
    return fig


def attention_figure(image: np.ndarray, words: Sequence[str], attention: np.ndarray) -> Figure:
    """The image, then one panel per generated word with its attention (h, w) over the image."""
    steps = min(len(attention), MAX_WORDS)
    labels = list(words) + ["</s>"] * (len(attention) - len(words))
    height, width = np.asarray(image).shape[:2]
    fig = Figure(figsize=(min(1.7 * (steps + 1), PAGE_WIDTH), 2.0), layout="constrained")
    axes = fig.subplots(1, steps + 1, squeeze=False)[0]
    axes[0].imshow(image)
    axes[0].set_title("image", fontsize=9)
    for ax, weights, label in zip(axes[1:], attention[:steps], labels):
        ax.imshow(image)
        ax.imshow(weights, cmap="magma", alpha=0.6, extent=(0, width, height, 0), interpolation="bilinear")
        ax.set_title(label, fontsize=9)
    for ax in axes:
        ax.axis("off")
    return fig


def caption_report(model: Any, images: Any, references: Sequence[str], *, beam: int = 1, alpha: float = 0.0,
                   history: Sequence[dict] | None = None, train: tuple[Any, Sequence[str]] | None = None,
                   title: str = "Image captioning", examples: int = 4,
                   extra: dict[str, Any] | None = None, progress: Any = None
                   ) -> tuple[dict[str, Any], Report, list[str]]:
    """Score ``model`` (an ``ImageCaptioner``) on ``images`` against ``references``: the metrics, the report and
    the captions. ``progress``: as ``caption_metrics``."""
    scores, outputs, details = caption_metrics(model, images, references, beam=beam, alpha=alpha, train=train,
                                               progress=progress)
    metrics = {**(extra or {}), **scores}
    normalised = [model.normalise(text) for text in references]
    report = Report(title).add_text(SCORING)
    if model.config.members > 1:
        report.add_text(f"The model is an ensemble of {model.config.members} captioners that caption together (each "
                        f"word from the mean of their next-word probabilities); the learning curves and the "
                        f"attention are the first member's.")
    warning = capped_message(metrics["capped"], len(references), CAPTION_LIMIT,
                             "--max-output-length (max_output_length)")
    if warning:
        report.add_warning(warning)
    report.add_section("Metrics").add_metrics(metrics)
    add_training_section(report, history,
                         ("train_loss", "val_loss", "val_token_accuracy", "val_exact_match", "val_bleu"))
    shown = min(len(normalised), GRID_IMAGES)
    report.add_section("Captions")
    report.add_figure(caption_grid(images[:shown], normalised[:shown], outputs[:shown]),
                      caption=f"The first {shown} images: the reference above, the model's caption below (beam "
                              f"{beam}; green: exactly right)")
    report.add_section("Attention")
    for i in range(min(examples, len(details))):
        what = ("a near-duplicate: the nearest training image's caption" if details[i].get("nearest") else
                "where the decoder looked for each word")
        report.add_figure(attention_figure(np.asarray(images[i]), details[i]["words"], details[i]["attention"]),
                          caption=f"image {i}: {what} (reference: {normalised[i]})")
    return metrics, report, outputs


def _wrap(text: str, width: int = 22) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
