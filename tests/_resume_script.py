"""Train a tiny LSTM with frequent checkpoints; test_checkpoint.py kills it and resumes it.

usage: python tests/_resume_script.py OUT [--kill-at-step K] [--resume]

Writes OUT/losses.txt (a line "epoch batch step loss.hex()" per batch, appended and flushed, so a SIGKILL loses
nothing already written), OUT/final.safetensors (the weights) and OUT/result.json. With ``--kill-at-step K`` the
process SIGKILLs itself right after optimizer step K: no cleanup, no finally blocks, like a power cut.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from rnnkit.train import Callback, TrainConfig, Trainer, seed_everything


class TinyLSTM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 8, num_layers=2, dropout=0.25, batch_first=True)  # dropout: torch RNG
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(x)  # (B, T, 8)
        return self.head(output[:, -1]).squeeze(-1)  # (B,)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        # input noise from numpy and python random: a resume must restore their states as well
        noise = torch.from_numpy(np.random.standard_normal(tuple(x.shape)).astype(np.float32)) * random.random()
        return torch.nn.functional.mse_loss(self(x + 0.05 * noise), y)

    def evaluate_batch(self, batch: list[torch.Tensor]) -> dict[str, float]:
        x, y = batch
        prediction = self(x)
        return {"loss": float(torch.nn.functional.mse_loss(prediction, y)), "mae": float((prediction - y).abs().mean())}


def dataset(count: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 6, 3, generator=generator)
    return list(zip(x, 0.3 * x.sum(dim=(1, 2)).tanh()))


class Record(Callback):
    """Append every batch's loss to a file, and SIGKILL the process after step ``kill_at``."""

    def __init__(self, path: Path, kill_at: int | None) -> None:
        self.file = open(path, "a", encoding="utf-8")
        self.kill_at = kill_at

    def on_batch_end(self, trainer: Trainer) -> None:
        self.file.write(f"{trainer.epoch} {trainer.batch_in_epoch} {trainer.step} {trainer.last_loss.hex()}\n")
        self.file.flush()
        if trainer.step == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--kill-at-step", type=int)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the same reduction order in every process
    seed_everything(0)
    model = TinyLSTM()
    config = TrainConfig(max_epochs=3, batch_size=4, accumulate_steps=2, lr=0.01, schedule="cosine", warmup_steps=3,
                         patience=5, seed=7, checkpoint_dir=str(args.out / "ckpt"), checkpoint_every_steps=4,
                         keep_last=2, log_path=str(args.out / "log.jsonl"), progress="none")
    # 44 items / batch 4 = 11 batches per epoch = 6 optimizer steps (the last with one batch), 18 in all
    trainer = Trainer(model, config, callbacks=[Record(args.out / "losses.txt", args.kill_at_step)])
    result = trainer.fit(dataset(44, 1), dataset(12, 2), resume=args.resume)
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()},
              str(args.out / "final.safetensors"))
    history = [{key: value for key, value in record.items() if key not in ("seconds", "sequences_per_s")}
               for record in result.history]
    (args.out / "result.json").write_text(json.dumps({
        "history": history, "best_metric": result.best_metric, "best_epoch": result.best_epoch,
        "stopped_reason": result.stopped_reason, "resumed": trainer.resumed}))


if __name__ == "__main__":
    main(sys.argv[1:])
