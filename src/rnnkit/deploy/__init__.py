"""Ways out of Python training code: ONNX graphs that carry the recurrent state, stateful streams, an HTTP server.

    rnnkit.export(model, "deploy/model.onnx")      # graphs + JSON (vocabulary, scaler, labels), checked in onnxruntime
    stream = model.streamer()                       # push(x_t) -> y_t, one step or a chunk; reset(); state
    rnnkit serve runs/model                         # FastAPI app: rnnkit.deploy.serve.create_app(model_dir)

Modules: ``graphs`` (what each task exports), ``export`` (writing and checking), ``fast_step`` (the NumPy batch-1
step), ``stream`` (stateful inference), ``serve`` (the HTTP app) with its request ``bodies`` and ``limits``,
``quantize`` (int8 graphs).
"""

from rnnkit.deploy.export import export

__all__ = ["export"]
