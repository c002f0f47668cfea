"""Checkpoints: kill-and-resume gives exactly the uninterrupted run; damaged checkpoints fall back loudly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch

from rnnkit.errors import ModelFileError, UserError
from rnnkit.train import (Callback, TrainConfig, Trainer, average_checkpoints, checkpoint_folders, checkpoint_step,
                          latest_checkpoint, read_checkpoint, trailing_averages)
from rnnkit.train.checkpoint import write_checkpoint
from rnnkit.train.seeding import capture_rng, restore_rng
from rnnkit.train.tensor_io import optimizer_from_flat, optimizer_to_flat

SCRIPT = Path(__file__).with_name("_resume_script.py")


def _run_script(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *args], capture_output=True, text=True, timeout=120)


def _losses(path: Path) -> dict[tuple[int, int], tuple[int, str]]:
    """``(epoch, batch) -> (step, loss.hex())``; a batch redone after a resume must repeat its loss exactly."""
    losses: dict[tuple[int, int], tuple[int, str]] = {}
    for line in path.read_text().splitlines():
        epoch, batch, step, loss = line.split()
        key = (int(epoch), int(batch))
        assert losses.setdefault(key, (int(step), loss)) == (int(step), loss), f"batch {key} differs when redone"
    return losses


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    full, killed = tmp_path / "full", tmp_path / "killed"
    full.mkdir()
    killed.mkdir()
    # 6 steps per epoch, checkpoints every 4 steps and at epoch ends: killed after step 10 (epoch 2, mid-epoch),
    # the latest checkpoint is step 8, so steps 9 and 10 are computed twice.
    crash = _run_script(killed, "--kill-at-step", "10")
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert [path.name for path in checkpoint_folders(killed / "ckpt")] == ["ckpt-00000006", "ckpt-00000008"]
    assert not (killed / "final.safetensors").exists()
    resumed = _run_script(killed, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = _run_script(full)
    assert reference.returncode == 0, reference.stderr

    expected = safetensors.torch.load_file(str(full / "final.safetensors"))
    actual = safetensors.torch.load_file(str(killed / "final.safetensors"))
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name
    killed_losses = _losses(killed / "losses.txt")  # also checks that redone batches repeat their losses
    assert killed_losses == _losses(full / "losses.txt")
    redone = len((killed / "losses.txt").read_text().splitlines()) - len(killed_losses)
    assert redone == 4, "the resumed run redoes the 4 batches (steps 9 and 10) after the step-8 checkpoint"
    result, reference_result = (json.loads((path / "result.json").read_text()) for path in (killed, full))
    assert result.pop("resumed") and not reference_result.pop("resumed")
    assert result == reference_result  # history (train_loss, val metrics, lr), best metric and epoch: exact
    log = [json.loads(line) for line in (killed / "log.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in log] == [1, 2, 3]  # epochs redone after the crash are not logged twice


class _Data(torch.utils.data.Dataset):
    def __init__(self, count: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(count, 5, 2, generator=generator)
        self.y = self.x.mean(dim=(1, 2))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


class _GRU(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(2, 6, batch_first=True)
        self.drop = torch.nn.Dropout(0.2)
        self.head = torch.nn.Linear(6, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        output, _ = self.gru(x)  # (B, T, 6)
        return torch.nn.functional.mse_loss(self.head(self.drop(output[:, -1])).squeeze(-1), y)


class _Crash(Callback):
    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_batch_end(self, trainer: Trainer) -> None:
        if trainer.step == self.at_step:
            raise KeyboardInterrupt  # like Ctrl-C: not an error class the trainer could swallow


def _config(directory: Path, **overrides) -> TrainConfig:
    values = dict(max_epochs=3, batch_size=4, lr=0.02, checkpoint_dir=str(directory), checkpoint_every_steps=2,
                  keep_last=3, progress="none", seed=3, schedule="plateau", plateau_patience=1)
    values.update(overrides)
    return TrainConfig(**values)


def _train(directory: Path, *, crash_at: int | None = None, resume: bool = False, **overrides):
    torch.manual_seed(0)
    model = _GRU()
    trainer = Trainer(model, _config(directory, **overrides), callbacks=[_Crash(crash_at)] if crash_at else [])
    result = trainer.fit(_Data(18, 1), _Data(6, 2), resume=resume)
    return model, result


def _assert_same(first: torch.nn.Module, second: torch.nn.Module) -> None:
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def _strip_times(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k not in ("seconds", "sequences_per_s")} for record in history]


def test_in_process_crash_and_resume_is_exact(tmp_path: Path) -> None:
    reference, reference_result = _train(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "b", crash_at=7)  # 5 steps per epoch: mid-epoch 2, latest checkpoint at step 6
    model, result = _train(tmp_path / "b", resume=True)
    _assert_same(reference, model)
    assert _strip_times(result.history) == _strip_times(reference_result.history)
    assert (result.best_metric, result.best_epoch) == (reference_result.best_metric, reference_result.best_epoch)


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path: Path) -> None:
    _train(tmp_path, max_epochs=1)
    folders = checkpoint_folders(tmp_path)
    assert [path.name for path in folders] == ["ckpt-00000002", "ckpt-00000004", "ckpt-00000005"]  # keep_last=3
    for folder in folders:
        assert sorted(path.name for path in folder.iterdir()) == ["state.json", "state.safetensors"]
    checkpoint = read_checkpoint(folders[-1])
    assert checkpoint.step == 5 and checkpoint.state["epoch"] == 1 and checkpoint.state["in_epoch"] is False
    assert checkpoint.tensors["rng/torch"].dtype == torch.uint8
    assert {"model/gru.weight_ih_l0", "data/generator"} <= set(checkpoint.tensors)
    assert checkpoint.state["config"]["batch_size"] == 4
    mid = read_checkpoint(folders[0])
    assert mid.state["in_epoch"] and mid.state["batch_in_epoch"] == 2 and mid.tensors["data/order"].shape == (18,)


def _damage_truncate(folder: Path) -> str:
    path = folder / "state.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    return "sha256 mismatch"


def _damage_json(folder: Path) -> str:
    (folder / "state.json").write_text('{"format": "rnnkit-checkpoint",')
    return "invalid JSON at line 1"


def _damage_flip(folder: Path) -> str:
    path = folder / "state.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    return "sha256 mismatch"


def _damage_missing(folder: Path) -> str:
    (folder / "state.json").unlink()
    return "missing file"


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_json, _damage_flip, _damage_missing])
def test_damaged_latest_checkpoint_falls_back_with_a_warning(tmp_path: Path, damage) -> None:
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, crash_at=7)
    latest = checkpoint_folders(tmp_path)[-1]
    assert latest.name == "ckpt-00000006"
    reason = damage(latest)
    with pytest.warns(UserWarning, match=rf"ckpt-00000006.*{reason}.*resuming from ckpt-00000005"):
        found = latest_checkpoint(tmp_path)
    assert found.step == 5
    # resuming also works, and the damaged one is moved aside so it is never taken for the latest again
    with pytest.warns(UserWarning, match="ckpt-00000006"):
        model, _ = _train(tmp_path, resume=True)
    reference, _ = _train(tmp_path / "reference")
    _assert_same(reference, model)
    assert any(path.name.startswith("ckpt-00000006.superseded-") for path in tmp_path.iterdir())


def test_no_intact_checkpoint_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    _train(tmp_path, max_epochs=1)
    for folder in checkpoint_folders(tmp_path):
        _damage_flip(folder)
    with pytest.raises(ModelFileError, match="no intact checkpoint.*sha256 mismatch"):
        _train(tmp_path, resume=True)


def test_partial_checkpoint_folder_is_never_read(tmp_path: Path) -> None:
    _train(tmp_path, max_epochs=1)
    partial = tmp_path / ".ckpt-00000099.tmp-deadbeef"  # what a crash during a write leaves behind
    partial.mkdir()
    (partial / "state.safetensors").write_bytes(b"\x00" * 10)
    assert latest_checkpoint(tmp_path).step == 5


def test_fresh_run_refuses_a_folder_with_checkpoints(tmp_path: Path) -> None:
    _train(tmp_path, max_epochs=1)
    with pytest.raises(UserError, match="resume=True"):
        _train(tmp_path, max_epochs=1)


def test_resume_true_without_checkpoints_starts_fresh_and_resume_path(tmp_path: Path) -> None:
    first, _ = _train(tmp_path / "a", resume=True)
    second, _ = _train(tmp_path / "b")
    _assert_same(first, second)
    # resume=<checkpoint folder>: the finished run resumes at its end and changes nothing
    model, result = _train(tmp_path / "c", resume=checkpoint_folders(tmp_path / "a")[-1])
    _assert_same(first, model)
    assert result.stopped_reason == "max_epochs"
    with pytest.raises(ModelFileError, match="no checkpoint"):
        _train(tmp_path / "d", resume=tmp_path / "nowhere")


def test_resume_with_changed_settings_warns(tmp_path: Path) -> None:
    _train(tmp_path, max_epochs=1)
    with pytest.warns(UserWarning, match="changed settings.*'lr'"):
        _train(tmp_path, resume=True, max_epochs=2, lr=0.5)


def test_write_checkpoint_replaces_same_step_and_keeps_last(tmp_path: Path) -> None:
    (tmp_path / ".ckpt-00000009.tmp-deadbeef").mkdir()  # left by a crash: cleaned up by the next write
    for step in (1, 2, 3, 3):
        write_checkpoint(tmp_path, step, {"x": torch.full((2,), float(step))}, {"n": step}, keep_last=2)
    assert [path.name for path in checkpoint_folders(tmp_path)] == ["ckpt-00000002", "ckpt-00000003"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ckpt-00000002", "ckpt-00000003"]  # no leftovers


def test_keep_epoch_ends_keeps_the_last_epochs_checkpoints_beside_keep_last(tmp_path: Path) -> None:
    _, result = _train(tmp_path, max_epochs=4, keep_last=1, keep_epoch_ends=2)  # 5 steps an epoch, one every 2
    assert [record["step"] for record in result.history] == [5, 10, 15, 20]
    assert [checkpoint_step(path) for path in checkpoint_folders(tmp_path)] == [15, 20]
    assert TrainConfig(keep_epoch_ends=0).keep_epoch_ends == 0
    with pytest.raises(UserError, match="keep_epoch_ends must be >= 0"):
        TrainConfig(keep_epoch_ends=-1)


def test_average_checkpoints_is_the_mean_of_their_model_weights(tmp_path: Path) -> None:
    steps = {1: torch.tensor([1.0, 2.0]), 2: torch.tensor([3.0, 6.0]), 3: torch.tensor([5.0, 1.0])}
    for step, weight in steps.items():
        write_checkpoint(tmp_path, step, {"model/w": weight, "model/count": torch.tensor([7]),
                                          "best/w": torch.zeros(2)}, {"n": step}, keep_last=3)
    averaged = average_checkpoints(checkpoint_folders(tmp_path))
    assert averaged.keys() == {"w", "count"}  # the model's own names, ready for load_state_dict
    assert torch.equal(averaged["w"], torch.tensor([3.0, 3.0])) and averaged["w"].dtype == torch.float32
    assert torch.equal(averaged["count"], torch.tensor([7]))
    assert torch.equal(average_checkpoints(checkpoint_folders(tmp_path)[:1])["w"], steps[1])

    write_checkpoint(tmp_path, 4, {"model/w": torch.zeros(3), "model/count": torch.tensor([7])}, {}, keep_last=9)
    with pytest.raises(ModelFileError, match="ckpt-00000004.*differ in names or shapes"):
        average_checkpoints(checkpoint_folders(tmp_path))
    write_checkpoint(tmp_path, 4, {"model/w": torch.zeros(2), "model/count": torch.tensor([8])}, {}, keep_last=9)
    averaged = average_checkpoints(checkpoint_folders(tmp_path)[1:])  # counters come from the last checkpoint
    assert torch.equal(averaged["w"], torch.tensor([8 / 3, 7 / 3])) and torch.equal(averaged["count"], torch.tensor([8]))
    with pytest.raises(ValueError, match="at least one"):
        average_checkpoints([])
    trailing = dict(trailing_averages(checkpoint_folders(tmp_path)[1:]))  # ckpt 2, 3, 4: means of 4, 4+3, 4+3+2
    assert list(trailing) == [1, 2, 3]
    assert torch.equal(trailing[1]["w"], torch.zeros(2)) and torch.equal(trailing[2]["w"], torch.tensor([2.5, 0.5]))
    assert torch.equal(trailing[3]["w"], averaged["w"]) and torch.equal(trailing[2]["count"], torch.tensor([8]))


def test_optimizer_state_round_trips_through_tensors_and_json() -> None:
    weight = torch.nn.Parameter(torch.randn(3, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1, betas=(0.8, 0.9))
    weight.grad = torch.randn(3, 2)
    optimizer.step()
    tensors, document = optimizer_to_flat(optimizer)
    document = json.loads(json.dumps(document))
    copy = torch.nn.Parameter(weight.detach().clone())
    restored = torch.optim.AdamW([copy], lr=0.5)
    optimizer_from_flat(restored, tensors, document)
    assert restored.param_groups[0]["betas"] == (0.8, 0.9) and restored.param_groups[0]["lr"] == 0.1
    for key, value in optimizer.state[weight].items():
        assert torch.equal(restored.state[copy][key], value), key


def test_random_states_round_trip_through_tensors_and_json() -> None:
    import random

    import numpy as np

    tensors, document = capture_rng()
    document = json.loads(json.dumps(document))
    expected = (random.random(), np.random.rand(), torch.rand(2))
    restore_rng(tensors, document)
    actual = (random.random(), np.random.rand(), torch.rand(2))
    assert expected[:2] == actual[:2] and torch.equal(expected[2], actual[2])
