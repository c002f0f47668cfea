"""Elman RNN vs GRU vs LSTM as character models of Shakespeare: equal parameter count, equal training budget.

    nice -n 10 .venv/bin/python bench/generate_cells.py --out runs/gen-cells --max-steps 500

Each cell gets the hidden size that brings its 2-layer model closest to the LSTM's parameter count, then the same
number of optimizer steps over the same stream batches (``--streams`` x ``--seq-len`` characters a step) through
``bench/generate_shakespeare.py``. The table is validation bits per character (the validation plays); the test
plays are not read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.models.language_model import LanguageModel, LanguageModelConfig

HERE = Path(__file__).parent
VOCAB = 82  # the training plays' characters plus <pad>, <unk>: only the parameter count depends on it


def parameters(cell: str, hidden_size: int, num_layers: int, embedding_size: int) -> int:
    config = LanguageModelConfig(vocab_size=VOCAB, embedding_size=embedding_size, streams=1,
                                 rnn=RecurrentConfig(cell, hidden_size, num_layers))
    return sum(p.numel() for p in LanguageModel(config).parameters())


def matched_hidden_size(cell: str, target: int, num_layers: int, embedding_size: int) -> int:
    """The hidden size whose parameter count is nearest ``target`` (counts grow with the size: bisect)."""
    low, high = 1, 4096
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if parameters(cell, middle, num_layers, embedding_size) < target else (low, middle)
    return min((low, high), key=lambda h: abs(parameters(cell, h, num_layers, embedding_size) - target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lstm-hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--embedding-size", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()
    target = parameters("lstm", args.lstm_hidden_size, args.num_layers, args.embedding_size)
    rows = []
    for cell in ("rnn", "gru", "lstm"):
        hidden = matched_hidden_size(cell, target, args.num_layers, args.embedding_size)
        out = args.out / cell
        subprocess.run([sys.executable, str(HERE / "generate_shakespeare.py"), "--out", str(out), "--cell", cell,
                        "--hidden-size", str(hidden), "--num-layers", str(args.num_layers),
                        "--embedding-size", str(args.embedding_size), "--streams", str(args.streams),
                        "--seq-len", str(args.seq_len), "--epochs", "1", "--max-steps", str(args.max_steps),
                        "--lr", str(args.lr), "--threads", "1", "--no-test"], check=True)
        result = json.loads((out / "result.json").read_text())
        rows.append({"cell": cell, "hidden_size": hidden, "parameters": result["parameters"],
                     "characters_seen": result["train_characters_seen"], "train_seconds": result["train_seconds"],
                     "validation_bits_per_char": round(result["validation_bits_per_char"], 4)})
        print(rows[-1], flush=True)
    (args.out / "table.json").write_text(json.dumps(rows, indent=2))
    print("\n| cell | hidden | parameters | characters seen | train s | validation bits/char |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in row) + " |")


if __name__ == "__main__":
    main()
