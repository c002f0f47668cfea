"""``rnnkit.export(model, "out/model.onnx")``: a task model as ONNX graphs plus a JSON file, checked in onnxruntime.

    paths = rnnkit.export(rnnkit.load("runs/tagger/model"), "deploy/tagger.onnx")
    # deploy/tagger.onnx, deploy/tagger.json   (seq2seq, captioner: tagger.encoder.onnx, tagger.decoder.onnx)

The graphs (``rnnkit.deploy.graphs``) carry the recurrent state as inputs and outputs, with dynamic batch and time
axes and the sequences' lengths as an input. The JSON beside them holds what the graphs need around them: the
task, each graph's file, inputs and outputs (names, types, shapes), the model's config and its ``extra_state``
(vocabulary, scaler, labels, target scale, the forecaster's columns, frequency and history), and the check.

The route, by measurement (PyTorch 2.13): ``torch.onnx.export(dynamo=False)`` writes rnnkit's fused path as ONNX's
LSTM / GRU / RNN ops, bidirectional and stacked included, and a right-padded batch's lengths as their
``sequence_lens`` (the layer takes the packed route while exporting: ``rnnkit.nn.fused.default_route``). The
dynamo exporter fails on the layer's Python-level checks and loops (``torch.export`` refuses them), and the reference
loop would be unrolled to the sample's length. Layer normalisation and LSTM projections have no ONNX recurrent op:
such models are refused, with the reason.

The export checks itself: before anything is written, each graph runs in onnxruntime on two sample batches (mixed
lengths, non-zero states; one of another batch size and length than the trace) and must give PyTorch's outputs to
``tolerance`` (1e-4); otherwise nothing is written and a ``UserError`` names the output and the difference.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from rnnkit import _fs
from rnnkit._optional import require
from rnnkit._version import __version__
from rnnkit.deploy.graphs import Graph, task_graphs
from rnnkit.deploy.quantize import int8_name, quantized
from rnnkit.errors import UserError

FORMAT = "rnnkit-onnx"
FORMAT_VERSION = 1
OPSET = 17
TRACE_SAMPLE = (3, 6)  # (batch, steps) of the traced sample
CHECK_SAMPLES = ((3, 6), (5, 11))  # the check runs on the trace's shape and on another


def task_model(model: Any) -> Any:
    """The task model inside ``model``: itself, or a ``Forecaster``'s network."""
    inner = getattr(model, "model", None)
    if not hasattr(model, "task") and hasattr(inner, "task"):
        return inner
    if not hasattr(model, "task"):
        raise UserError(f"cannot export a {type(model).__name__}: not an rnnkit task model")
    return model


def graph_paths(path: str | Path, names: list[str]) -> dict[str, Path]:
    """Where each graph goes: ``stem.onnx`` for a single graph, ``stem.<name>.onnx`` for several."""
    path = Path(path)
    stem = path.name[:-len(".onnx")] if path.name.endswith(".onnx") else path.name
    if names == ["model"]:
        return {"model": path.with_name(stem + ".onnx")}
    return {name: path.with_name(f"{stem}.{name}.onnx") for name in names}


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    stem = path.name[:-len(".onnx")] if path.name.endswith(".onnx") else path.name
    return path.with_name(stem + ".json")


def to_onnx(graph: Graph, opset: int = OPSET) -> bytes:
    """``graph`` traced on its sample and written as ONNX (the TorchScript-based exporter)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the tracer's notes on Python values frozen from the sample (checks, shapes)
        warnings.simplefilter("ignore")
        torch.onnx.export(graph.module, graph.sample(*TRACE_SAMPLE), buffer, dynamo=False, opset_version=opset,
                          input_names=graph.inputs, output_names=graph.outputs, dynamic_axes=graph.dynamic)
    return buffer.getvalue()


def session(data: bytes | str | Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session on a graph (bytes or a file)."""
    onnxruntime = require("onnxruntime", "onnx", why="to run exported graphs")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    source = data if isinstance(data, bytes) else str(data)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def difference(expected: np.ndarray, found: np.ndarray) -> float:
    """Largest absolute difference, equal infinities (masked scores) counting as equal."""
    if expected.shape != found.shape:
        return float("inf")
    same = (expected == found) | (np.isnan(expected) & np.isnan(found))
    gap = np.abs(expected.astype(np.float64) - found.astype(np.float64))
    return float(np.where(same, 0.0, gap).max(initial=0.0))


