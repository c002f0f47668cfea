"""The trainer: fitting, validation, schedules, early stopping, accumulation, the non-finite guard, progress, logs."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import pytest
import torch

from rnnkit._config import config_from_dict, config_to_dict
from rnnkit.errors import UserError
from rnnkit.train import (AnnealWithin, Callback, NonFiniteError, ProgressBar, TrainConfig, Trainer, checkpoint_folders,
                          lr_factor, read_checkpoint, seed_everything)


class Pairs(torch.utils.data.Dataset):
    """``(x, y)`` with ``x`` a (T=4, 2) sequence and ``y = mean(x)``; ``bad`` indices hold a NaN input."""

    def __init__(self, count: int, seed: int = 0, bad: tuple[int, ...] = ()) -> None:
        self.x = torch.randn(count, 4, 2, generator=torch.Generator().manual_seed(seed))
        self.y = self.x.mean(dim=(1, 2))
        self.x[list(bad)] = math.nan

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


class Regressor(torch.nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.rnn = torch.nn.GRU(2, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(x)  # (B, T, H)
        return self.head(output[:, -1]).squeeze(-1)  # (B,)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def evaluate_batch(self, batch: list[torch.Tensor]) -> dict[str, float]:
        x, y = batch
        error = self(x) - y
        return {"loss": float(error.pow(2).mean()), "mae": float(error.abs().mean())}


def fit(config: TrainConfig, train=None, val=None, callbacks=(), model=None, **kwargs):
    seed_everything(0)
    model = model or Regressor()
    trainer = Trainer(model, config, callbacks=callbacks)
    result = trainer.fit(Pairs(20) if train is None else train, val, **kwargs)
    return model, trainer, result


def quiet(**values) -> TrainConfig:
    return TrainConfig(progress="none", **values)


def test_config_round_trips_through_json_and_checks_values() -> None:
    config = TrainConfig(max_epochs=3, lr=3e-3, schedule="cosine", betas=(0.8, 0.95), checkpoint_dir="x", patience=2)
    assert config_from_dict(TrainConfig, json.loads(json.dumps(config_to_dict(config)))) == config
    assert TrainConfig().grad_clip == 1.0 and TrainConfig().optimizer == "adamw"
    with pytest.raises(UserError, match="unknown key"):
        config_from_dict(TrainConfig, {"learning_rate": 0.1})
    with pytest.raises(UserError, match="batch_size must be >= 1.*schedule must be one of"):
        TrainConfig(batch_size=0, schedule="linear")
    with pytest.raises(UserError, match="lr must be > 0"):
        TrainConfig(lr=-1.0)


@pytest.mark.trained
def test_fit_learns_and_reports_each_epoch() -> None:
    model, trainer, result = fit(quiet(max_epochs=4, batch_size=8, lr=0.03), val=Pairs(10, seed=1))
    assert [record["epoch"] for record in result.history] == [1, 2, 3, 4]
    assert [record["step"] for record in result.history] == [3, 6, 9, 12]  # 20 items / 8 = 3 batches
    first, last = result.history[0], result.history[-1]
    assert set(first) == {"epoch", "step", "train_loss", "val_loss", "val_mae", "lr", "seconds", "sequences_per_s"}
    assert last["val_loss"] < first["val_loss"] and last["train_loss"] < first["train_loss"]
    assert result.stopped_reason == "max_epochs"
    assert result.best_metric == min(record["val_loss"] for record in result.history)


def test_validation_is_weighted_by_batch_size_in_eval_mode() -> None:
    class Probe(Regressor):
        def evaluate_batch(self, batch):
            assert not self.training and not torch.is_grad_enabled()
            return {"first": float(batch[1][0]), "size": float(len(batch[1]))}

    data = Pairs(7)
    trainer = Trainer(Probe(), quiet(batch_size=3))
    metrics = trainer.evaluate(data)  # batches of 3, 3, 1
    assert metrics["size"] == pytest.approx((3 * 3 + 3 * 3 + 1 * 1) / 7)
    assert metrics["first"] == pytest.approx(float(3 * data.y[0] + 3 * data.y[3] + data.y[6]) / 7)
    assert trainer.model.training


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not() -> None:
    config = quiet(max_epochs=2, batch_size=4, seed=5)
    first, _, first_result = fit(config, val=Pairs(6, 1))
    second, _, second_result = fit(config, val=Pairs(6, 1))
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    assert [r["val_loss"] for r in first_result.history] == [r["val_loss"] for r in second_result.history]
    other, _, _ = fit(quiet(max_epochs=2, batch_size=4, seed=6), val=Pairs(6, 1))  # another data order
    assert not torch.equal(first.head.weight, other.head.weight)


def test_shuffle_draws_a_new_order_each_epoch_and_off_keeps_it() -> None:
    class Orders(Callback):
        def __init__(self) -> None:
            self.orders = []

        def on_epoch_start(self, trainer):
            self.orders.append(trainer.order.tolist())

    shuffled, fixed = Orders(), Orders()
    fit(quiet(max_epochs=2, batch_size=5), callbacks=[shuffled])
    fit(quiet(max_epochs=2, batch_size=5, shuffle=False), callbacks=[fixed])
    assert shuffled.orders[0] != shuffled.orders[1] and sorted(shuffled.orders[0]) == list(range(20))
    assert fixed.orders == [list(range(20))] * 2


def test_nan_loss_stops_within_one_step_and_leaves_the_last_checkpoint(tmp_path: Path) -> None:
    config = quiet(max_epochs=3, batch_size=4, shuffle=False, checkpoint_dir=str(tmp_path), checkpoint_every_steps=1,
                   keep_last=10)
    model = Regressor()
    with pytest.raises(NonFiniteError, match=r"loss \(nan\) at epoch 1, step 4 \(batch 4 of 5\).*bad input.*learning"
                                             r" rate") as caught:
        fit(config, train=Pairs(20, bad=(13,)), model=model)  # item 13 is in batch 4 (items 12-15) of each epoch
    assert (caught.value.epoch, caught.value.step, caught.value.batch) == (1, 4, 4)
    assert isinstance(caught.value, UserError)
    names = [path.name for path in checkpoint_folders(tmp_path)]
    assert names == ["ckpt-00000001", "ckpt-00000002", "ckpt-00000003"]  # nothing after the bad step
    last = read_checkpoint(tmp_path / names[-1])
    for name, tensor in model.state_dict().items():  # the weights were not touched by the bad batch either
        assert torch.equal(last.tensors[f"model/{name}"], tensor), name


def test_nonfinite_gradient_with_finite_loss_is_caught() -> None:
    class SqrtAtZero(Regressor):
        def loss(self, batch):
            return torch.sqrt((self.head.weight * 0).sum())  # loss 0, derivative inf * 0 = nan

    with pytest.raises(NonFiniteError, match=r"gradient norm \(nan\) at epoch 1, step 1.*exploding gradients"):
        fit(quiet(max_epochs=1), model=SqrtAtZero())


def test_loss_must_be_a_scalar() -> None:
    class Vector(Regressor):
        def loss(self, batch):
            return (self(batch[0]) - batch[1]) ** 2

    with pytest.raises(UserError, match=r"scalar tensor, got a tensor of shape \[8\]"):
        fit(quiet(max_epochs=1, batch_size=8), model=Vector())


class Scripted(Regressor):
    """Validation loss read from a script, one value per epoch (the epoch count is kept by a callback)."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values, self.epoch = values, 0

    def evaluate_batch(self, batch):
        return {"loss": self.values[self.epoch - 1]}


