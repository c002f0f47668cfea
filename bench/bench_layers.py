"""Speed of rnnkit's layers against torch.nn, in one process, interleaved, medians of repeats.

Times a training step (forward + backward + AdamW step) and full-sequence inference (no grad) for rnnkit's
LSTM, GRU and RNN on the fused and the reference path, and torch.nn's same layer with the same weights.
Prints speed ratios (torch.nn time / rnnkit time: >= 1 means rnnkit is as fast or faster), each the median over
rounds of the ratio measured within a round.

    python bench/bench_layers.py [--repeats 7] [--modes LSTM GRU RNN] [--threads N] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch

import rnnkit.nn as rn

CONFIGS = [  # (batch, steps, input_size, hidden_size, num_layers)
    (64, 100, 32, 128, 1),
    (32, 200, 64, 256, 2),
    (16, 50, 8, 64, 1),
]
TORCH = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}


def _train_step(layer, optimizer, x, target):
    optimizer.zero_grad(set_to_none=True)
    output, _ = layer(x)
    loss = torch.nn.functional.mse_loss(output, target)
    loss.backward()
    optimizer.step()


def _infer(layer, x):
    with torch.no_grad():
        layer(x)


def _time(fn, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations


def bench_config(mode, config, repeats, iterations, min_seconds=0.05):
    batch, steps, input_size, hidden, layers = config
    torch.manual_seed(0)
    reference_layer = TORCH[mode](input_size, hidden, num_layers=layers, batch_first=True)
    variants = {"torch.nn": reference_layer}
    for impl in ("fused", "reference"):
        ours = getattr(rn, mode)(input_size, hidden, num_layers=layers, impl=impl)
        ours.load_state_dict(reference_layer.state_dict())
        variants[f"rnnkit {impl}"] = ours
    x = torch.randn(batch, steps, input_size)
    target = torch.randn(batch, steps, hidden)
    optimizers = {name: torch.optim.AdamW(layer.parameters(), lr=1e-4) for name, layer in variants.items()}
    jobs = {}
    for name, layer in variants.items():
        jobs[("train", name)] = (lambda l=layer, o=optimizers[name]: _train_step(l, o, x, target))
        jobs[("infer", name)] = (lambda l=layer: _infer(l, x))
    calls = {}
    for key, job in jobs.items():  # warm-up, and enough calls per sample to last ~min_seconds
        once = _time(job, 1)
        calls[key] = max(1 if "reference" in key[1] else iterations, math.ceil(min_seconds / once))
    samples = {key: [] for key in jobs}
    for _ in range(repeats):  # interleaved: every variant once per round, so drift hits all alike
        for key, job in jobs.items():
            samples[key].append(_time(job, calls[key]))
    medians = {key: statistics.median(values) for key, values in samples.items()}
    # The ratio within each round, then its median: neighbours in time share the machine's load, so a burst
    # from another process cancels out of the ratio instead of landing on one side.
    for what in ("train", "infer"):
        for impl in ("fused", "reference"):
            pairs = zip(samples[(what, "torch.nn")], samples[(what, f"rnnkit {impl}")])
            medians[(what, f"ratio {impl}")] = statistics.median(t / o for t, o in pairs)
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=3, help="calls per timed sample (fused and torch.nn)")
    parser.add_argument("--modes", nargs="+", default=["LSTM", "GRU", "RNN"], choices=sorted(TORCH))
    parser.add_argument("--json", help="also write the raw medians here")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--min-seconds", type=float, default=0.2,
                        help="length of one timed sample; sub-millisecond calls need many per sample")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {args.repeats} repeats")
    header = f"{'layer':5} {'config (B,T,I,H,L)':22} {'what':6} {'torch.nn ms':>11} {'fused ms':>9} " \
             f"{'fused ratio':>11} {'reference ratio':>15}"
    print(header)
    print("-" * len(header))
    rows = []
    for mode in args.modes:
        for config in CONFIGS:
            medians = bench_config(mode, config, args.repeats, args.iterations, args.min_seconds)
            for what in ("train", "infer"):
                base = medians[(what, "torch.nn")]
                fused, ref = medians[(what, "rnnkit fused")], medians[(what, "rnnkit reference")]
                fused_ratio, ref_ratio = medians[(what, "ratio fused")], medians[(what, "ratio reference")]
                row = dict(mode=mode, config=config, what=what, torch_ms=base * 1e3, fused_ms=fused * 1e3,
                           reference_ms=ref * 1e3, fused_ratio=fused_ratio, reference_ratio=ref_ratio)
                rows.append(row)
                print(f"{mode:5} {str(config):22} {what:6} {base * 1e3:11.2f} {fused * 1e3:9.2f} "
                      f"{fused_ratio:11.3f} {ref_ratio:15.3f}", flush=True)
    worst = min(r["fused_ratio"] for r in rows)
    print(f"\nworst fused-path ratio: {worst:.3f} (acceptance: >= 0.95)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
