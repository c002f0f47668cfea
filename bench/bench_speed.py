"""Speed of rnnkit against torch.nn float32 on the CPU, in one process: interleaved rounds, medians of repeats.

Five tables, each ratio the median over rounds of (torch.nn time / rnnkit time) measured in the same round
(>= 1: rnnkit is faster); each rnnkit row runs with ``impl="auto"`` and shows the path auto took:

1. layers: a training step (forward, backward, AdamW) and inference (no grad) for LSTM, GRU and RNN at the
   layer bench's shapes (bench/bench_layers.py), rnnkit at precision fp32, bf16-mixed and int8 (inference
   only); and the fraction of the machine's GEMM peak each reaches (its matrix-product FLOPs over its time,
   against the rate measured for a 2048 x 2048 product here, float32, bfloat16 or int8 as the row's products
   run);
2. paths: what auto chooses from, at the first shape: rnnkit's fused (PyTorch's kernels) and extension paths
   for each cell and precision, training and inference;
3. ragged: variable lengths, torch.nn packed (pack_padded_sequence) against rnnkit's ``lengths=``;
4. long: sequences of T = 1,024 and 4,096 (16,384 with --longest): torch.nn.LSTM against minGRU and minLSTM
   (the extension's chunked layer, PyTorch ops' chunked scan, Heinsen's log-space scan), training steps;
5. peak: the GEMM rates themselves (printed first).

    python bench/bench_speed.py [--repeats 5] [--threads 2] [--sections layers ragged long] [--json out.json]

On a shared machine, wall-clock times at several threads mostly measure who else is running (a parallel region
waits for its slowest thread); ``--threads 1 --clock cpu`` times the process's own CPU time, which other
processes barely move, for ratios that hold still.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rn
from bench_layers import CONFIGS  # (batch, steps, input_size, hidden_size, num_layers): the layer bench's shapes
from rnnkit.nn.extension import compiled_kernels
from rnnkit.nn.precision import bf16_unsupported, int8_unsupported

TORCH = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1, "MinGRU": 2, "MinLSTM": 3}
LONG_SHAPE = (8, 32, 128)  # batch, input_size, hidden_size of the long-sequence table


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def _time(fn, calls: int) -> float:
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls


def interleaved(jobs: dict, repeats: int, min_seconds: float) -> dict:
    """Median seconds per call of each job, and per job the median over rounds of (first job / job)."""
    calls = {}
    for name, job in jobs.items():  # warm-up, and enough calls per sample to last about min_seconds
        job()
        calls[name] = max(1, math.ceil(min_seconds / max(_time(job, 1), 1e-6)))
    samples = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            samples[name].append(_time(job, calls[name]))
    base = next(iter(jobs))
    return {name: (statistics.median(values), statistics.median(b / v for b, v in zip(samples[base], values)))
            for name, values in samples.items()}


def train_job(layer, x, target, lengths=None, packed=False):
    optimizer = torch.optim.AdamW(layer.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        if packed:
            sequence = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            output, _ = pad_packed_sequence(layer(sequence)[0], batch_first=True, total_length=x.shape[1])
        else:
            output, _ = layer(x) if lengths is None else layer(x, lengths=lengths)
        torch.nn.functional.mse_loss(output, target).backward()
        optimizer.step()

    return step


def infer_job(layer, x):
    def run():
        with torch.no_grad():
            layer(x)

    return run


def path_of(layer, x, training: bool) -> str:
    with torch.set_grad_enabled(training):
        if hasattr(layer, "_path"):
            path = layer._path(x)
            return path + ("" if layer.fast_path_reason is None else "*")
    return "torch"


def product_flops(mode: str, batch: int, steps: int, input_size: int, hidden: int, layers: int, training: bool):
    """Matrix-product FLOPs of a layer: 2 B T G H (I + H) per layer forward (min cells: no W_hh); x3 to train."""
    flops = 0
    for index in range(layers):
        width = input_size if index == 0 else hidden
        recurrent = 0 if mode.startswith("Min") else hidden
        flops += 2 * batch * steps * GATES[mode] * hidden * (width + recurrent)
    return flops * (3 if training else 1)


def gemm_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 3) -> float:
    """GFLOP/s (int8: GOP/s, PyTorch's int8 x int8 -> int32 product) of a size x size product."""
    if dtype == torch.int8:
        a, b = (torch.randint(-127, 128, (size, size), dtype=torch.int8) for _ in range(2))
        product = torch._int_mm
    else:
        a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
        product = torch.mm
    product(a, b)
    return 2 * size ** 3 / min(_time(lambda: product(a, b), 1) for _ in range(repeats)) / 1e9


def precisions() -> list[str]:
    """The precisions this CPU runs: fp32, bf16-mixed (AVX-512 BF16), int8 (inference; AVX-512 VNNI)."""
    return (["fp32"] + ([] if bf16_unsupported() else ["bf16-mixed"])
            + ([] if int8_unsupported() or "int8" not in compiled_kernels() else ["int8"]))


def layers_table(args, peaks, rows):
    precisions_here = precisions()
    print(f"\n## layers: rnnkit (impl=auto) against torch.nn float32; ratio > 1 = rnnkit faster\n")
    print("| layer | B,T,I,H,L | what | torch.nn ms | " + " | ".join(
        f"{p} ms | {p} ratio | {p} path | {p} % peak" for p in precisions_here) + " |")
    print("|" + "---|" * (4 + 4 * len(precisions_here)))
    for mode in args.modes:
        for config in CONFIGS:
            batch, steps, input_size, hidden, layers = config
            torch.manual_seed(0)
            theirs = TORCH[mode](input_size, hidden, num_layers=layers, batch_first=True)
            ours = {}
            for precision in precisions_here:
                ours[precision] = getattr(rn, mode)(input_size, hidden, num_layers=layers, precision=precision)
                ours[precision].load_state_dict(theirs.state_dict())
            x, target = torch.randn(batch, steps, input_size), torch.randn(batch, steps, hidden)
            for what in ("train", "infer"):
                training = what == "train"
                make = (lambda layer: train_job(layer, x, target)) if training else (lambda layer: infer_job(layer, x))
                jobs = {"torch.nn": make(theirs), **{p: make(layer) for p, layer in ours.items()
                                                     if not (training and p == "int8")}}  # int8: inference only
                result = interleaved(jobs, args.repeats, args.min_seconds)
                flops = product_flops(mode, batch, steps, input_size, hidden, layers, training)
                cells = [f"{result['torch.nn'][0] * 1e3:.2f}"]
                row = dict(table="layers", mode=mode, config=config, what=what, torch_ms=result["torch.nn"][0] * 1e3)
                for precision, layer in ours.items():
                    if precision not in result:
                        cells += ["-"] * 4
                        continue
                    seconds, ratio = result[precision]
                    peak = peaks.get({"bf16-mixed": "bf16", "int8": "int8"}.get(precision, "fp32"))
                    share = flops / seconds / 1e9 / peak * 100 if peak else float("nan")
                    path = path_of(layer, x, training)
                    cells += [f"{seconds * 1e3:.2f}", f"{ratio:.2f}", path, f"{share:.0f}"]
                    row[precision] = dict(ms=seconds * 1e3, ratio=ratio, path=path, peak_percent=share)
                torch_share = flops / result["torch.nn"][0] / 1e9 / peaks["fp32"] * 100
                row["torch_peak_percent"] = torch_share
                rows.append(row)
                print(f"| {mode} | {','.join(map(str, config))} | {what} | {cells[0]} ({torch_share:.0f}%) | "
                      + " | ".join(cells[1:]) + " |", flush=True)


def paths_table(args, rows):
    batch, steps, input_size, hidden, layers = CONFIGS[0]
    print(f"\n## paths at {batch},{steps},{input_size},{hidden},{layers}: ratio to torch.nn float32 of each "
          "explicit impl (what impl=auto chooses from)\n")
    print("| layer | precision | what | fused | extension | auto takes |\n|---|---|---|---|---|---|")
    x, target = torch.randn(batch, steps, input_size), torch.randn(batch, steps, hidden)
    for mode in args.modes:
        torch.manual_seed(0)
        theirs = TORCH[mode](input_size, hidden, num_layers=layers, batch_first=True)
        for precision in precisions():
            layers_by_impl = {}
            for impl in ("fused", "extension", "auto"):
                try:
                    layer = getattr(rn, mode)(input_size, hidden, num_layers=layers, impl=impl, precision=precision)
                except ValueError:
                    continue
                layer.load_state_dict(theirs.state_dict())
                layers_by_impl[impl] = layer
            for what in ("train", "infer") if precision != "int8" else ("infer",):
                training = what == "train"
                make = (lambda layer: train_job(layer, x, target)) if training else (lambda layer: infer_job(layer, x))
                jobs = {"torch.nn": make(theirs)}
                for impl in ("fused", "extension"):
                    try:
                        with torch.set_grad_enabled(training):
                            layers_by_impl[impl]._path(x)  # refuses what the path cannot compute
                    except (KeyError, RuntimeError):
                        continue
                    jobs[impl] = make(layers_by_impl[impl])
                result = interleaved(jobs, args.repeats, args.min_seconds)
                cells = [f"{result[impl][1]:.2f}" if impl in result else "-" for impl in ("fused", "extension")]
                chosen = path_of(layers_by_impl["auto"], x, training)
                rows.append(dict(table="paths", mode=mode, precision=precision, what=what, chosen=chosen,
                                 **{impl: result[impl][1] for impl in ("fused", "extension") if impl in result}))
                print(f"| {mode} | {precision} | {what} | {cells[0]} | {cells[1]} | {chosen} |", flush=True)


def ragged_table(args, rows):
    print("\n## ragged batches: torch.nn packed against rnnkit lengths= (training steps, float32)\n")
    print("| layer | B,T,I,H | torch.nn packed ms | rnnkit ms | ratio | rnnkit path |")
    print("|---|---|---|---|---|---|")
    batch, steps, input_size, hidden, _ = CONFIGS[0]
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(steps // 4, steps + 1, (batch,), generator=generator)
    lengths[0] = steps
    for mode in args.modes:
        torch.manual_seed(0)
        theirs = TORCH[mode](input_size, hidden, batch_first=True)
        ours = getattr(rn, mode)(input_size, hidden)
        ours.load_state_dict(theirs.state_dict())
        x, target = torch.randn(batch, steps, input_size), torch.randn(batch, steps, hidden)
        jobs = {"packed": train_job(theirs, x, target, lengths, packed=True),
                "rnnkit": train_job(ours, x, target, lengths)}
        result = interleaved(jobs, args.repeats, args.min_seconds)
        rows.append(dict(table="ragged", mode=mode, torch_ms=result["packed"][0] * 1e3,
                         ms=result["rnnkit"][0] * 1e3, ratio=result["rnnkit"][1]))
        print(f"| {mode} | {batch},{steps},{input_size},{hidden} | {result['packed'][0] * 1e3:.1f} | "
              f"{result['rnnkit'][0] * 1e3:.1f} | {result['rnnkit'][1]:.2f} | {path_of(ours, x, True)} |",
              flush=True)


def long_table(args, rows):
    batch, input_size, hidden = LONG_SHAPE
    lengths = (1024, 4096) + ((16384,) if args.longest else ())
    variants = {"minGRU": (rn.MinGRU, {}), "minLSTM": (rn.MinLSTM, {}),
                "minGRU chunked": (rn.MinGRU, {"impl": "fused"}),
                "minGRU log-space": (rn.MinGRU, {"impl": "fused", "scan": "log-space"})}
    if not bf16_unsupported():
        variants["minGRU bf16-mixed"] = (rn.MinGRU, {"precision": "bf16-mixed"})
    print(f"\n## long sequences: training steps (float32 unless named), B={batch} I={input_size} H={hidden}; "
          "ratio = torch.nn.LSTM time / time\n")
    print("| T | torch.nn.LSTM ms | " + " | ".join(f"{name} ms | ratio" for name in variants) + " |")
    print("|" + "---|" * (2 + 2 * len(variants)))
    for steps in lengths:
        torch.manual_seed(0)
        x, target = torch.randn(batch, steps, input_size), torch.randn(batch, steps, hidden)
        jobs = {"torch.nn.LSTM": train_job(torch.nn.LSTM(input_size, hidden, batch_first=True), x, target)}
        for name, (cls, options) in variants.items():
            jobs[name] = train_job(cls(input_size, hidden, **options), x, target)
        result = interleaved(jobs, max(3, args.repeats // 2), args.min_seconds)
        rows.append(dict(table="long", steps=steps, **{name: dict(ms=s * 1e3, ratio=r) for name, (s, r)
                                                       in result.items()}))
        print(f"| {steps} | {result['torch.nn.LSTM'][0] * 1e3:.0f} | " + " | ".join(
            f"{result[name][0] * 1e3:.1f} | {result[name][1]:.1f}" for name in variants) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-seconds", type=float, default=0.1, help="length of one timed sample")
    parser.add_argument("--modes", nargs="+", default=["LSTM", "GRU", "RNN"], choices=sorted(TORCH))
    parser.add_argument("--sections", nargs="+", default=["layers", "paths", "ragged", "long"],
                        choices=["layers", "paths", "ragged", "long"])
    parser.add_argument("--longest", action="store_true", help="add T = 16,384 to the long-sequence table")
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or the process's CPU time (meaningful with --threads 1)")
    args = parser.parse_args()
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu sums every thread's time: use it with --threads 1")
    global clock
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    peaks = {"fp32": gemm_peak(torch.float32)}
    if not bf16_unsupported():
        peaks["bf16"] = gemm_peak(torch.bfloat16)
    if "int8" in precisions():
        peaks["int8"] = gemm_peak(torch.int8)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.clock} clock, medians of {args.repeats} interleaved rounds; bf16: {bf16_unsupported() or 'supported'}")
    print("GEMM peak (2048 x 2048): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
          + " (int8: GOP/s of torch._int_mm)")
    print("path: the path impl='auto' took (* = not its first choice: see fast_path_reason)")
    rows = [dict(table="peak", **peaks)]
    if "layers" in args.sections:
        layers_table(args, peaks, rows)
    if "paths" in args.sections:
        paths_table(args, rows)
    if "ragged" in args.sections:
        ragged_table(args, rows)
    if "long" in args.sections:
        long_table(args, rows)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
