"""Optional int8 graphs: onnxruntime's dynamic quantization (weights int8 once, activations per call), with the
change it makes to the outputs measured against PyTorch on the export's check samples.

    rnnkit.export(model, "deploy/tagger.onnx", quantize=True)   # also tagger.int8.onnx; the JSON's "int8" says
                                                                 # by how much the outputs moved

The change is reported, not bounded: int8 weights move outputs by about 1e-3 to 1e-2 on small models, so it is
the user's to judge on their own data (``argmax_agreement``: the share of rows whose most likely class, tag or
token is unchanged). Small graphs can grow (the quantization parameters outweigh the saved bytes); models of a
few hundred units and up shrink towards a quarter.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from rnnkit._optional import require
from rnnkit.deploy.graphs import Graph

ARGMAX_OUTPUTS = ("logits", "log_probs")


def quantize_graph(data: bytes) -> bytes:
    """``data`` (an ONNX graph) with its matrix products and recurrent ops in int8 (dynamic quantization)."""
    quantization = require("onnxruntime.quantization", "onnx", package="onnxruntime", why="to quantize graphs")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs a suggestion to pre-process the graph first on every call
    try:
        with tempfile.TemporaryDirectory() as folder:
            source, target = Path(folder) / "graph.onnx", Path(folder) / "graph.int8.onnx"
            source.write_bytes(data)
            quantization.quantize_dynamic(source, target, weight_type=quantization.QuantType.QInt8)
            return target.read_bytes()
    finally:
        root.setLevel(level)


def measure(graph: Graph, data: bytes, samples: Any) -> dict[str, Any]:
    """How far the quantized graph's outputs are from PyTorch's on ``samples`` ((batch, steps) pairs)."""
    from rnnkit.deploy.export import difference, paired_outputs, session

    largest: dict[str, float] = {}
    agree, rows = 0, 0
    for name, want, got, _ in paired_outputs(graph, session(data), samples):
        largest[name] = max(largest.get(name, 0.0), difference(want, got))
        if name in ARGMAX_OUTPUTS:
            same = want.argmax(-1) == got.argmax(-1)
            agree, rows = agree + int(same.sum()), rows + same.size
    report = {"bytes": len(data), "max_abs_difference": largest}
    if rows:
        report["argmax_agreement"] = round(agree / rows, 4)
    return report


def quantized(graph: Graph, data: bytes, samples: Any) -> tuple[bytes, dict[str, Any]]:
    """The int8 graph and its report (bytes before and after, the outputs' change)."""
    int8 = quantize_graph(data)
    return int8, {"float32_bytes": len(data), **measure(graph, int8, samples)}


def int8_name(path: Path) -> Path:
    return path.with_name(path.name[:-len(".onnx")] + ".int8.onnx")