class Snapshots(Callback):
    def __init__(self) -> None:
        self.weights = {}

    def on_epoch_start(self, trainer):
        trainer.model.epoch = trainer.epoch

    def on_epoch_end(self, trainer):
        self.weights[trainer.epoch] = trainer.model.head.weight.detach().clone()


def test_early_stopping_restores_the_best_weights() -> None:
    snapshots = Snapshots()
    model, _, result = fit(quiet(max_epochs=10, patience=2), val=Pairs(4), callbacks=[snapshots],
                           model=Scripted([3.0, 2.0, 1.0, 1.5, 1.2, 0.5]))
    assert result.stopped_reason == "early_stopping"
    assert (result.best_epoch, result.best_metric) == (3, 1.0) and len(result.history) == 5
    assert torch.equal(model.head.weight, snapshots.weights[3])
    assert not torch.equal(model.head.weight, snapshots.weights[5])


def test_mode_max_and_no_restore() -> None:
    snapshots = Snapshots()
    model, _, result = fit(quiet(max_epochs=3, mode="max", restore_best=False), val=Pairs(4), callbacks=[snapshots],
                           model=Scripted([1.0, 3.0, 2.0]))
    assert (result.best_epoch, result.best_metric) == (2, 3.0)
    assert torch.equal(model.head.weight, snapshots.weights[3])