def paired_outputs(graph: Graph, runner: Any, samples: Any) -> Iterator[tuple[str, np.ndarray, np.ndarray, Any]]:
    """``(output name, PyTorch's value, onnxruntime's value, (batch, steps))`` for every output of ``graph`` on
    each sample shape of ``samples``, ``runner`` an onnxruntime session of the graph."""
    for batch, steps in samples:
        inputs = graph.sample(batch, steps)
        with torch.no_grad():
            expected = graph.module(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        found = runner.run(graph.outputs, {name: value.numpy() for name, value in zip(graph.inputs, inputs)})
        for name, want, got in zip(graph.outputs, expected, found):
            yield name, want.numpy(), got, (batch, steps)


def check(graph: Graph, data: bytes, tolerance: float) -> float:
    """Run ``data`` in onnxruntime on the check samples against ``graph.module``; the largest difference found.
    Raises ``UserError`` when one output differs by more than ``tolerance``."""
    largest = 0.0
    for name, want, got, (batch, steps) in paired_outputs(graph, session(data), CHECK_SAMPLES):
        gap = difference(want, got)
        if not gap <= tolerance:
            raise UserError(f"export check failed: the {graph.name} graph's output {name!r} differs from "
                            f"PyTorch's by {gap:.3g} (> {tolerance:g}) on a batch of {batch} x {steps} steps; "
                            "nothing was written")
        largest = max(largest, gap)
    return largest


def describe(data: bytes) -> dict[str, Any]:
    """Inputs and outputs of a graph: name, element type and shape (names for the dynamic axes)."""
    runner = session(data)

    def entries(values: Any) -> list[dict[str, Any]]:
        return [{"name": v.name, "type": v.type, "shape": list(v.shape)} for v in values]

    return {"inputs": entries(runner.get_inputs()), "outputs": entries(runner.get_outputs())}


def export(model: Any, path: str | Path, *, tolerance: float = 1e-4, opset: int = OPSET,
           quantize: bool = False) -> list[Path]:
    """Export ``model`` (a task model or a ``Forecaster``) to ONNX at ``path`` (``name.onnx``): the graphs and
    ``name.json``. Returns the written paths. Checked in onnxruntime first (see the module docstring).
    ``quantize``: also int8 graphs (``name[.part].int8.onnx``), their outputs' change in the JSON's "int8"."""
    require("onnx", "onnx", why="to export to ONNX")
    model = task_model(model)
    was_training = model.training
    model.eval()
    int8: dict[str, tuple[bytes, dict[str, Any]]] = {}
    try:
        graphs = task_graphs(model)
        built = {graph.name: to_onnx(graph, opset) for graph in graphs}
        largest = max(check(graph, built[graph.name], tolerance) for graph in graphs)
        if quantize:
            int8 = {graph.name: quantized(graph, built[graph.name], CHECK_SAMPLES) for graph in graphs}
    finally:
        model.train(was_training)
    paths = graph_paths(path, list(built))
    document = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "rnnkit_version": __version__, "task": model.task,
        "opset": opset,
        "graphs": {name: {"file": paths[name].name, **describe(data)} for name, data in built.items()},
        **{key: value for key, value in model.to_config().items() if key in ("config", "extra")},
        "check": {"tolerance": tolerance, "max_abs_difference": largest, "samples": [list(s) for s in CHECK_SAMPLES]},
    }
    if int8:
        document["int8"] = {name: {"file": int8_name(paths[name]).name, **report} for name, (_, report) in int8.items()}
    sidecar = sidecar_path(path)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    for name, data in built.items():
        _fs.atomic_write(paths[name], data)
    for name, (data, _) in int8.items():
        _fs.atomic_write(int8_name(paths[name]), data)
    _fs.atomic_write(sidecar, _fs.json_bytes(document))
    return [*paths.values(), *(int8_name(paths[name]) for name in int8), sidecar]
