"""``rnnkit serve DIR``: a model folder behind a JSON HTTP API (FastAPI on uvicorn; ``pip install 'rnnkit[serve]'``).

    app = create_app("runs/tagger/model")         # any ASGI server; serve(DIR, host, port) runs uvicorn

Endpoints by task, besides ``GET /healthz`` (task, version) and the OpenAPI schema (``/openapi.json``, ``/docs``):

    classification, regression, tagging    POST /predict     {"inputs": [text | [x, ...] | [[x, ...], ...]]}
    recognition                            POST /recognize   {"inputs": [...], "beam": 1}
    language model                         POST /generate    {"prompt", "length", "temperature", "top_k", "top_p",
                                                              "seed", "stop", "stream": true -> NDJSON per token}
    seq2seq                                POST /translate   {"inputs": ["..."], "beam": 1}
    captioning                             POST /caption     {"images": [(H, W, 3) 0-255], "beam": 1}
    forecasting                            POST /forecast    {"horizon": n, "data": [rows]} (no data: the saved tail)

Answers: 422 for a body that does not validate (``detail`` names the field: ``["body", "inputs", 2]``), 400 for a
request the model refuses (its ``UserError``: wrong feature count, unknown label), 413 for a body over the limit.
The model runs one request at a time, in arrival order, on one worker thread (PyTorch modules are not safe to call
from several threads at once, and a small recurrent model is fastest on one request at a time); a streamed
generation takes one turn per token, so other requests are answered between its tokens. Parsing and validation
run on the event loop meanwhile. uvicorn stops gracefully on SIGTERM: it stops accepting, lets the
requests in flight finish (at most ``graceful_seconds``), then exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, NamedTuple

from rnnkit._optional import require
from rnnkit._version import __version__
from rnnkit.deploy import limits as checks
from rnnkit.deploy.limits import Limits
from rnnkit.errors import UserError

fastapi = require("fastapi", "serve", why="for rnnkit serve")  # and pydantic, which the request bodies are
from fastapi.responses import StreamingResponse  # noqa: E402

from rnnkit.deploy import bodies  # noqa: E402


def _json_rows(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes is answered 413, by its Content-Length or, without one, once
    that many bytes have arrived. The body is read here in full (it is small) and handed on as one message."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._refuse(send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay(message, receive), send)  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await self._refuse(send)
        await self.app(scope, _replay({"type": "http.request", "body": body, "more_body": False}, receive), send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"detail": f"request body over {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _replay(first: Any, receive: Any) -> Any:
    """``receive`` that answers ``first`` once, then waits on the real one (for the disconnect)."""
    pending = [first]

    async def replayed() -> Any:
        return pending.pop() if pending else await receive()

    return replayed


def create_app(model_dir: str | Path, limits: Limits = Limits(), precision: str = "fp32") -> Any:
    """The FastAPI app serving the model folder ``model_dir`` (or a run folder holding ``model/``), its recurrent
    layers at ``precision`` (``"int8"``: 8-bit products, see ``rnnkit.nn.precision``)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from rnnkit.nn.precision import set_precision
    from rnnkit.train.model_folder import load_model, model_folder_in

    folder = model_folder_in(model_dir)
    model = load_model(folder)
    if precision != "fp32":
        try:
            set_precision(model, precision)
        except ValueError as error:
            raise UserError(f"--precision {precision}: {error}") from None
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit-model")

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        worker.shutdown(wait=True)

    app = fastapi.FastAPI(title=f"rnnkit {model.task}", version=__version__, lifespan=lifespan,
                          description=f"The {model.task} model in {folder}, served by rnnkit {__version__}.")

    @app.exception_handler(checks.Invalid)
    async def invalid(request: Any, error: checks.Invalid) -> Any:
        return JSONResponse({"detail": [{"loc": error.location, "msg": error.message, "type": "value_error"}]}, 422)

    @app.exception_handler(UserError)
    async def refused(request: Any, error: UserError) -> Any:
        return JSONResponse({"detail": str(error)}, 400)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Any, error: RequestValidationError) -> Any:
        # FastAPI's own answer, without echoing the (possibly large) input back
        detail = [{key: value for key, value in e.items() if key in ("loc", "msg", "type")} for e in error.errors()]
        return JSONResponse({"detail": detail}, 422)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "task": model.task, "rnnkit_version": __version__}

    async def run(call: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(worker, call)

    ROUTES[model.task](Served(app, model, folder, limits, run))
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    return app


# --- the task's endpoints ----------------------------------------------------------------------------------

class Served(NamedTuple):
    """What a task's endpoints are added with: the app, the model and its folder, the limits, and
    ``await run(call)``, which runs ``call()`` on the model's one worker thread (requests in arrival order)."""

    app: Any
    model: Any
    folder: Path
    limits: Limits
    run: Callable[[Callable[[], Any]], Awaitable[Any]]


def _predict(served: Served) -> None:
    model, limits, run = served.model, served.limits, served.run

    @served.app.post("/predict")
    async def predict(body: bodies.SequencesRequest) -> dict[str, Any]:
        inputs = checks.sequences(body.inputs, limits)
        if model.task == "sequence-classification":
            probabilities = await run(lambda: model.predict_proba(inputs))
            return {"labels": model.labels, "predictions": [model.labels[i] for i in probabilities.argmax(1)],
                    "probabilities": probabilities.round(6).tolist()}
        if model.task == "sequence-regression":
            return {"predictions": (await run(lambda: model.predict(inputs))).tolist()}
        return {"tags": await run(lambda: model.predict(inputs))}


def _recognize(served: Served) -> None:
    model, limits, run = served.model, served.limits, served.run

    @served.app.post("/recognize")
    async def recognize(body: bodies.RecognizeRequest) -> dict[str, Any]:
        inputs = checks.sequences(body.inputs, limits)
        checks.check_beam(body.beam, limits)
        return {"transcripts": await run(lambda: model.recognize(inputs, beam=body.beam))}


def _generate(served: Served) -> None:
    model, limits, run = served.model, served.limits, served.run

    @served.app.post("/generate")
    async def generate(body: bodies.GenerateRequest) -> Any:
        if body.length > limits.max_generate:
            raise checks.Invalid(["body", "length"], f"must be <= {limits.max_generate}, got {body.length}")
        if len(body.prompt) > limits.max_steps:
            raise checks.Invalid(["body", "prompt"], f"{len(body.prompt)} characters; at most {limits.max_steps}")
        options = {"temperature": body.temperature, "top_k": body.top_k, "top_p": body.top_p, "seed": body.seed,
                   "stop": body.stop}
        pieces = model.stream(body.prompt, body.length, **options)  # a generator: nothing runs yet
        first = await run(lambda: next(pieces, None))  # the prompt is read and checked before the answer starts
        if not body.stream:
            rest = await run(lambda: "".join(p[0] for p in pieces))
            return {"text": (first[0] if first else "") + rest}

        async def lines() -> AsyncIterator[bytes]:
            piece = first
            while piece is not None:
                yield (json.dumps({"text": piece[0]}) + "\n").encode()
                piece = await run(lambda: next(pieces, None))  # one token per turn: other requests go between

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def _translate(served: Served) -> None:
    model, limits, run = served.model, served.limits, served.run

    @served.app.post("/translate")
    async def translate(body: bodies.TranslateRequest) -> dict[str, Any]:
        texts = checks.sequences(body.inputs, limits)
        checks.check_beam(body.beam, limits)
        outputs, details = await run(lambda: model.translate(texts, beam=body.beam, return_details=True))
        return {"outputs": outputs, "capped": _capped(details)}


def _caption(served: Served) -> None:
    model, limits, run = served.model, served.limits, served.run

    @served.app.post("/caption")
    async def caption(body: bodies.CaptionRequest) -> dict[str, Any]:
        images = checks.images(body.images, limits)
        checks.check_beam(body.beam, limits)
        captions, details = await run(lambda: model.caption(images, beam=body.beam, return_details=True))
        return {"captions": captions, "capped": _capped(details)}


def _capped(details: list[dict[str, Any]]) -> list[bool]:
    """Per output, whether decoding stopped at the length cap (a server answers it; it does not warn)."""
    return [bool(detail["capped"]) for detail in details]


def _forecast(served: Served) -> None:
    from rnnkit.data.timeseries import pandas
    from rnnkit.pipelines.forecaster import Forecaster

    forecaster, limits = Forecaster.load(served.folder), served.limits
    horizon = forecaster.config.horizon

    @served.app.post("/forecast")
    async def forecast(body: bodies.ForecastRequest) -> dict[str, Any]:
        if body.horizon is not None and body.horizon > horizon:
            raise checks.Invalid(["body", "horizon"], f"must be <= the model's horizon {horizon}")
        data = None
        if body.data is not None:
            checks.check_count("data", len(body.data), limits.max_steps)
            data = pandas().DataFrame(body.data)
        table = await served.run(lambda: forecaster.predict(data, horizon=body.horizon))
        return {"forecast": _json_rows(table)}


ROUTES = {"sequence-classification": _predict, "sequence-regression": _predict, "sequence-tagging": _predict,
          "sequence-recognition": _recognize, "language-model": _generate, "seq2seq": _translate,
          "captioning": _caption, "forecasting": _forecast}


def serve(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, *, limits: Limits = Limits(),
          precision: str = "fp32", graceful_seconds: float = 10.0) -> None:
    """Run the app on uvicorn until SIGINT / SIGTERM (graceful: requests in flight finish)."""
    uvicorn = require("uvicorn", "serve", why="for rnnkit serve")
    if threading.current_thread() is threading.main_thread():
        # uvicorn stops gracefully, restores this handler and raises the signal again: a requested stop exits 0
        signal.signal(signal.SIGTERM, _requested_stop)
    uvicorn.run(create_app(model_dir, limits, precision), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=graceful_seconds)


def _requested_stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)
