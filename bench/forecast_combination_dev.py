"""How ``AutoForecaster`` combines its recurrent ensemble with the baselines, decided on development spans only:
the default (the ensemble with the two baselines of lowest fold MASE, in thirds) beside the rules it was weighed
against, all from the same fits.

    taskset -c 0 env OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_combination_dev.py --depth 1 --out d1.json
    taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_combination_dev.py --depth 2 --out d2.json
    .venv/bin/python bench/forecast_combination_dev.py --load d1.json d2.json      # the table again, nothing run

The default was chosen on depths 1 and 2 (mean MASE 1.079/1.091 against the earlier default's 1.080/1.166); depth 3,
run after the choice as a check, gave 0.941 against 0.991 (20 series; weights 1 / fold MASE 1.020, the median 1.014).
Rerun on 2026-12-01 with more rules (depth 1 / depth 2, 22 series each): the default 1.080/1.088; the ensemble with
the one, three or four best baselines in equal shares 1.086/1.162, 1.102/1.069, 1.112/1.037; with ETS, Theta and
SARIMA 1.103/1.071; the ensemble a half and the two or three best baselines the rest 1.095/1.127, 1.105/1.122; the
median of the ensemble and the three best 1.146/1.052; the two best baselines without the network 1.109/1.044. More
baselines help the second span and hurt the first; none is lower on both, and the third span favoured the default.

Protocol: each suite series (``bench/suite_data.py``) loses its test span and ``depth - 1`` more horizons; the
last horizon left is held out, ``AutoForecaster`` (defaults, ``--budget``) runs on the rest. Its backtest table
gives every part's fold forecasts (the recurrent ensemble alone and each baseline), so each rule is applied as the
selection would: weights and picks from the folds only, then scored by MASE on the held-out horizon with the same
parts' final forecasts (the baselines refitted on all the training rows, as the final fit does). The test span is
never read. About 20 minutes a depth on one core; ``--only`` splits a depth over cores (``--load`` joins the parts).
A series too short at a depth for one backtest window is skipped (USAccDeaths and ldeaths at depth 3).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from rnnkit.errors import UserError
from rnnkit.eval.baselines import BASELINES
from rnnkit.pipelines.select import AutoForecaster
from rnnkit.pipelines.select.combine import SHARED
from rnnkit.pipelines.select.forecast import DEFAULT_BUDGET, RNN_ALONE as ALONE, _max_history

from suite_data import SERIES, development_arguments, development_split, mase, read_development_runs


def parts(auto: AutoForecaster, train: np.ndarray, horizon: int, season: int) -> dict:
    """Per part (the ensemble and each baseline): fold forecasts, and the held-out forecast; the folds' actual
    values and MASE scales."""
    table = auto.backtest
    folds = {name: group.sort_values(["origin_time", "step"]) for name, group in table.groupby("model")}
    history = train[-_max_history(season, 0):]
    held = {name: BASELINES[name](history, horizon, season).tolist() for name in auto.baselines if name in folds}
    held[ALONE] = auto.predict()["rnn"].tolist()
    first = folds[ALONE]
    return {"actual": first["actual"].tolist(), "scale": first["scale"].tolist(),
            "folds": {name: folds[name]["forecast"].tolist() for name in held}, "held": held}


def rules(record: dict) -> dict[str, np.ndarray]:
    """Each rule's held-out forecast, its weights or picks taken from the fold errors only."""
    actual, scale = np.asarray(record["actual"]), np.asarray(record["scale"])
    folds = {name: np.asarray(f) for name, f in record["folds"].items()}
    held = {name: np.asarray(f) for name, f in record["held"].items()}
    fold_mase = {name: float(np.mean(np.abs(actual - f) / scale)) for name, f in folds.items()}
    baselines = sorted((name for name in folds if name != ALONE), key=fold_mase.get)

    def mean(names: list[str], where: dict) -> np.ndarray:
        return np.mean([where[name] for name in names], axis=0)

    def lowest(options: list[list[str]]) -> np.ndarray:
        best = min(options, key=lambda names: np.mean(np.abs(actual - mean(names, folds)) / scale))
        return mean(best, held)

    fixed = [ALONE, *baselines[:SHARED]]
    inverse = {name: 1 / score for name, score in fold_mase.items()}
    return {
        "default: ensemble + the two best baselines, thirds": mean(fixed, held),
        "lowest fold MASE of: ensemble alone, + one baseline (the earlier default)":
            lowest([[ALONE]] + [[ALONE, name] for name in baselines]),
        "lowest fold MASE of: ensemble alone, the default": lowest([[ALONE], fixed]),
        "weights 1 / fold MASE, all parts": sum(w * held[n] for n, w in inverse.items()) / sum(inverse.values()),
        "median of all parts": np.median(np.stack(list(held.values())), axis=0),
        "recurrent ensemble alone": held[ALONE],
        "ensemble + the best baseline, halves": mean([ALONE, *baselines[:1]], held),
        "ensemble + the three best baselines, quarters": mean([ALONE, *baselines[:3]], held),
        "ensemble + the four best baselines, fifths": mean([ALONE, *baselines[:4]], held),
        "ensemble + ets, theta, sarima (where run), equal shares":
            mean([ALONE, *(n for n in ("ets", "theta", "sarima") if n in held)], held),
        "ensemble a half, the two best baselines a quarter each":
            0.5 * held[ALONE] + 0.5 * mean(baselines[:SHARED], held),
        "ensemble a half, the three best baselines a sixth each":
            0.5 * held[ALONE] + 0.5 * mean(baselines[:3], held),
        "median of the ensemble and the three best baselines": np.median(
            np.stack([held[name] for name in [ALONE, *baselines[:3]]]), axis=0),
        "the two best baselines, halves (no network)": mean(baselines[:SHARED], held),
    }