def test_plateau_schedule_halves_the_learning_rate() -> None:
    _, _, result = fit(quiet(max_epochs=6, lr=0.01, schedule="plateau", plateau_patience=2), val=Pairs(4),
                       callbacks=[Snapshots()], model=Scripted([1.0, 2.0, 2.0, 2.0, 0.5, 0.6]))
    # the lr of an epoch is the one its steps used; the reduction after epoch 3 shows from epoch 4 on
    assert [record["lr"] for record in result.history] == [0.01, 0.01, 0.01, 0.005, 0.005, 0.005]


def test_monitor_needs_validation_data() -> None:
    with pytest.raises(UserError, match="needs val_data"):
        fit(quiet(patience=2))
    with pytest.raises(UserError, match="'val_accuracy' is not among"):
        fit(quiet(patience=2, monitor="val_accuracy"), val=Pairs(4))
    _, _, result = fit(quiet(max_epochs=2, patience=2, monitor="train_loss"))
    assert result.best_epoch in (1, 2)


def test_lr_factor_warmup_then_cosine() -> None:
    factors = [lr_factor("cosine", step, warmup_steps=2, total_steps=6) for step in range(7)]
    assert factors[:2] == [0.5, 1.0]
    assert factors[2] == 1.0 and factors[4] == pytest.approx(0.5) and factors[6] == pytest.approx(0.0)
    assert lr_factor("cosine", 10, warmup_steps=0, total_steps=6, min_lr_ratio=0.1) == pytest.approx(0.1)
    assert [lr_factor("constant", step, warmup_steps=4, total_steps=9) for step in (0, 3, 8)] == [0.25, 1.0, 1.0]


def test_cosine_schedule_reaches_the_floor_at_the_last_step() -> None:
    _, trainer, result = fit(quiet(max_epochs=2, batch_size=5, schedule="cosine", warmup_steps=2, min_lr_ratio=0.1))
    assert trainer.total_steps == 8
    assert result.history[-1]["lr"] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 6))))


def test_anneal_within_sizes_the_cosine_to_the_time_and_stops_at_its_end() -> None:
    """The first epoch is timed; the run becomes the epochs that fit, the cosine reaching 0 at the last step."""
    for seconds, least, epochs in [(1e-9, 3, 3), (1e9, 1, 6)]:  # nothing fits: the least; all fit: max_epochs
        anneal = AnnealWithin(seconds, least=least)
        _, trainer, result = fit(quiet(max_epochs=6, batch_size=5, schedule="cosine"), callbacks=[anneal])
        assert anneal.epochs == epochs and len(result.history) == epochs and trainer.total_steps == 4 * epochs
        assert result.history[0]["lr"] > 0.9e-3 and result.history[-1]["lr"] == pytest.approx(
            1e-3 * 0.5 * (1 + math.cos(math.pi * (4 * epochs - 1) / (4 * epochs))))


