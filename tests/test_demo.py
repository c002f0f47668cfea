"""The memory demo, small: the LSTM learns a long-lag problem, and the CLI writes its run folder."""

import json
import subprocess
import sys
from dataclasses import asdict

import pytest
import torch

import rnnkit
from rnnkit.data.long_lag import LongLagProblem
from rnnkit.demo.memory import MemoryDemoConfig, matched_hidden_size, parameter_count, run_job
from rnnkit.nn import count_parameters, make_layer


def test_parameter_counts_are_matched_and_exact():
    for cell, input_size, output_size in [("rnn", 2, 1), ("gru", 8, 4), ("lstm", 8, 4), ("mingru", 2, 1),
                                          ("minlstm", 8, 4)]:
        hidden = matched_hidden_size(cell, input_size, output_size, 4641)
        layers = 3 if cell.startswith("min") else 1  # the min cells: three layers, the first from the input
        stack = [make_layer(cell, input_size if k == 0 else hidden, hidden) for k in range(layers)]
        exact = sum(count_parameters(layer) for layer in stack) + (hidden + 1) * output_size
        assert exact == parameter_count(cell, input_size, hidden, output_size)
        assert abs(exact - 4641) / 4641 < 0.03


@pytest.mark.trained
def test_lstm_solves_temporal_order_at_lag_20_and_its_model_reloads(tmp_path):
    config = MemoryDemoConfig(max_steps=400, validation_size=1024, test_size=1024, gradient_batch=16)
    result = run_job({"config": asdict(config), "problem": "temporal-order", "lag": 20, "cell": "lstm",
                      "index": 0, "models_dir": str(tmp_path)})
    assert result["steps_to_solve"] is not None and result["steps_to_solve"] <= 400  # 99.5% on validation
    # Training stops as soon as validation reaches 99.5%, so the test accuracy lands anywhere in 0.988-1.0 (seen
    # across kernel versions and validation sizes): "solved" (>= 0.99) sits inside that noise; the model has
    # learned the problem when it scores well above chance (1/4) and near the line.
    assert result["test_accuracy"] >= 0.975
    assert result["solved"] == (result["test_accuracy"] >= 0.99)
    assert len(result["gradient_norms_init"]) >= 20 and all(v >= 0 for v in result["gradient_norms_trained"][:20])

    model = rnnkit.load(tmp_path / "temporal-order-lstm-20")
    x, lengths, labels = LongLagProblem("temporal_order_6a", 20).sample(256, torch.Generator().manual_seed(5))
    with torch.no_grad():
        accuracy = (model(x, lengths).argmax(-1) == labels).float().mean()
    assert accuracy >= 0.98


def test_cli_demo_writes_metrics_report_and_models(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "rnnkit.cli.main", "demo", "--out", str(out), "--lags", "10",
               "--problems", "temporal-order", "--cells", "rnn", "lstm", "mingru", "--max-steps", "100",
               "--workers", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "temporal-order" in done.stdout and "steps to solve" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["solved"]["temporal-order"]) == {"rnn", "lstm", "mingru"}
    mingru = next(r for r in metrics["results"] if r["cell"] == "mingru")
    assert mingru["parameters"] == pytest.approx(next(r["parameters"] for r in metrics["results"]
                                                      if r["cell"] == "lstm"), rel=0.03)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "http://" not in html  # learning curves, gradients
    assert (out / "models" / "temporal-order-lstm-10" / "model.safetensors").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=60)  # never overwrites a run
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr


def test_cli_demo_rejects_lags_below_ten(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "demo", "--out", str(tmp_path / "x"),
                           "--lags", "5"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "at least 10" in done.stderr and "Traceback" not in done.stderr
