"""Batch-1 step latency of the routes a stream could take, as ratios to the bare GEMV floor (one run, 1 thread).

    PYTHONPATH=src .venv/bin/python bench/bench_stream.py [--sizes 128 256] [--steps 2000]

One LSTM step, I=32, batch 1: ``RecurrentLayer.step`` under ``inference_mode``; a lean PyTorch step (weights
transposed once, ``addmm`` and in-place gates, no autograd); ``torch.nn.LSTMCell``; onnxruntime running the
exported one-step graph (state in, state out); a hand-written NumPy step; rnnkit's NumPy route
(``rnnkit.deploy.fast_step``); a whole ``push`` of a tagger stream (scaler, step, head: ``model.streamer()``); and
the floor, NumPy's GEMV of [x, h] (1, I+H) by (I+H, 4H). Median over repeats of ``--steps`` steps each. Then
sampling throughput at batch 1: ``model.generate`` against the stream's ``generate``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import warnings

import numpy as np
import torch

from rnnkit.deploy.fast_step import NumpyLayer, one_blas_thread
from rnnkit.nn import LSTM


def per_step(step, steps: int, repeats: int = 5) -> float:
    """Median microseconds per call of ``step()``."""
    for _ in range(200):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(times)


def routes(hidden: int, inputs: int = 32):
    torch.manual_seed(0)
    layer = LSTM(inputs, hidden).eval()
    x = torch.randn(1, inputs)
    state = (torch.zeros(1, 1, hidden), torch.zeros(1, 1, hidden))
    found = {}

    def rnnkit_step():
        with torch.inference_mode():
            layer.step(x, state)

    found["RecurrentLayer.step"] = rnnkit_step

    w = torch.cat([layer.weight_ih_l0, layer.weight_hh_l0], 1).t().contiguous().detach()  # (I+H, 4H)
    b = (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    xh, h, c = torch.zeros(1, inputs + hidden), torch.zeros(1, hidden), torch.zeros(1, hidden)

    def lean_torch():
        with torch.inference_mode():
            xh[:, :inputs].copy_(x)
            xh[:, inputs:].copy_(h)
            gates = torch.addmm(b, xh, w)
            i, f, g, o = gates.chunk(4, 1)
            c.mul_(f.sigmoid_()).add_(i.sigmoid_() * g.tanh_())
            torch.mul(o.sigmoid_(), c.tanh(), out=h)

    found["lean PyTorch (addmm, no autograd)"] = lean_torch

    cell = torch.nn.LSTMCell(inputs, hidden)
    hc = (torch.zeros(1, hidden), torch.zeros(1, hidden))

    def lstm_cell():
        with torch.inference_mode():
            cell(x, hc)

    found["nn.LSTMCell"] = lstm_cell
    found["onnxruntime session.run"] = onnx_step(layer, x, state)

    wn, bn = w.numpy(), b.numpy()
    xn, hn, cn = x.numpy(), np.zeros((1, hidden), np.float32), np.zeros((1, hidden), np.float32)

    def numpy_step():
        gates = np.concatenate([xn, hn], 1) @ wn + bn
        s = 1.0 / (1.0 + np.exp(-gates))
        c_new = s[:, hidden:2 * hidden] * cn + s[:, :hidden] * np.tanh(gates[:, 2 * hidden:3 * hidden])
        return s[:, 3 * hidden:] * np.tanh(c_new), c_new

    found["NumPy step (hand-written)"] = numpy_step
    fast = NumpyLayer(layer)
    numpy_state = fast.zero_state()
    found["rnnkit NumPy route (fast_step)"] = lambda: fast.step(xn, numpy_state)

    def fast_one_thread():
        with one_blas_thread():
            fast.step(xn, numpy_state)

    found["rnnkit NumPy route, BLAS held to 1 thread"] = fast_one_thread
    found["tagger stream push (scaler, step, head)"] = tagger_push(inputs, hidden)
    xh_n = np.concatenate([xn, hn], 1)
    found["GEMV floor (1, I+H) x (I+H, 4H)"] = lambda: xh_n @ wn
    return found


def onnx_step(layer, x, state):
    import onnxruntime

    class Step(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, h0, c0):
            y, (h, c) = self.layer(x, (h0, c0))
            return y, h, c

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Step(), (x[:, None], *state), buffer, dynamo=False, input_names=["x", "h0", "c0"])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"x": x[:, None].numpy(), "h0": state[0].numpy(), "c0": state[1].numpy()}
    return lambda: session.run(None, feed)


def tagger_push(inputs: int, hidden: int):
    from rnnkit.nn import RecurrentConfig
    from rnnkit.tasks import EncoderConfig, SequenceTagger, SequenceTaggerConfig

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(20, inputs)).astype(np.float32) for _ in range(4)]
    y = [rng.integers(0, 5, 20).tolist() for _ in X]
    config = SequenceTaggerConfig(EncoderConfig(rnn=RecurrentConfig(hidden_size=hidden)))
    stream = SequenceTagger.for_data(X, y, config).eval().streamer()
    row = X[0][0]
    return lambda: stream.push(row)


def generation(length: int = 300) -> None:
    """Sampling at batch 1 from a language model of the default size (2 x 256 LSTM): ``model.generate`` (PyTorch,
    ``layer.step``) against the stream's ``generate`` (NumPy steps), tokens per second, best of 3."""
    from rnnkit.data.text_corpus import corpus_tokenizer
    from rnnkit.tasks import LanguageModel

    text = "".join(chr(c) for c in range(32, 127)) * 4
    model = LanguageModel.for_tokenizer(corpus_tokenizer(text)).eval()

    def torch_route():
        model.generate("", length, seed=0)

    def stream_route():
        stream = model.streamer()
        for _ in stream.generate(stream.push(model.encode("\n").numpy())[-1], length, seed=0):
            pass

    print(f"\n| generate, batch 1, {length} tokens, 2 x 256 LSTM | tokens/s | speed-up |\n|---|---|---|")
    rates = {}
    for name, run in (("model.generate (PyTorch layer.step)", torch_route), ("stream.generate (NumPy)", stream_route)):
        run()
        best = min(timed(run) for _ in range(3))
        rates[name] = length / best
        print(f"| {name} | {rates[name]:.0f} | {rates[name] / next(iter(rates.values())):.2f} |")


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = {}
    for hidden in args.sizes:
        table[hidden] = {name: per_step(step, args.steps) for name, step in routes(hidden).items()}
    names = list(next(iter(table.values())))
    floor = {hidden: table[hidden][names[-1]] for hidden in table}
    numpy = {hidden: table[hidden]["NumPy step (hand-written)"] for hidden in table}
    print("| route | " + " | ".join(f"H={h} us | x floor | x NumPy step" for h in table) + " |")
    print("|---|" + "---|---|---|" * len(table))
    for name in names:
        cells = [f"{table[h][name]:.1f} | {table[h][name] / floor[h]:.2f} | {table[h][name] / numpy[h]:.2f}"
                 for h in table]
        print(f"| {name} | " + " | ".join(cells) + " |")
    generation()


if __name__ == "__main__":
    main()