def test_gradient_accumulation_matches_one_big_batch() -> None:
    common = dict(max_epochs=2, shuffle=False, optimizer="sgd", momentum=0.0, lr=0.1, grad_clip=None)
    big, _, _ = fit(quiet(batch_size=10, **common))
    accumulated, trainer, result = fit(quiet(batch_size=5, accumulate_steps=2, **common))
    assert trainer.step == 4 and result.history[-1]["step"] == 4
    for (name, a), (_, b) in zip(big.state_dict().items(), accumulated.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_max_steps_stops_mid_epoch() -> None:
    _, trainer, result = fit(quiet(max_epochs=5, batch_size=4, max_steps=7))
    assert result.stopped_reason == "max_steps" and trainer.step == 7
    assert [record["step"] for record in result.history] == [5, 7]


def test_callbacks_see_every_hook_in_order_and_can_stop() -> None:
    class Plain:  # no base class, only some hooks
        def __init__(self) -> None:
            self.calls = []

        def on_fit_start(self, trainer):
            self.calls.append("fit_start")

        def on_epoch_start(self, trainer):
            self.calls.append(f"epoch_start {trainer.epoch}")

        def on_batch_end(self, trainer):
            self.calls.append(f"batch {trainer.batch_in_epoch} step {trainer.step}")
            if trainer.step == 6:
                trainer.should_stop = True

        def on_fit_end(self, trainer):
            self.calls.append("fit_end")

    plain = Plain()
    _, _, result = fit(quiet(max_epochs=3, batch_size=4), callbacks=[plain])
    assert plain.calls[:3] == ["fit_start", "epoch_start 1", "batch 1 step 1"]
    assert plain.calls[6:10] == ["batch 5 step 5", "epoch_start 2", "batch 1 step 6", "fit_end"]
    assert result.stopped_reason == "callback" and len(result.history) == 2


def test_progress_lines_when_not_a_terminal(capsys) -> None:
    fit(TrainConfig(max_epochs=2, batch_size=8), val=Pairs(4))  # progress="auto"; pytest's stdout is no TTY
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "\r" not in "".join(lines)
    assert lines[1].startswith("epoch 2/2 step 6 train_loss ") and "val_loss" in lines[1] and "seq/s" in lines[1]


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    fit(quiet(max_epochs=2, batch_size=4), val=Pairs(4), callbacks=[ProgressBar(stream, min_interval=0.0)])
    text = stream.getvalue()
    assert text.count("\n") == 2 and "\r" in text
    assert "[####################] 5/5 loss" in text and "seq/s ETA" in text and "val_loss" in text


def test_jsonl_log_has_every_epoch(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "train.jsonl"
    _, _, result = fit(quiet(max_epochs=3, log_path=str(log)), val=Pairs(4))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records == result.history


def test_tensorboard_is_skipped_silently_when_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail like a missing package
    _, _, result = fit(quiet(max_epochs=1, tensorboard_dir=str(tmp_path / "tb")))
    assert len(result.history) == 1 and not (tmp_path / "tb").exists()


def test_weight_decay_skips_biases() -> None:
    trainer = Trainer(Regressor(), quiet(weight_decay=0.1))
    decays = {id(p): group["weight_decay"] for group in trainer.optimizer.param_groups for p in group["params"]}
    assert decays[id(trainer.model.head.weight)] == 0.1 and decays[id(trainer.model.head.bias)] == 0.0


@pytest.mark.parametrize("optimizer", ["adamw", "adam"])
def test_fused_optimizer_steps_as_pytorch_one_tensor_at_a_time(optimizer: str) -> None:
    """The trainer's fused Adam(W) is PyTorch's reference update: after 3 epochs the weights agree to rounding."""
    seed_everything(0)
    start = Regressor().state_dict()
    weights = []
    for fused in (True, False):
        model = Regressor()
        model.load_state_dict(start)
        trainer = Trainer(model, quiet(max_epochs=3, batch_size=4, optimizer=optimizer, weight_decay=0.1))
        assert all(group["fused"] is True for group in trainer.optimizer.param_groups)
        for group in trainer.optimizer.param_groups:
            group["fused"] = fused
        seed_everything(0)  # the same batch order
        trainer.fit(Pairs(20))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(weights[0], torch.cat([w.flatten() for w in start.values()]), atol=1e-3)  # it trained


def test_last_accumulation_group_of_an_epoch_may_be_shorter() -> None:
    _, trainer, result = fit(quiet(max_epochs=2, batch_size=4, accumulate_steps=2))  # 5 batches: groups 2, 2, 1
    assert [record["step"] for record in result.history] == [3, 6]


def test_fit_runs_once_per_trainer() -> None:
    _, trainer, _ = fit(quiet(max_epochs=1))
    with pytest.raises(UserError, match="already run fit"):
        trainer.fit(Pairs(20))
