"""The results of a CTC recognizer as ``metrics.json`` content and a self-contained ``report.html``.

    metrics, report = recognition_report(model, X_test, transcripts, history=result.history, beam=8)
    write_metrics(out / "metrics.json", metrics); report.write(out / "report.html")

Metrics (``rnnkit.eval.sequence_metrics.recognition_metrics``): character error rate (CER), word error rate (WER, on
whitespace-split words) and sequence accuracy (the share of whole transcripts right), for the decoding asked for
(``beam``: 1 greedy, K prefix beam search) and, when that is a beam search, for greedy decoding too; ``capped``
counts the transcripts that used every frame of their input (the report warns when it is not 0). The report draws
a few inputs next to their decoded and true transcripts (pen trajectories as strokes, other inputs as a
feature-by-frame image), the learning curves, and the CTC alignment of one example: per-frame label posteriors with
the frames that emitted each label marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rnnkit.data.ink import ink_columns
from rnnkit.eval.reports.document import Report, add_training_section
from rnnkit.eval.reports.plots import draw_trajectory
from rnnkit.eval.sequence_metrics import capped_message, edit_distance, recognition_metrics
from rnnkit.tasks.models.recognition import FRAME_LIMIT, FRAME_SETTING

INPUT_KINDS = ("auto", "pen", "frames")


def recognition_report(model: Any, X: Any, transcripts: Sequence[str] | None, *, beam: int = 1,
                       history: Sequence[dict] | None = None, title: str = "Sequence recognition",
                       examples: int = 4, names: Sequence[str] | None = None,
                       extra: dict[str, Any] | None = None, progress: Any = None) -> tuple[dict[str, Any], Report]:
    """Metrics of ``model`` (a ``SequenceRecognizer``) on ``X`` against ``transcripts`` (None: transcripts only),
    and the report. ``names`` label the examples (default: their index); ``extra`` goes into both; ``progress``
    is called ``(done, total)`` as the decoding goes."""
    X = list(X)
    decoded, details = model.recognize(X, beam=beam, return_details=True, progress=progress)
    capped = [d["capped"] for d in details]
    metrics: dict[str, Any] = {**(extra or {}), "count": len(decoded), "beam": beam, "capped": sum(capped),
                               "conv_stride": model.config.encoder.conv_stride}
    report = Report(title)
    warning = capped_message(metrics["capped"], len(decoded), FRAME_LIMIT, FRAME_SETTING)
    if warning:
        report.add_warning(warning)
    if transcripts is not None:
        transcripts = list(transcripts)
        metrics.update(recognition_metrics(transcripts, decoded, capped=capped))
        if beam > 1:
            greedy, greedy_details = model.recognize(X, return_details=True)
            metrics["greedy"] = recognition_metrics(transcripts, greedy, capped=[d["capped"] for d in greedy_details])
        report.add_section("Metrics")
        report.add_text(f"Decoding: {'greedy (best path)' if beam == 1 else f'prefix beam search, beam {beam}'}. "
                        "CER and WER are edit distances over the total reference length; sequence accuracy is the "
                        "share of transcripts right as a whole.")
        report.add_metrics({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))})
        if beam > 1:
            report.add_metrics(metrics["greedy"], caption="Greedy decoding, for comparison")
        wrong = [{"input": name, "true": t, "decoded": d, "edits": edit_distance(t, d)}
                 for name, t, d in zip(names or range(len(X)), transcripts, decoded) if t != d]
        if wrong:
            report.add_table(wrong[:15], caption=f"Mistakes: the first {min(len(wrong), 15)} of {len(wrong)}")
    add_training_section(report, history, ("train_loss", "val_loss", "val_cer"), caption="Learning curves: CTC "
                         "loss per label, and the validation character error rate of greedy decoding")
    kind = input_kind(model, X)
    names = [str(i) for i in range(len(X))] if names is None else [str(n) for n in names]
    chosen = list(range(min(examples, len(X))))
    if chosen:
        report.add_section("Examples")
        for i in chosen:
            truth = f"   true: {transcripts[i]!r}" if transcripts is not None else ""
            caption = f"{names[i]}: decoded {decoded[i]!r}{truth}"
            report.add_figure(input_figure(X[i], kind, caption), caption=caption)
        i = max(chosen, key=lambda k: len(decoded[k]))  # the richest alignment of the examples shown
        align = model.alignment(X[i])
        report.add_section("CTC alignment")
        report.add_text("Per-frame posteriors of the blank and of the labels the best path emits; a dashed line "
                        "marks the frame where each label is emitted (the first frame of its run in the best path). "
                        f"One frame covers {align['frame_steps']} input step(s).")
        truth = f", true {transcripts[i]!r}" if transcripts is not None else ""
        if getattr(model.config, "pen_ink", False):  # the frames are columns of the ink: align on the ink
            report.add_figure(alignment_figure(ink_columns(np.asarray(X[i])), align, "ink"),
                              caption=f"{names[i]} as the model reads it, its ink column by column: which frames "
                              f"emitted which labels (decoded {align['text']!r}{truth})")
        else:
            report.add_figure(alignment_figure(X[i], align, kind), caption=f"{names[i]}: which frames emitted "
                              f"which labels (decoded {align['text']!r}{truth})")
    return metrics, report


def input_kind(model: Any, X: Sequence[Any]) -> str:
    """How to draw the inputs: the model's ``metadata["input_kind"]``, or, when "auto", "pen" for (T, 3) inputs
    whose last column is a 0/1 pen-up flag, else "frames"."""
    kind = model.metadata.get("input_kind", "auto")
    if kind != "auto":
        return kind
    first = np.asarray(X[0]) if len(X) else np.zeros((0, 0))
    is_pen = first.ndim == 2 and first.shape[1] == 3 and np.isin(first[:, 2], (0.0, 1.0)).all()
    return "pen" if is_pen else "frames"


def input_figure(x: Any, kind: str, title: str = "") -> Figure:
    x = np.asarray(x, dtype=np.float32)
    fig = Figure(figsize=(6.0, 2.2 if kind == "pen" else 2.6), layout="constrained")
    ax = fig.subplots()
    _draw_input(ax, x, kind)
    if title:
        ax.set_title(title, fontsize="small")
    return fig


def alignment_figure(x: Any, align: dict[str, Any], kind: str) -> Figure:
    """Top: the input with each emitted label written where it was emitted; bottom: per-frame posteriors."""
    x = np.asarray(x, dtype=np.float32)
    posteriors, labels, stride = align["posteriors"], align["labels"], align["frame_steps"]
    fig = Figure(figsize=(8.0, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=(1.0, 1.2))
    _draw_input(top, x, kind)
    if kind == "pen":
        from rnnkit.datasets.handwriting import absolute

        points = absolute(x)
        for frame, char in align["emitted"]:
            step = min(frame * stride, len(points) - 1)
            top.plot(*points[step, :2], "o", color="tab:red", markersize=3)
            top.annotate(repr(char)[1:-1], points[step, :2], xytext=(0, 6), textcoords="offset points",
                         color="tab:red", ha="center", fontsize="small")
    else:
        for frame, char in align["emitted"]:
            top.axvline(frame * stride, color="tab:red" if kind == "ink" else "white", linewidth=0.8,
                        linestyle="--")
            top.text(frame * stride, x.shape[1] - 0.5, repr(char)[1:-1], va="bottom", ha="center",
                     fontsize="small")
    frames = np.arange(len(posteriors)) * stride  # on the input's step axis, as the image above
    bottom.plot(frames, posteriors[:, 0], color="0.6", linewidth=1.0, label=labels[0])
    shown = sorted({labels.index(char) for _, char in align["emitted"]})
    colors = [f"C{k % 10}" for k in range(len(shown))]
    for index, color in zip(shown, colors):
        bottom.plot(frames, posteriors[:, index], color=color, linewidth=1.0, label=repr(labels[index]))
    for frame, char in align["emitted"]:
        color = colors[shown.index(labels.index(char))]
        bottom.axvline(frame * stride, color=color, linewidth=0.8, linestyle="--")
        bottom.text(frame * stride, 1.02, repr(char)[1:-1], color=color, ha="center", va="bottom",
                    fontsize="small")
    bottom.set_xlim(-0.5, len(x) - 0.5)
    bottom.set_ylim(0, 1.12)
    bottom.set_xlabel(f"input step (a frame every {stride})" if stride > 1 else "input step = frame")
    bottom.set_ylabel("posterior")
    if len(shown) <= 12:
        bottom.legend(fontsize="x-small", ncol=min(len(shown) + 1, 7), loc="upper right",
                      bbox_to_anchor=(1.0, -0.18))
    return fig


def _draw_input(ax: Any, x: np.ndarray, kind: str) -> None:
    if kind == "pen":
        draw_trajectory(ax, x)  # (dx, dy, pen_up) rows, strokes split at pen-up
    elif kind == "ink":  # (columns, rows) of ink in [0, 1], drawn as on paper
        ax.imshow(x.T, aspect="auto", origin="lower", interpolation="nearest", cmap="gray_r", vmin=0, vmax=1,
                  extent=(-0.5, len(x) - 0.5, -0.5, x.shape[1] - 0.5))
        ax.set_xlabel("column")
        ax.set_yticks([])
    else:
        # Each feature standardised on its own: one loud feature (MFCC c0, energy) would wash out the others.
        scaled = (x - x.mean(0)) / np.where(x.std(0) > 1e-8, x.std(0), 1.0)
        ax.imshow(scaled.T, aspect="auto", origin="lower", interpolation="nearest", cmap="magma",
                  extent=(-0.5, len(x) - 0.5, -0.5, x.shape[1] - 0.5))
        ax.set_xlabel("input step")
        ax.set_ylabel("feature")
