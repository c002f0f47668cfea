"""Load on ``rnnkit serve``: N requests at C concurrent against uvicorn on loopback; latency p50 / p99 and errors.

    PYTHONPATH=src .venv/bin/python bench/bench_serve.py [--requests 2000] [--concurrency 16] [MODEL_DIR]

Without a model folder, a sequence classifier (LSTM, 64 units, 3 features; untrained: the work is the same) is
saved to a temporary folder. The server runs in its own process (``rnnkit.deploy.serve.serve``, one model call at
a time); each request carries one sequence of 20 steps to POST /predict. Not a test: numbers move with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def demo_model(folder: Path) -> Path:
    import rnnkit
    from rnnkit.nn import RecurrentConfig
    from rnnkit.tasks import EncoderConfig, SequenceClassifier, SequenceClassifierConfig

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(20, 3)).astype(np.float32) for _ in range(32)]
    config = SequenceClassifierConfig(EncoderConfig(rnn=RecurrentConfig(hidden_size=64)))
    return rnnkit.save(SequenceClassifier.for_data(X, [i % 4 for i in range(32)], config), folder / "model")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, requests: int, concurrency: int) -> tuple[list[float], int]:
    rng = np.random.default_rng(1)
    bodies = [{"inputs": [rng.normal(size=(20, 3)).round(4).tolist()]} for _ in range(64)]
    latencies: list[float] = []
    errors = 0
    queue = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in queue:
            start = time.perf_counter()
            try:
                response = await client.post("/predict", json=bodies[i % len(bodies)])
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.model) if args.model else demo_model(Path(scratch))
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
        code = f"from rnnkit.deploy.serve import serve; serve({str(folder)!r}, port={port})"
        server = subprocess.Popen([sys.executable, "-c", code], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start")
                    time.sleep(0.2)
            start = time.perf_counter()
            latencies, errors = asyncio.run(load(url, args.requests, args.concurrency))
            seconds = time.perf_counter() - start
        finally:
            server.send_signal(signal.SIGTERM)
            status = server.wait(30)
    ms = np.asarray(latencies) * 1000
    print(f"| requests | concurrent | errors | p50 ms | p99 ms | max ms | requests/s | server exit |")
    print(f"|---|---|---|---|---|---|---|---|")
    print(f"| {len(ms)} | {args.concurrency} | {errors} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} "
          f"| {ms.max():.1f} | {len(ms) / seconds:.0f} | {status} |")


if __name__ == "__main__":
    main()
