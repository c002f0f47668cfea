"""The reports of ``rnnkit generate``: a trained language model (scores, learning curves, samples, and for a
character model what its memory holds, from ``rnnkit.eval.memory_probe``), and a batch of samples.

    write_language_model_report(out, model, metrics, history, passage_from=validation_text)
    write_samples_report(out, prompt, texts, settings)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.eval.memory_probe import (
    CLOSED,
    OPEN,
    activation_heatmap_data,
    best_cells,
    gate_saturation,
    pick_passage,
    probe_memory,
    text_properties,
)
from rnnkit.eval.reports.document import Report, add_training_section, write_metrics
from rnnkit.eval.reports.plots import heatmap
from rnnkit.eval.sequence_metrics import capped_message


def add_memory_section(report: Report, model: Any, passage: str, *, width: int = 80) -> dict[str, Any]:
    """Add "What the memory holds" to ``report`` (an ``rnnkit.eval.Report``): the activation heat map of the
    cells that best track each property, their correlations, and the gate saturation table. Returns the tables."""
    probe = probe_memory(model, passage)
    tracking = best_cells(probe, text_properties(passage))
    saturation = gate_saturation(probe)
    report.add_section("What the memory holds")
    report.add_text(f"A passage of {len(passage)} validation characters, read from a zero state. Each row of the "
                    f"heat map is one cell ({'tanh(c_t)' if model.config.rnn.cell == 'lstm' else 'h_t'}), chosen as "
                    "the cell whose activation correlates most with a simple property of the text (Karpathy, "
                    "Johnson & Fei-Fei 2015). Columns are characters (· space, ⏎ line break).")
    chosen = list(dict.fromkeys((row["layer"], row["cell"]) for row in tracking))
    if chosen:
        matrix, labels = activation_heatmap_data(probe, chosen, width)
        tracks = {key: [row["property"] for row in tracking if (row["layer"], row["cell"]) == key] for key in chosen}
        rows = [f"layer {layer} cell {cell}: {', '.join(tracks[(layer, cell)])}" for layer, cell in chosen]
        report.add_figure(heatmap(matrix, rows, labels, annotate=False, cmap="RdBu_r", xlabel="character"),
                          f"cell activations over the first {len(labels)} characters")
        report.add_table(tracking, "cells that best track each property (Pearson r over the passage)")
    if saturation:
        report.add_table(saturation, f"gate saturation: share of values below {CLOSED} (nearly closed) and above "
                                     f"{OPEN} (nearly open)")
    return {"passage": passage, "best_cells": tracking, "gate_saturation": saturation}


def language_model_report(model: Any, metrics: dict[str, Any], history: list[dict[str, Any]], *,
                          passage_from: str = "", samples: int = 3, length: int = 300) -> tuple[dict[str, Any], Report]:
    """The metrics and report of a trained language model: scores, learning curves, samples at temperature 0.8
    and, for a character model, what its memory holds over ``passage_from``."""
    texts = model.generate("", length, n=samples, temperature=0.8, seed=0)
    report = Report("Language model")  # the driver puts the result against its baseline first
    report.add_section("Metrics").add_metrics(
        {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}, "held-out scores")
    add_training_section(report, history, ("train_loss", "val_loss"), "loss in nats per token")
    report.add_section("Samples").add_text("\n\n".join(f"Sample {i + 1} (temperature 0.8): {text}"
                                                        for i, text in enumerate(texts)))
    if model.require_tokenizer().level == "char" and len(passage_from) > 1:
        memory = add_memory_section(report, model, pick_passage(passage_from))
        metrics = metrics | {"memory": {k: v for k, v in memory.items() if k != "passage"}}
    return metrics | {"history": history, "samples": texts}, report


def write_samples_report(out: Path, prompt: str, texts: list[str], settings: dict[str, Any],
                         limit: str = "the length") -> None:
    """``out/samples.txt``, ``out/metrics.json`` (settings, characters per second) and ``out/report.html``, with a
    warning when ``settings["capped"]`` samples reached ``limit`` before a stop string."""
    characters = sum(len(text) for text in texts)
    metrics = settings | {"samples": len(texts), "characters": characters,
                          "characters_per_s": characters / max(settings["seconds"], 1e-9)}
    _fs.atomic_write(out / "samples.txt", ("\n\n".join(prompt + text for text in texts) + "\n").encode("utf-8"))
    write_metrics(out / "metrics.json", metrics | {"prompt": prompt, "texts": texts})
    report = Report("Samples")
    warning = capped_message(settings.get("capped", 0), len(texts), limit, "--length")
    if warning:
        report.add_warning(warning)
    report.add_metrics(metrics)
    report.add_text("\n\n".join(f"Sample {i + 1}: {prompt}{text}" for i, text in enumerate(texts)))
    report.write(out / "report.html")
