"""``rnnkit demo``: the memory demo (Elman RNN vs LSTM vs GRU on long time lags)."""

from __future__ import annotations

import argparse

from rnnkit.cli import common
from rnnkit.errors import UserError
from rnnkit.nn.config import CELLS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="RNN vs LSTM vs GRU on the long-time-lag problems (about 4 minutes on 2 cores)",
        description="Train an Elman RNN, an LSTM and a GRU of equal parameter count on the adding and "
                    "temporal-order problems at growing lags; write metrics.json, report.html and the models.")
    common.add_run_options(parser)
    parser.add_argument("--lags", type=common.positive_int, nargs="+", default=[10, 50, 100, 200],
                        help="time lags T to test (default: 10 50 100 200; the paper also uses 500 and 1000)")
    parser.add_argument("--problems", nargs="+", choices=["adding", "temporal-order"],
                        default=["adding", "temporal-order"])
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), default=["rnn", "lstm", "gru"],
                        help="also mingru, minlstm (three layers deep, as in their paper)")
    parser.add_argument("--max-steps", type=common.positive_int, default=1500,
                        help="training budget per model, in optimizer steps (default: 1500)")
    parser.add_argument("--workers", type=common.positive_int, default=2, help="parallel processes (default: 2)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from rnnkit.demo.memory import MemoryDemoConfig, run_memory_demo, smoke_config
    from rnnkit.eval.reports.memory_demo import format_table, table_rows, write_outputs

    config = smoke_config(MemoryDemoConfig(problems=tuple(args.problems), lags=tuple(args.lags),
                                           cells=tuple(args.cells), max_steps=args.max_steps, seed=args.seed,
                                           workers=args.workers))
    for lag in config.lags:
        if lag < 10:
            raise UserError(f"--lags: the long-lag problems need lags of at least 10, got {lag}")
    out = common.prepare_out_dir(args.out, args.force)
    jobs = len(config.problems) * len(config.lags) * len(config.cells)
    print(f"rnnkit demo: {jobs} models ({', '.join(config.cells)}) on {', '.join(config.problems)} "
          f"at lags {', '.join(map(str, config.lags))}; {config.workers} workers", flush=True)
    done = []

    def progress(result):
        done.append(result)
        state = f"solved in {result['steps_to_solve']} steps" if result["solved"] else "not solved"
        print(f"  [{len(done):2}/{jobs}] {result['problem']:14} lag {result['lag']:4} {result['cell']:4} "
              f"{state} ({result['seconds']:.0f} s)", flush=True)

    started = time.perf_counter()
    results = run_memory_demo(config, models_dir=out / "models", on_result=progress)
    seconds = time.perf_counter() - started
    write_outputs(out, config, results, seconds)
    print()
    print(format_table(table_rows(results)))
    print(f"\nwall time {seconds:.0f} s; wrote {out / 'metrics.json'}, {out / 'report.html'}, {out / 'models'}/")
    return 0
