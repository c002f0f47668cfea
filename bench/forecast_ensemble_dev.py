"""Which recurrent candidates ``AutoForecaster``'s ensemble should pool, weighed on development spans only: the
best three by fold MASE (the default) against all four, a second lookback, and each candidate alone; by themselves
and in the default combination (with the two baselines of lowest fold MASE).

    taskset -c 0 env OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_ensemble_dev.py --depth 1 --out e1.json
    taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_ensemble_dev.py --depth 2 --out e2.json
    .venv/bin/python bench/forecast_ensemble_dev.py --load e1.json e2.json      # the table again, nothing run

Protocol as ``bench/forecast_combination_dev.py`` (each suite series, and the airline, loses its test span and
``depth - 1`` more horizons; the last horizon left is held out, the test span is never read), but the candidates
are fitted here, not by a budgeted search, so that every rule is applied to the same fits: each of the selection's
four recurrent candidates (``AutoForecaster.recurrent_candidates``) at its lookback and at the short one
(max(horizon, season)), ``--seeds`` seeds each, on the selection's folds and on all the training rows; the baselines
likewise. A candidate's fold forecasts are the median over its seeds (as the selection's); an ensemble's held-out
forecast is the median over all its members' seeds (as ``AutoForecaster.predict``'s). About 35 minutes a depth on
one core with 4 seeds.

What it gave (4 seeds; mean MASE of 22 series at depths 1 and 2): all four 1.211/1.299 alone and 1.074/1.085
combined, the best three 1.239/1.323 and 1.080/1.091. The product with all four pooled did not confirm it
(``bench/forecast_combination_dev.py`` on that code: 1.085/1.092 combined, 1.294/1.313 alone, against the best
three's 1.079/1.091 and 1.226/1.318 from an earlier run, 1.076 and 1.238 at depth 1 in a run the same day): the
rules differ by less than the seed noise (woolyrnq's ensemble of all four, alone, scored 0.585 here with 4 seeds
and 1.589 in the product with 10), so the default was left as it was.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from rnnkit.errors import UserError
from rnnkit.eval.baselines import affordable
from rnnkit.pipelines.forecaster import Forecaster
from rnnkit.pipelines.select import AutoForecaster
from rnnkit.pipelines.select.combine import SHARED
from rnnkit.pipelines.select.forecast import _evaluate, _max_history
from rnnkit.pipelines.select.members import BaselineMember

from suite_data import SERIES, development_arguments, development_split, mase, read_development_runs

AIRLINE = "datasets/AirPassengers"  # reported apart (MAPE), not in the suite's mean


def collect(name: str, depth: int, seeds: int) -> dict | None:
    train, held, season, horizon = development_split(*name.split("/"), depth)
    auto = AutoForecaster(target="value", time="time", horizon=horizon, progress="none")
    panel = Forecaster(auto.config).read(train)
    try:
        lookback, folds = auto._plan(panel, season)
    except UserError as error:  # too short at this depth for one backtest window
        print(f"{name}: skipped at depth {depth} ({error})", flush=True)
        return None
    record = {"season": season, "train": train["value"].tolist(), "held": held.tolist(),
              "actual": folds.actual.tolist(), "scale": folds.scale.tolist(), "lookback": lookback,
              "baselines": {}, "candidates": {}}  # candidates: "kind transform lookback" -> (folds, held-out)
    end = [[len(s)] for s in panel.series]
    for baseline in (b for b in auto.baselines if affordable(b, season)):
        member = BaselineMember(baseline, horizon, max_history=_max_history(season, lookback))
        record["baselines"][baseline] = (_evaluate(folds, panel, lambda: member)[1].tolist(),
                                         np.stack(member.fit(panel).forecast_from(panel, end)).tolist())
    short = max(horizon, season)
    for length in [lookback] + ([short] if lookback != short else []):
        for settings in auto.recurrent_candidates(panel, length, season):  # the selection's own
            fold_runs, held_runs = [], []
            for seed in range(seeds):
                make = auto._maker(settings, seed)
                fold_runs.append(folds.backtest(panel, make))
                held_runs.append(np.stack(make().fit(panel).forecast_from(panel, end)))
            name = f"{settings['kind']} {settings['transform']} {length}"
            record["candidates"][name] = (np.stack(fold_runs).tolist(), np.stack(held_runs).tolist())
    return record


def rules(record: dict) -> dict[str, np.ndarray]:
    """Each rule's held-out forecast (the ensemble alone, and with the two best baselines in equal shares)."""
    candidates = {name: [np.asarray(runs) for runs in pair] for name, pair in record["candidates"].items()}
    baseline = {name: [np.asarray(runs) for runs in pair] for name, pair in record["baselines"].items()}
    actual, scale = np.asarray(record["actual"]), np.asarray(record["scale"])

    def fold_mase(forecast: np.ndarray) -> float:
        return float(np.mean(np.abs(actual - forecast) / scale))

    score = {name: fold_mase(np.median(runs[0], axis=0)) for name, runs in candidates.items()}
    ranked = sorted(candidates, key=score.get)
    base = [name for name in ranked if int(name.split()[2]) == record["lookback"]]
    pools = {"best three by fold MASE (the default)": base[:3], "all four": base,
             "all eight (two lookbacks)": ranked, "best three of the eight": ranked[:3]}
    pools.update({" ".join(name.split()[:2]) + " alone": [name] for name in base})
    baselines = sorted(baseline, key=lambda b: fold_mase(baseline[b][0]))[:SHARED]
    out = {}
    for rule, names in pools.items():
        alone = np.median(np.concatenate([candidates[name][1] for name in names]), axis=0)
        out[rule] = alone
        out[rule + ", combined"] = np.mean([alone, *(baseline[b][1] for b in baselines)], axis=0)
    return out


