"""``rnnkit serve``: a real uvicorn on 127.0.0.1 (a free port) and a real HTTP client; every task's endpoint,
validation answered 4xx naming the field, the limits, concurrent requests, and a graceful stop on SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

import rnnkit  # noqa: E402
from captioning_data import make_shapes  # noqa: E402
from deploy_models import EVERY_TASK, numeric  # noqa: E402
from rnnkit.deploy.limits import Limits  # noqa: E402
from rnnkit.deploy.serve import create_app  # noqa: E402
from rnnkit.nn.extension import compiled_kernels  # noqa: E402
from rnnkit.nn.precision import int8_unsupported  # noqa: E402

LIMITS = Limits(max_body_bytes=20_000, max_batch=8, max_steps=50, max_generate=40, max_beam=4)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(folder, limits=LIMITS, precision="fp32"):
    """uvicorn serving ``folder`` in a thread of this process, on loopback; stopped on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(folder, limits, precision), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    paths = {}
    for name in ("classifier", "regressor", "tagger", "recognizer", "language_model", "seq2seq", "captioner"):
        paths[name] = rnnkit.save(EVERY_TASK[name]().eval(), root / name)
    months = pd.date_range("2000-01", periods=48, freq="MS")
    table = pd.DataFrame({"month": months, "y": 100 + 10 * np.sin(np.arange(48) / 2) + np.arange(48)})
    forecaster = rnnkit.Forecaster(target="y", time="month", horizon=3, model={"rnn": {"hidden_size": 4}},
                                   train={"max_steps": 2})
    paths["forecaster"] = forecaster.fit(table).save(root / "forecaster")
    paths["table"] = table
    return paths


def rows(count=2, seed=0):
    return [x.tolist() for x in numeric(count, seed=seed)]


@pytest.mark.skipif(int8_unsupported() is not None or "int8" not in compiled_kernels(),
                    reason=str(int8_unsupported() or "rnnkit's extension has no int8 kernel here"))
def test_serve_runs_the_model_at_int8_when_asked(folders):
    expected = rnnkit.load(folders["classifier"]).predict_proba(numeric(2))
    with running(folders["classifier"], precision="int8") as client:
        found = np.array(client.post("/predict", json={"inputs": rows()}).json()["probabilities"])
    assert np.abs(found - expected).max() < 2e-2 and not np.allclose(found, expected, atol=1e-6, rtol=0)


def test_serve_refuses_int8_where_the_cpu_lacks_it(folders, monkeypatch):
    monkeypatch.setattr("torch.cpu.get_capabilities", lambda: {"avx512_vnni": False})
    with pytest.raises(rnnkit.errors.UserError, match="^--precision int8: precision='int8' is refused: this CPU"):
        create_app(folders["classifier"], LIMITS, "int8")


def test_every_task_answers_its_endpoint(folders):
    model = rnnkit.load(folders["classifier"])
    with running(folders["classifier"]) as client:
        assert client.get("/healthz").json()["task"] == "sequence-classification"
        answer = client.post("/predict", json={"inputs": rows()}).json()
        assert answer["predictions"] == model.predict(numeric(2)) and answer["labels"] == [0, 1, 2]
        assert np.allclose(answer["probabilities"], model.predict_proba(numeric(2)), atol=1e-5)
        schema = client.get("/openapi.json").json()
        assert "/predict" in schema["paths"] and "SequencesRequest" in json.dumps(schema)
    with running(folders["regressor"]) as client:
        found = client.post("/predict", json={"inputs": rows()}).json()["predictions"]
        assert np.allclose(found, rnnkit.load(folders["regressor"]).predict(numeric(2)), atol=1e-4)
    with running(folders["tagger"]) as client:
        tags = client.post("/predict", json={"inputs": rows()}).json()["tags"]
        assert tags == rnnkit.load(folders["tagger"]).predict(numeric(2))
    with running(folders["recognizer"]) as client:
        answer = client.post("/recognize", json={"inputs": rows(), "beam": 2}).json()
        assert answer["transcripts"] == rnnkit.load(folders["recognizer"]).recognize(numeric(2), beam=2)
    with running(folders["seq2seq"]) as client:
        answer = client.post("/translate", json={"inputs": ["cat", "dog"]}).json()
        outputs, details = rnnkit.load(folders["seq2seq"]).translate(["cat", "dog"], return_details=True)
        assert answer["outputs"] == outputs and answer["capped"] == [bool(d["capped"]) for d in details]
    images, _ = make_shapes(2, seed=3)
    with running(folders["captioner"]) as client:
        answer = client.post("/caption", json={"images": images.tolist()}).json()
        captions, details = rnnkit.load(folders["captioner"]).caption(images, return_details=True)
        assert answer["captions"] == captions and answer["capped"] == [bool(d["capped"]) for d in details]
    with running(folders["forecaster"]) as client:
        forecast = client.post("/forecast", json={"horizon": 2}).json()["forecast"]
        assert [row["time"][:10] for row in forecast] == ["2004-01-01", "2004-02-01"]
        expected = rnnkit.Forecaster.load(folders["forecaster"]).predict(horizon=2)["forecast"]
        assert np.allclose([row["forecast"] for row in forecast], expected)
        table = folders["table"].iloc[:40].assign(month=lambda t: t["month"].astype(str)).to_dict("records")
        assert client.post("/forecast", json={"data": table}).json()["forecast"][0]["time"][:10] == "2003-05-01"


