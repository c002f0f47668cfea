"""``rnnkit.AutoForecaster``: a forecaster chosen, within a wall-time budget, on the training data alone.

    auto = rnnkit.AutoForecaster(target="passengers", time="month", horizon=12, budget="3m")
    auto.fit(data)                 # the search: backtest folds inside ``data``, nothing after it is read
    auto.predict()                 # forecast (the chosen model), rnn (the recurrent ensemble alone), quantiles
    auto.table, auto.summary       # every candidate tried with its fold MASE; what was chosen and why
    auto.save("runs/air/auto"); auto = rnnkit.AutoForecaster.load("runs/air/auto")

The search (``rnnkit.pipelines.select.folds`` explains the folds; the score is the fold MASE, lower is better):

1. the classical baselines (seasonal naive, Theta, Holt-Winters, ETS, the airline SARIMA), cheapest first;
2. four recurrent forecasters from one small default (16 units, 300 steps, lookback 2 x max(horizon, season),
   direct decoder, no weight decay, ``BOOTSTRAP`` bootstrapped copies of each seasonal series beside it in the
   training data): the series as they are, on log y, on Box-Cox y (lambda per series), and the ES-RNN hybrid
   (``members``); one that would not fit in the budget is skipped. The bootstrapped copies (Bergmeir et al. 2016;
   as augmentation for recurrent forecasters, Bandara et al. 2021) lowered the recurrent ensemble's mean MASE on
   both development spans of the suite (``bench/forecast_combination_dev.py``, 22 series each) from 1.232/1.311 to
   1.201/1.278 with 4 copies (1.212/1.267 with 9) and left the combination used level (1.080/1.088 to
   1.093/1.078). A wider search (coordinate descent
   over network size, training length, lookback, decoder and weight decay after these) chose worse on the suite's
   development span than more seeds of these four: chosen mean MASE 1.138 and 1.153 (two seeds of the bench)
   against 1.087 and 1.097, the recurrent ensemble alone 1.268/1.283 against 1.227/1.242, 22 series. Fold scores of
   one seed rank the variants by noise as much as by skill;
3. while the budget allows, more seeds for the best ``ENSEMBLE`` recurrent candidates, round by round (up to
   ``MAX_SEEDS``): a candidate's fold forecasts become the median over its seeds, so that neither the ranking nor
   the ensemble rests on one initialisation;
4. the recurrent ensemble: the median of the best ``ENSEMBLE`` recurrent candidates; the combination used is the
   ensemble with the two baselines of lowest fold MASE in equal shares (``rnnkit.pipelines.select.combine`` says
   why a fixed form beats the lowest-scoring one); the ensemble alone and with each baseline are scored beside it;
5. the final fit on all the data: each ensemble member with as many seeds (up to ``MAX_SEEDS``) as the budget
   left allows, the combination's baselines; conformal intervals (``rnnkit.eval.conformal``) from the fold errors
   of every combination scored.

Options other than ``budget``, ``folds``, ``windows`` and ``progress`` are ``rnnkit.Forecaster``'s: the columns,
horizon and frequency, and what the recurrent candidates share (cell, layers, learning rate, ...); the search sets
their transform, size, decoder, weight decay and bootstrapped copies, their lookback unless ``lookback`` is given,
and their training steps up to ``train.max_steps``.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._config import config_from_dict, config_to_dict
from rnnkit.data.timeseries import (Panel, forecast_table, future_index, pandas, quantile_column,
                                    season_length)
from rnnkit.errors import UserError
from rnnkit.eval.baselines import affordable
from rnnkit.eval.conformal import Calibration
from rnnkit.pipelines.forecaster import Forecaster, ForecasterConfig, _series_from_json, _series_to_json
from rnnkit.pipelines.select import combine
from rnnkit.pipelines.select.auto_folder import read_document, refuse_overwrite, write_document
from rnnkit.pipelines.select.budget import Budget
from rnnkit.pipelines.select.folds import Folds, plan_folds
from rnnkit.pipelines.select.members import BaselineMember, HybridMember, RnnMember, load_member
from rnnkit.pipelines.select.search import Search, Trial

DEFAULT_BUDGET = "3m"
BASELINES = ("seasonal_naive", "theta", "holt_winters", "ets", "sarima")
ENSEMBLE = 3  # recurrent candidates in the ensemble
MAX_SEEDS = 10  # seeds per recurrent candidate on the folds, and per ensemble member in the final fit
BOOTSTRAP = 4  # bootstrapped training copies of each seasonal series (``rnnkit.data.timeseries.bootstrap``)
FORMAT_VERSION = 1
RNN_ALONE = "rnnkit RNN alone"  # the backtest's label of the recurrent ensemble, shown beside the chosen model


class AutoForecaster:
    """``AutoForecaster(config, budget=...)`` or ``AutoForecaster(budget=..., **forecaster_options)``."""

    def __init__(self, config: ForecasterConfig | None = None, *, budget: str | float | Budget = DEFAULT_BUDGET,
                 folds: int = 3, windows: int = 4, progress: str = "auto", baselines: tuple[str, ...] = BASELINES,
                 **options: Any) -> None:
        Budget.parse(budget)  # checked now
        self.budget, self.folds, self.windows, self.progress = budget, folds, windows, progress
        self.baselines = tuple(baselines)
        self.config = Forecaster(config, **options).config  # checked like a Forecaster's
        self.members: list[tuple[str, Any]] = []  # (candidate name, fitted member)
        self.combination: combine.Combination | None = None
        self.calibration: Calibration | None = None
        self.tail: Panel | None = None  # the training series (the baselines refit on them to forecast)
        self.history: list[dict[str, Any]] = []  # no training curves: many fits (the candidates table says more)
        self.table: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}
        self.backtest: Any = None  # the fold forecasts of the chosen model, the ensemble, the baselines (a table)

    # --- the search ---------------------------------------------------------------------------------------

    def fit(self, data: Any) -> AutoForecaster:
        reader = Forecaster(self.config)
        panel = reader.read(data)  # fixes horizon=None to one season
        # after the C++ kernels' first build: charged to the first trial, it made every later estimate too long
        budget = Budget.start(self.budget)
        c, season = self.config, season_length(panel.freq)
        lookback, folds = self._plan(panel, season)
        baselines = [name for name in self.baselines if affordable(name, season)]
        candidates = self.recurrent_candidates(panel, lookback, season)
        combinations = len(combine.scored(["rnn"], baselines, baselines)[0])  # their count does not need the ranking
        # the baselines, the recurrent candidates, their seed rounds (as far as the budget goes), the combinations
        planned = (len(baselines) + len(candidates) + min(ENSEMBLE, len(candidates)) * (MAX_SEEDS - 1)
                   + combinations)
        search = Search(budget, planned=planned, progress=self.progress, what="selection")
        self._folds = folds.count
        for name in baselines:
            member = BaselineMember(name, c.horizon, max_history=_max_history(season, lookback))
            search.run(name, {"kind": "baseline"}, lambda: _evaluate(folds, panel, lambda: member),
                       estimate=search.seconds(lambda t: t.settings.get("kind") == "baseline"))
        self._search_rnn(search, folds, panel, candidates)
        self._more_seeds(search, folds, panel)
        chosen, rnn_alone, tried = self._combine(search, folds)
        self._final_fit(search, panel, chosen, lookback)
        self.calibration = _calibrate(folds, panel, season, tried)
        self.combination, self.tail, self.table = chosen, panel, search.table()
        self.backtest = _fold_table(folds, panel, season, {
            "rnnkit": chosen.name, RNN_ALONE: rnn_alone.name,
            **{name: name for name in self.baselines}}, search)
        scores = {t.name: t.score for t in search.trials if t.ok}
        self.summary = {
            "chosen": chosen.name, "fold_mase": {"rnn": rnn_alone.score, "chosen": scores[chosen.name]},
            "why": _why(chosen, rnn_alone, scores), "seeds": self._seeds,
            "members": [name for name, _ in self.members], "folds": folds.count, "windows_per_fold": folds.windows,
            "budget_s": budget.seconds, "seconds": round(budget.spent(), 1)}
        search.close(f"chosen: {chosen.name} (fold MASE {scores[chosen.name]:.4g}; recurrent ensemble alone "
                     f"{rnn_alone.score:.4g}) in {budget.spent():.0f} s")
        return self

    def _plan(self, panel: Panel, season: int) -> tuple[int, Folds]:
        """The base lookback, 2 x max(horizon, season), and the folds it leaves room for; a short series gets
        max(horizon, season) when that leaves more backtest windows (more to choose and calibrate on)."""
        c, short = self.config, max(self.config.horizon, season)
        plans, problem = [], None
        for lookback in [c.lookback] if c.lookback else [2 * short, short]:
            try:
                plans.append((lookback, plan_folds(panel, c.horizon, season, need=lookback + c.horizon + c.validation,
                                                   folds=self.folds, windows=self.windows)))
            except UserError as error:
                problem = error
        if not plans:
            raise problem
        return max(plans, key=lambda plan: len(plan[1].origins[0]))  # ties: the longer lookback

    def recurrent_candidates(self, panel: Panel, lookback: int, season: int) -> list[dict[str, Any]]:
        """The settings (``_maker``'s) of the recurrent candidates: one small network on each transform, and the
        ES-RNN hybrid (seasonal series)."""
        positive = all((s.target > 0).all() for s in panel.series)
        steps = min(self.config.train.max_steps or 300, 300)
        network = {"kind": "rnn", "transform": "none", "hidden_size": 16, "max_steps": steps, "lookback": lookback,
                   "decoder": "direct", "weight_decay": 0.0, "bootstrap": BOOTSTRAP}
        candidates = [dict(network, transform=t) for t in (["none", "log", "boxcox"] if positive else ["none"])]
        if season >= 2:
            candidates.append(dict(network, kind="hybrid", transform="log" if positive else "none"))
        return candidates

    def _search_rnn(self, search: Search, folds: Folds, panel: Panel, candidates: list[dict[str, Any]]) -> None:
        """Each recurrent candidate on the folds, one seed; the first one's time sets aside what the final fit of
        the ensemble will need."""
        c = self.config
        for settings in candidates:
            estimate = search.seconds(lambda t: t.settings.get("kind") in ("rnn", "hybrid"))
            make = self._maker(settings, c.train.seed)
            trial = search.run(_name(settings), settings, lambda: _evaluate(folds, panel, make), estimate=estimate)
            trial.settings["seeds"] = 1
            if estimate is None and trial.ok:  # keep time for the final fit of the ensemble
                search.reserve = ENSEMBLE * _final_seconds(trial, folds.count)

    def _more_seeds(self, search: Search, folds: Folds, panel: Panel) -> None:
        """Round by round, one more seed for each of the best ``ENSEMBLE`` recurrent candidates (ranked again
        after every round), while the budget allows; a candidate's result is the median over its seeds."""
        runs = {t.name: [t.result] for t in search.trials if t.ok and t.settings.get("kind") in ("rnn", "hybrid")}
        for count in range(2, MAX_SEEDS + 1):
            added = False
            for trial in search.ranked(lambda t: t.name in runs)[:ENSEMBLE]:
                if len(runs[trial.name]) >= count:
                    continue
                make = self._maker(trial.settings, self.config.train.seed + len(runs[trial.name]))
                fresh = []

                def evaluate() -> tuple[float, np.ndarray]:
                    fresh.append(folds.backtest(panel, make))
                    median = np.median(np.stack(runs[trial.name] + fresh), axis=0)
                    return folds.score(median), median

                if search.refine(trial, evaluate, estimate=trial.seconds / len(runs[trial.name])):
                    runs[trial.name] += fresh
                    trial.settings["seeds"] = len(runs[trial.name])
                    added = True
            if not added:
                return

    def _maker(self, settings: dict[str, Any], seed: int) -> Any:
        config = copy.deepcopy(self.config)
        config.transform, config.lookback = settings["transform"], settings["lookback"]
        config.bootstrap = settings["bootstrap"]
        config.model = dataclasses.replace(config.model, output="point", decoder=settings["decoder"],
                                           rnn=dataclasses.replace(config.model.rnn,
                                                                   hidden_size=settings["hidden_size"]))
        config.train = dataclasses.replace(config.train, max_steps=settings["max_steps"], seed=seed,
                                           weight_decay=settings["weight_decay"],
                                           progress="none")  # the search's line speaks for its many short fits
        if settings["kind"] == "hybrid":
            config.calendar = False  # the smoothing took the season out
            return lambda: HybridMember(config)
        return lambda: RnnMember(config)

    def _combine(self, search: Search, folds: Folds) -> tuple[combine.Combination, Trial, list[Trial]]:
        """The combination used, the recurrent ensemble's trial and every combination's trial."""
        ranked = search.ranked(lambda t: t.settings.get("kind") in ("rnn", "hybrid"))[:ENSEMBLE]
        if not ranked:
            failures = "; ".join(f"{t.name}: {t.status}" for t in search.trials if t.settings.get("kind") != "baseline")
            raise UserError(f"no recurrent candidate could be fitted within the budget ({failures or 'none ran'}); "
                            f"give a larger budget")
        rnn = [t.name for t in ranked]
        results = {t.name: t.result for t in search.trials if t.ok}
        baselines = [t.name for t in search.trials if t.ok and t.settings["kind"] == "baseline"]
        ranked_baselines = [t.name for t in search.ranked(lambda t: t.settings.get("kind") == "baseline")]
        combinations, chosen = combine.scored(rnn, baselines, ranked_baselines)
        trials = {}
        for combination in combinations:  # no fitting: the members' fold forecasts, combined
            forecasts = combination.combine([results[name] for name in rnn], results)
            trials[combination.name] = search.run(combination.name, {"kind": "combination"},
                                                  lambda: (folds.score(forecasts), forecasts))
        return chosen, trials[combinations[0].name], [t for t in trials.values() if t.ok]

    def _final_fit(self, search: Search, panel: Panel, chosen: combine.Combination, lookback: int) -> None:
        trials = {t.name: t for t in search.trials}
        estimate = sum(_final_seconds(trials[name], self._folds) for name in chosen.rnn)
        self._seeds = max(1, min(MAX_SEEDS, int(search.budget.left() // max(estimate, 1e-9))))
        self.members = []
        for seed in range(self._seeds):
            for name in chosen.rnn:
                make = self._maker(trials[name].settings, self.config.train.seed + seed)
                self.members.append((name, make().fit(panel)))
        for name in chosen.baselines:
            member = BaselineMember(name, self.config.horizon, _max_history(season_length(panel.freq), lookback))
            self.members.append((name, member.fit(panel)))

    # --- forecasting -----------------------------------------------------------------------------------------

    def read(self, data: Any) -> Panel:
        """``data`` read as the members read it, and refused when its frequency is not the training data's."""
        return self._reader().read(data)

    def _reader(self) -> Forecaster:
        reader = Forecaster(self.config)
        reader.freq = None if self.tail is None else self.tail.freq  # a fitted model: new data at its frequency
        return reader

    def predict(self, data: Any = None, horizon: int | None = None, quantiles: tuple[float, ...] | None = None
                ) -> Any:
        """Forecasts after the end of each series of ``data`` (default: the training data), ``horizon`` steps at
        most (default: the model's): columns ``id, time, target, forecast`` (the chosen model), ``rnn`` (the
        recurrent ensemble alone) and one per quantile level (default: the config's)."""
        if self.combination is None:
            raise UserError("this AutoForecaster is not fitted yet: call fit(data) first")
        panel = self.tail if data is None else self.read(data)
        levels = tuple(quantiles) if quantiles is not None else self.config.model.quantiles
        season = season_length(panel.freq)
        if horizon is not None and not 1 <= horizon <= self.config.horizon:
            raise UserError(f"horizon must be in 1..{self.config.horizon} (the model's horizon), got {horizon}")
        reader = self._reader()  # known-future covariates: as far as they are given
        steps = [reader.check_future(s, horizon or self.config.horizon, exact=horizon is not None)
                 for s in panel.series]
        origins = [[len(s)] for s in panel.series]
        outputs = {}
        for name, member in self.members:
            outputs.setdefault(name, []).append(np.stack(member.forecast_from(panel, origins)))  # (S, H, N)
        rnn = [forecast for name in self.combination.rnn for forecast in outputs[name]]
        point = self.combination.combine(rnn, {name: outputs[name][0] for name in self.combination.baselines})
        alone = np.median(np.stack(rnn), axis=0)
        offsets = self.calibration.offsets(levels)  # (H, N, Q)
        pd, frames = pandas(), []
        for i, (s, count) in enumerate(zip(panel.series, steps)):
            z = combine.to_space(point[i, :count], s.target, season)[..., None] + offsets[:count]  # (H, N, Q)
            bands = np.moveaxis(combine.from_space(np.moveaxis(z, -1, 0), s.target, season), 0, -1)
            times = future_index(s, panel.freq, count)
            columns = {"id": s.id, "time": np.repeat(np.asarray(times), point.shape[2]),
                       "target": np.tile(np.asarray(self.config.target, dtype=object), count),
                       "forecast": point[i, :count].reshape(-1), "rnn": alone[i, :count].reshape(-1)}
            for j, level in enumerate(levels):
                columns[quantile_column(level)] = bands[:, :, j].reshape(-1)
            frames.append(pd.DataFrame(columns))
        return pd.concat(frames, ignore_index=True)

    # --- the folder ------------------------------------------------------------------------------------------

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """``auto.json`` (the search table, the combination, the calibration, the training series) and one
        model folder per recurrent member under ``members/``."""
        folder = Path(folder)
        refuse_overwrite(folder, overwrite)
        members = []
        for k, (name, member) in enumerate(self.members):
            members.append({"name": name, **member.save(folder / "members" / str(k))})
        document = {"format_version": FORMAT_VERSION, "config": config_to_dict(self.config),
                    "combination": self.combination.to_dict(), "calibration": self.calibration.to_dict(),
                    "members": members, "summary": self.summary, "table": self.table, "freq": self.tail.freq,
                    "series": [_series_to_json(s) for s in self.tail.series]}
        return write_document(folder, document)

    @classmethod
    def load(cls, folder: str | Path) -> AutoForecaster:
        folder = Path(folder)
        path, document = read_document(folder, FORMAT_VERSION, "AutoForecaster")
        self = cls(config_from_dict(ForecasterConfig, document["config"], where=str(path)))
        self.combination = combine.Combination(**document["combination"])
        self.calibration = Calibration.from_dict(document["calibration"])
        self.members = [(m["name"], load_member(m, folder / "members" / str(k)))
                        for k, m in enumerate(document["members"])]
        self.summary, self.table = document["summary"], document["table"]
        self.tail = Panel([_series_from_json(s) for s in document["series"]], self.config.columns,
                          document["freq"])
        return self


def _evaluate(folds: Folds, panel: Panel, make: Any) -> tuple[float, np.ndarray]:
    forecasts = folds.backtest(panel, make)
    return folds.score(forecasts), forecasts


def _calibrate(folds: Folds, panel: Panel, season: int, combinations: list[Trial]) -> Calibration:
    """Conformal calibration, in each series' space, on the fold errors of every combination scored: the chosen
    one's alone are optimistic, as its baselines were ranked on the same folds (when the lowest-scoring
    combination was chosen, its own errors gave 80% intervals that covered 0.75 on the suite's dev span, those of
    all the combinations 0.82)."""
    residuals = [combine.to_space(folds.actual[i, w], s.target[:o], season)
                 - combine.to_space(trial.result[i, w], s.target[:o], season)
                 for trial in combinations
                 for i, (s, origins) in enumerate(zip(panel.series, folds.origins)) for w, o in enumerate(origins)]
    return Calibration.from_residuals(np.stack(residuals))


def _fold_table(folds: Folds, panel: Panel, season: int, models: dict[str, str], search: Search) -> Any:
    """The backtest table (``rnnkit.data.timeseries.forecast_table``) of the fold forecasts of ``models``
    (label: candidate name) that ran."""
    results = {t.name: t.result for t in search.trials if t.ok}
    tables = [forecast_table(label, s, o, panel.columns.target, s.index[o:o + folds.horizon], results[name][i, w],
                             season)
              for label, name in models.items() if name in results
              for i, (s, origins) in enumerate(zip(panel.series, folds.origins)) for w, o in enumerate(origins)]
    return pandas().concat(tables, ignore_index=True)


def _final_seconds(trial: Trial, folds: int) -> float:
    """A fit on all the data: a fold's fit (the trial's time over its folds), a little longer for more rows."""
    return 1.3 * trial.seconds / folds


def _max_history(season: int, lookback: int) -> int:
    """Rows the baselines fit on before each origin: 20 seasons (statsmodels slows down on long series)."""
    return max(20 * season, 4 * lookback)


def _name(settings: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" if key != "kind" else value for key, value in settings.items())


def _why(chosen: combine.Combination, alone: Trial, scores: dict[str, float]) -> str:
    if not chosen.baselines:
        return f"no baseline ran: the recurrent ensemble alone (fold MASE {alone.score:.4g})"
    return (f"the recurrent ensemble and {' and '.join(chosen.baselines)}, the best baselines by fold MASE, in equal "
            f"shares (a fixed form: picking the combination with the lowest fold MASE is optimistic): fold MASE "
            f"{scores[chosen.name]:.4g}, against {alone.score:.4g} for the recurrent ensemble alone")