def error(record: dict, forecast: np.ndarray, airline: bool) -> float:
    """MASE (MAPE for the airline) of a held-out forecast."""
    actual, forecast = np.asarray(record["held"]), forecast[0, :, 0]
    if airline:
        return 100 * float(np.mean(np.abs(actual - forecast) / actual))
    return mase(actual, forecast, np.asarray(record["train"]), record["season"])


def report(runs: dict[int, dict]) -> None:
    print("mean MASE on the held-out horizon (suite), and the airline's MAPE, per depth " + ", ".join(map(str, runs)))
    table: dict[str, list[str]] = {}
    for records in runs.values():
        scores: dict[str, list[float]] = {}
        for name, record in records.items():
            for rule, forecast in rules(record).items():
                scores.setdefault(rule, []).append(error(record, forecast, name == AIRLINE))
        suite = [name != AIRLINE for name in records]
        for rule, values in scores.items():
            values = np.asarray(values)
            cell = f"{values[suite].mean():.3f} ({sum(suite)})"
            cell += f" air {values[~np.asarray(suite)][0]:5.2f}" if not all(suite) else ""
            table.setdefault(rule, []).append(cell)
    for rule, cells in table.items():
        print(f"  {rule:55s} " + "   ".join(cells))


def main() -> None:
    parser = development_arguments(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    if args.load:
        report({depth: run["series"] for depth, run in read_development_runs(args.load).items()})
        return
    torch.set_num_threads(1)
    run = {"depth": args.depth, "seeds": args.seeds, "series": {}}
    for name in [f"{package}/{item}" for package, item in SERIES] + [AIRLINE]:
        if args.only and name not in args.only:
            continue
        clock = time.time()
        record = collect(name, args.depth, args.seeds)
        if record is None:
            continue
        run["series"][name] = record
        print(f"{name}: {time.time() - clock:.0f} s", flush=True)
        if args.out:
            args.out.write_text(json.dumps(run))
    report({args.depth: run["series"]})


if __name__ == "__main__":
    main()
