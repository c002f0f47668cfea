"""What a language model's memory holds (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding
Recurrent Networks"): cell activations over a passage, the cells that track simple properties of the text, and
how saturated the gates are.

    probe = probe_memory(model, passage)            # one pass of the readable reference loop, states recorded
    probe.cells                                      # (layers, T, H): tanh(c_t) for an LSTM, h_t otherwise
    best_cells(probe, text_properties(passage))      # per property: the cell whose activation correlates most
    gate_saturation(probe)                           # per layer and gate: share of steps nearly closed / open

The layer's reference path records the state after every step (``rnnkit.nn.reference.scan(..., record=list)``);
the gates are recomputed from those states with the equations in ``rnnkit.nn.functional``:

    LSTM: i, f, _, o = sigmoid-chunks of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    GRU:  r, z       = sigmoid(x_r + h_r), sigmoid(x_z + h_z)

A gate is "nearly closed" below 0.1 and "nearly open" above 0.9, the thresholds of Karpathy et al.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnnkit.nn import functional as F
from rnnkit.nn.reference import scan

CLOSED, OPEN = 0.1, 0.9
# Quoted speech: "..." or '...' opened before a capital and closed after punctuation, as in Shakespeare's
# 'Let me not live,' (a lone apostrophe, as in 'Tis or o'er, opens nothing).
QUOTED = re.compile(r'"[^"]*"|(?<![\w\'])\'(?=[A-Z])[^\'\n]*?[.,!?;:\-]\'(?!\w)')
GATE_NAMES = {"LSTM": ("input", "forget", "output"), "GRU": ("reset", "update")}


@dataclass
class MemoryProbe:
    text: str  # the passage, one token per step
    cells: np.ndarray  # (layers, T, H) tanh(c_t) (LSTM) or h_t
    gates: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (layers, T, H); none for an Elman RNN


@torch.no_grad()
def probe_memory(model: Any, passage: str) -> MemoryProbe:
    """Run ``model`` (a character ``LanguageModel``) over ``passage`` from a zero state, recording every step."""
    if model.require_tokenizer().level != "char":
        raise ValueError("the memory probe reads a character model (one step per character)")
    layer = model.rnn
    ids = model.encode(passage).to(next(model.parameters()).device).unsqueeze(0)  # (1, T)
    x = model.embedding(ids)  # (1, T, E)
    update = F.UPDATES[layer.mode]
    cells, gates = [], {name: [] for name in GATE_NAMES.get(layer.mode, ())}
    for index in range(layer.num_layers):
        w = F.cell_weights(layer, f"_l{index}")
        zeros = x.new_zeros(1, layer.hidden_size)
        initial = (zeros, zeros) if layer.mode == "LSTM" else zeros
        xi = F.input_projection(x, w)  # (1, T, G*H)
        record: list = []
        x, _ = scan(update, xi, initial, w, record=record)  # x: this layer's output, the next layer's input
        h = torch.stack([s[0] if layer.mode == "LSTM" else s for s in record], dim=1)  # (1, T, H)
        cells.append(torch.tanh(torch.stack([s[1] for s in record], dim=1)) if layer.mode == "LSTM" else h)
        h_before = torch.cat([zeros.unsqueeze(1), h[:, :-1]], dim=1)  # h_{t-1}
        hh = F.hidden_projection(h_before, w)  # (1, T, G*H)
        if layer.mode == "LSTM":
            i, f, _, o = (xi + hh).chunk(4, dim=-1)
            for name, gate in zip(("input", "forget", "output"), (i, f, o)):
                gates[name].append(torch.sigmoid(gate))
        elif layer.mode == "GRU":
            (x_r, x_z, _), (h_r, h_z, _) = xi.chunk(3, dim=-1), hh.chunk(3, dim=-1)
            gates["reset"].append(torch.sigmoid(x_r + h_r))
            gates["update"].append(torch.sigmoid(x_z + h_z))
    as_array = lambda tensors: torch.cat(tensors).float().cpu().numpy()  # noqa: E731  (layers, T, H)
    return MemoryProbe(passage, as_array(cells), {name: as_array(g) for name, g in gates.items()})


def text_properties(text: str) -> dict[str, np.ndarray]:
    """Simple per-character properties a cell might track (each a float array as long as ``text``)."""
    quoted = np.zeros(len(text), dtype=bool)
    for match in QUOTED.finditer(text):
        quoted[match.start():match.end()] = True
    position, inside_quotes, inside_brackets, in_name = [], quoted.tolist(), [], []
    column, bracketed = 0, False
    for line in text.splitlines(keepends=True):
        speaker = line.rstrip("\n").endswith(":") and line.strip()[:-1].replace(" ", "").isupper()
        for char in line:
            bracketed = True if char == "[" else (False if char == "]" else bracketed)
            position.append(column)
            inside_brackets.append(bracketed)
            in_name.append(speaker)
            column = 0 if char == "\n" else column + 1
    return {name: np.asarray(values, dtype=np.float64) for name, values in (
        ("position in line", position), ("inside quotes", inside_quotes),
        ("inside [brackets]", inside_brackets), ("speaker name line", in_name))}


def best_cells(probe: MemoryProbe, properties: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """For each property that varies over the passage: the (layer, cell) whose activation has the largest
    absolute Pearson correlation with it."""
    rows = []
    layers, steps, hidden = probe.cells.shape
    activations = probe.cells.transpose(1, 0, 2).reshape(steps, layers * hidden)  # (T, L*H)
    centred = activations - activations.mean(0)
    scale = np.sqrt((centred ** 2).sum(0))
    for name, values in properties.items():
        values = values[:steps] - values[:steps].mean()
        if not np.any(values):
            continue  # constant over this passage: nothing to track
        with np.errstate(invalid="ignore", divide="ignore"):
            r = centred.T @ values / (scale * np.sqrt((values ** 2).sum()))  # (L*H,)
        r = np.nan_to_num(r)
        best = int(np.abs(r).argmax())
        rows.append({"property": name, "layer": best // hidden, "cell": best % hidden, "correlation": float(r[best])})
    return rows


def gate_saturation(probe: MemoryProbe) -> list[dict[str, Any]]:
    """Per layer and gate: the share of (step, unit) values below ``CLOSED`` and above ``OPEN``, and the share of
    units that are nearly closed or nearly open on more than 90% of the steps (right- or left-saturated units)."""
    rows = []
    for name, values in probe.gates.items():
        for layer, gate in enumerate(values):  # (T, H)
            closed, opened = gate < CLOSED, gate > OPEN
            rows.append({"layer": layer, "gate": name, "nearly closed": float(closed.mean()),
                         "nearly open": float(opened.mean()),
                         "units mostly closed": float((closed.mean(0) > 0.9).mean()),
                         "units mostly open": float((opened.mean(0) > 0.9).mean())})
    return rows


def activation_heatmap_data(probe: MemoryProbe, cells: list[tuple[int, int]], width: int = 80) -> tuple[np.ndarray,
                                                                                                        list[str]]:
    """The chosen ``(layer, cell)`` activations over the first ``width`` characters: ((cells, width), labels)."""
    steps = min(width, probe.cells.shape[1])
    matrix = np.stack([probe.cells[layer, :steps, cell] for layer, cell in cells])
    labels = [{"\n": "⏎", " ": "·"}.get(char, char) for char in probe.text[:steps]]
    return matrix, labels


def pick_passage(text: str, length: int = 400) -> str:
    """A passage of ``text`` worth probing: from the start of the speech holding its first quote (else its first
    bracket), so that the properties vary."""
    quote = QUOTED.search(text)
    marks = [quote.start()] if quote else [i for i in (text.find("["),) if i >= 0]
    start = 0
    if marks:
        earliest = max(0, min(marks) - length // 2)
        found = text.rfind("\n\n", earliest, min(marks))
        start = found + 2 if found >= 0 else earliest
    return text[start:start + length]
