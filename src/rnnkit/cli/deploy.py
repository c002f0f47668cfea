"""``rnnkit export`` and ``rnnkit serve``: a model folder as ONNX graphs, or behind a JSON HTTP API.

    rnnkit export DIR --format onnx --out model.onnx [--quantize]   graphs + model.json, checked in onnxruntime
    rnnkit serve DIR [--host 127.0.0.1] [--port 8000] [--precision int8]   one endpoint per task; SIGTERM stops
                                                                           gracefully

DIR is a model folder, or a run folder (an --out of a train command) holding one in model/. See the Python API:
``rnnkit.export`` and ``rnnkit.deploy.serve.create_app``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli import common, flags
from rnnkit.deploy.limits import Limits
from rnnkit.errors import UserError
from rnnkit.nn.precision import PRECISIONS


def register(subparsers) -> None:
    export = subparsers.add_parser(
        "export", help="write a model folder as ONNX graphs (state in and out) and a JSON file beside them",
        description="Export a model folder to ONNX: the graphs carry the recurrent state as inputs and outputs "
        "(h0/c0 in, hn/cn out), with dynamic batch and time; FILE.json beside them holds the vocabulary, scaler and "
        "labels. Each graph is run in onnxruntime and must match PyTorch to 1e-4 before anything is written.")
    export.add_argument("model", metavar="DIR", help="model folder (or a run folder holding model/)")
    export.add_argument("--format", choices=["onnx"], default="onnx", help="the format (default: onnx)")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.onnx",
                        help="where the graph goes (seq2seq, captioning: FILE.encoder.onnx and FILE.decoder.onnx)")
    export.add_argument("--quantize", action="store_true", help="also write int8 graphs (FILE.int8.onnx) and "
                        "report how far their outputs move")
    export.add_argument("--force", action="store_true", help="overwrite the files of an earlier export")
    export.set_defaults(func=run_export)

    serve = subparsers.add_parser(
        "serve", help="serve a model folder over HTTP (JSON, one endpoint per task; needs rnnkit[serve])",
        description="Serve a model folder with FastAPI on uvicorn: POST /predict, /recognize, /generate, /translate, "
        "/caption or /forecast (by task), GET /healthz, the OpenAPI schema at /openapi.json. SIGTERM or Ctrl-C: "
        "the requests in flight finish, then the server exits.")
    serve.add_argument("model", metavar="DIR", help="model folder (or a run folder holding model/)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=common.positive_int, default=8000, help="port (default: 8000)")
    serve.add_argument("--threads", type=common.positive_int, default=1, metavar="N",
                       help="CPU threads for PyTorch (default: 1; requests run one at a time)")
    serve.add_argument("--precision", choices=PRECISIONS, default="fp32",
                       help="the recurrent layers' arithmetic: fp32 (default), bf16-mixed, or int8 (8-bit products "
                       "on CPUs with AVX-512 VNNI: LSTM inference about 2.5x torch.nn float32 on one thread; outputs "
                       "move by about 1e-3)")
    flags.add_config_flags(serve, Limits)  # --max-body-bytes, --max-batch, ...: from the Limits dataclass
    serve.set_defaults(func=run_serve)


def run_export(args: argparse.Namespace) -> int:
    from rnnkit.deploy.export import export, sidecar_path
    from rnnkit.train.model_folder import load_model, model_folder_in

    out = args.out
    stem = out.name[:-len(".onnx")] if out.name.endswith(".onnx") else out.name
    present = sorted(str(p) for p in [*out.parent.glob(stem + ".*onnx"), sidecar_path(out)] if p.exists())
    if present and not args.force:
        raise UserError(f"{present[0]} exists; choose another --out, or pass --force to overwrite")
    paths = export(load_model(model_folder_in(args.model)), out, quantize=args.quantize)
    for path in paths:
        print(path)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from rnnkit.deploy.serve import serve

    limits = flags.config_from_args(args, Limits)
    print(f"rnnkit serve: {args.model} on http://{args.host}:{args.port} (docs: /docs; stop: Ctrl-C)", flush=True)
    serve(args.model, args.host, args.port, limits=limits, precision=args.precision)
    return 0
