"""``rnnkit <task> train --nproc N``: the command launches torchrun itself; rank 0 alone writes the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed as dist

SRC = str(Path(__file__).resolve().parents[1] / "src")

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def test_classify_train_nproc_2_writes_the_run_folder_once(tmp_path: Path) -> None:
    rows = ["x,y"] + [f"the {'good' if i % 2 else 'bad'} movie number {i},{'pos' if i % 2 else 'neg'}"
                      for i in range(48)]
    data = tmp_path / "train.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
           "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo"}
    env.pop("RNNKIT_SMOKE", None)
    done = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli.main", "classify", "train", str(data), "--label", "y", "--text", "x",
         "--out", str(out), "--nproc", "2", "--budget", "none", "--epochs", "2", "--batch-size", "8",
         "--hidden-size", "8", "--embedding-dim", "8", "--progress", "none", "--threads", "1"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "model").is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics
    assert len(json.loads((out / "history.json").read_text())) == 2
    assert done.stdout.count(f"wrote {out}") == 1  # rank 0 alone prints the summary