def report(runs: list[dict]) -> None:
    scores = {}  # rule -> one list per run
    for run in runs:
        for record in run["series"].values():
            train, held = np.asarray(record["train"]), np.asarray(record["actual_held"])
            for rule, forecast in rules(record).items():
                scores.setdefault(rule, [[] for _ in runs])[runs.index(run)].append(
                    mase(held, forecast, train, record["season"]))
    for run in runs:  # the default rule, recomputed here, is the product's forecast
        for name, record in run["series"].items():
            ours = rules(record)["default: ensemble + the two best baselines, thirds"]
            assert np.allclose(ours, record["chosen_forecast"], rtol=1e-6), f"{name}: {record['chosen']}"
    print("mean MASE on the held-out horizon, per depth (" + ", ".join(str(r["depth"]) for r in runs) + ")")
    reference = np.concatenate(scores["lowest fold MASE of: ensemble alone, + one baseline (the earlier default)"])
    for rule, per_run in scores.items():
        difference = np.concatenate(per_run) - reference
        print(f"  {rule:75s} " + "  ".join(f"{np.mean(s):.3f} ({len(s)})" for s in per_run)
              + f"   against the earlier default: lower on {int((difference < -1e-9).sum())}, "
              f"higher on {int((difference > 1e-9).sum())}")


def main() -> None:
    parser = development_arguments(__doc__.splitlines()[0])
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.load:
        report(list(read_development_runs(args.load).values()))
        return
    torch.set_num_threads(1)
    run = {"depth": args.depth, "budget": args.budget, "seed": args.seed, "series": {}}
    for package, item in SERIES:
        name = f"{package}/{item}"
        if args.only and name not in args.only:
            continue
        train, held, season, horizon = development_split(package, item, args.depth)
        clock = time.time()
        try:
            auto = AutoForecaster(target="value", time="time", horizon=horizon, budget=args.budget, progress="none",
                                  train={"seed": args.seed}).fit(train)
        except UserError as error:  # too short at this depth for one backtest window
            print(f"{name}: skipped at depth {args.depth} ({error})", flush=True)
            continue
        y = train["value"].to_numpy(float)
        record = parts(auto, y, horizon, season)
        record.update(season=season, train=y.tolist(), actual_held=held.tolist(), chosen=auto.summary["chosen"],
                      chosen_forecast=auto.predict()["forecast"].tolist())
        run["series"][name] = record
        print(f"{name}: {time.time() - clock:.0f} s, {auto.summary['chosen']}", flush=True)
        if args.out:
            args.out.write_text(json.dumps(run))
    report([run])


if __name__ == "__main__":
    main()
