"""Sampling speed of a trained language model: characters per second at batch 1 and batch 32, on the CPU.

    nice -n 10 .venv/bin/python bench/generate_speed.py runs/gen-shakespeare-lstm/model --threads 1

Times ``model.generate`` (incremental decoding: one recurrent step per character, temperature 1, no top-k/p),
best of ``--repeats`` runs, after one warm-up run; characters per second counts every sample's characters.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from rnnkit.train import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    rows = []
    for n in args.batches:
        model.generate("ROMEO:\n", 20, n=n, seed=0)  # warm-up: first-call allocations
        best = float("inf")
        for repeat in range(args.repeats):
            start = time.perf_counter()
            texts = model.generate("ROMEO:\n", args.length, n=n, seed=repeat)
            best = min(best, time.perf_counter() - start)
        characters = sum(len(text) for text in texts)
        rows.append({"batch": n, "length": args.length, "seconds": round(best, 3),
                     "characters_per_s": round(characters / best), "steps_per_s": round(args.length / best)})
        print(rows[-1], flush=True)
    print(json.dumps({"threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