def test_generation_answers_whole_or_streamed_token_by_token(folders):
    model = rnnkit.load(folders["language_model"])
    expected = model.generate("the ", 20, seed=3)[0]
    with running(folders["language_model"]) as client:
        assert client.post("/generate", json={"prompt": "the ", "length": 20, "seed": 3}).json() == {"text": expected}
        with client.stream("POST", "/generate", json={"prompt": "the ", "length": 20, "seed": 3,
                                                      "stream": True}) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            pieces = [json.loads(line)["text"] for line in response.iter_lines() if line]
        assert len(pieces) == 20 and "".join(pieces) == expected


@pytest.mark.parametrize("body, status, field", [
    ('{"inputs": [', 422, "body"),  # malformed JSON
    ({"input": [[1.0, 2.0, 3.0]]}, 422, "inputs"),  # missing field (and an unknown one)
    ({"inputs": []}, 422, "inputs"),
    ({"inputs": [[[1.0, 2.0], [3.0]]]}, 422, "inputs"),  # ragged rows
    ({"inputs": [[]]}, 422, "inputs"),
    ({"inputs": [[[0.0] * 3] * 51]}, 422, "inputs"),  # over max_steps
    ({"inputs": [[[0.0] * 3]] * 9}, 422, "inputs"),  # over max_batch
    ({"inputs": [[[1.0, 2.0]]]}, 400, "features"),  # the model's own refusal: 2 features, not 3
    ({"inputs": ["a text"]}, 400, "text"),
    ({"inputs": [[[0.0, 1.0, 2.0]]], "extra": 1}, 422, "extra"),
], ids=["malformed", "missing", "empty-list", "ragged", "empty-sequence", "too-long", "too-many", "features",
        "text", "unknown-field"])
def test_bad_requests_are_answered_4xx_naming_the_problem(folders, body, status, field):
    with running(folders["tagger"]) as client:
        if isinstance(body, str):
            response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        else:
            response = client.post("/predict", json=body)
    assert response.status_code == status, response.text
    assert field in response.text


def test_limits_on_body_generation_and_values(folders):
    with running(folders["language_model"]) as client:
        response = client.post("/generate", json={"prompt": "x" * 30_000})
        assert response.status_code == 413 and "20000 bytes" in response.text
        response = client.post("/generate", json={"length": 41})
        assert response.status_code == 422 and "length" in response.text
        assert client.post("/generate", json={"temperature": -1}).status_code == 422
        response = client.post("/generate", content=b'{"temperature": NaN}',
                               headers={"content-type": "application/json"})
        assert response.status_code == 422 and "temperature" in response.text
        chunks = (b'{"prompt": "' + b"y" * 1000 + b'"}' for _ in range(1)), (b" " * 1000 for _ in range(25))
        response = client.post("/generate", content=(c for part in chunks for c in part))  # no Content-Length
        assert response.status_code == 413


def test_concurrent_requests_are_served_one_at_a_time_correctly(folders):
    """Eight clients at once: every answer is its own request's (the model runs on one worker thread)."""
    model = rnnkit.load(folders["classifier"])
    inputs = [numeric(1, seed=seed)[0] for seed in range(16)]
    expected = [model.predict_proba([x])[0] for x in inputs]
    with running(folders["classifier"]) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda x: client.post("/predict", json={"inputs": [x.tolist()]}), inputs * 3))
    assert all(a.status_code == 200 for a in answers)
    for answer, want in zip(answers, expected * 3):
        assert np.allclose(answer.json()["probabilities"][0], want, atol=1e-5)


def test_rnnkit_serve_on_sigterm_lets_the_request_in_flight_finish_then_exits_0(folders):
    port = free_port()
    command = [sys.executable, "-m", "rnnkit.cli.main", "serve", str(folders["language_model"]), "--port", str(port),
               "--max-generate", "400"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                    time.sleep(0.1)
            with client.stream("POST", "/generate", json={"length": 400, "seed": 0, "stream": True}) as response:
                lines = response.iter_lines()
                next(lines)  # the generation is under way
                server.send_signal(signal.SIGTERM)
                after = sum(1 for line in lines if line)
        assert after == 399  # every token, most of them after the signal
        assert server.wait(15) == 0
        assert f"on http://127.0.0.1:{port}" in server.stdout.read().decode()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
        server.stderr.close()


@pytest.mark.parametrize("task", ["tagger", "recognizer", "language_model", "seq2seq", "captioner", "forecaster"])
def test_schemathesis_finds_no_server_error(folders, task):
    """Requests generated from each endpoint's OpenAPI schema, valid and not: none answered 5xx (15 per endpoint
    here; a run of 400 per endpoint, 3,200 in all over the eight tasks, found none either)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    with running(folders[task]) as client:
        url = str(client.base_url)
        schema = schemathesis.openapi.from_url(url + "/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def no_server_error(case):
                response = case.call(base_url=url, timeout=10)
                assert response.status_code < 500, (case.as_curl_command(), response.text)

            no_server_error()
