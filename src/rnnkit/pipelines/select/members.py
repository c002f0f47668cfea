"""What a forecasting selection fits and combines: the recurrent forecaster, the ES-RNN hybrid and the classical
baselines, behind one small protocol.

    member.fit(panel)                                  # train on every series of a Panel (rows known)
    member.forecast_from(panel, origins)               # point forecasts (H, N) from each origin of each series
    member.save(folder); load_member(document, folder)

``forecast_from`` reads the rows before each origin as inputs, so a member fitted at a fold's cut-off forecasts
from later origins without refitting (the recurrent members); the baselines refit at every origin (they have
no weights to keep) on at most ``max_history`` rows, one BLAS thread each (statsmodels' small matrices run
several times slower on a busy machine with more).

The hybrid, in the spirit of Smyl's ES-RNN (2020): each series' level-and-season exponential smoothing
(``select.smoothing``) divides out its seasonality (its priors, known before each row), a global recurrent
forecaster learns the deseasonalised series across all series, and its forecasts are multiplied back by the
priors of the horizon. Fitted in sequence, not jointly as Smyl's; the level is normalised by the forecaster's
window level (the mean of the window's last season), not the smoothed level.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.timeseries import Panel, Series, season_length
from rnnkit.eval.baselines import BASELINES
from rnnkit.pipelines.forecaster import Forecaster, ForecasterConfig
from rnnkit.pipelines.select.smoothing import Smoothing


def one_blas_thread() -> Any:
    """A context with BLAS limited to one thread (threadpoolctl, when installed; otherwise nothing changes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn and scipy installs bring it
        return contextlib.nullcontext()
    return threadpool_limits(1)


class RnnMember:
    """``rnnkit.Forecaster`` with a config (its own quantiles are not used: the selection calibrates)."""

    kind = "rnn"

    def __init__(self, config: ForecasterConfig) -> None:
        self.config = dataclasses.replace(config, intervals="model")
        self.forecaster: Forecaster | None = None

    def fit(self, panel: Panel) -> RnnMember:
        self.forecaster = Forecaster(copy.deepcopy(self.config)).fit_panel(panel)
        return self

    def forecast_from(self, panel: Panel, origins: list[list[int]]) -> list[np.ndarray]:
        return self.forecaster.forecast_from(panel, origins)

    def save(self, folder: Path) -> dict[str, Any]:
        self.forecaster.save(folder, overwrite=True)
        return {"kind": self.kind}

    @classmethod
    def load(cls, document: dict[str, Any], folder: Path) -> RnnMember:
        forecaster = Forecaster.load(folder)
        member = cls(forecaster.config)
        member.forecaster = forecaster
        return member


class HybridMember(RnnMember):
    """ES-RNN-style: exponential smoothing deseasonalises each series, a global forecaster learns the rest."""

    kind = "hybrid"

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__(config)
        self.smoothing: dict[str, list[Smoothing]] = {}

    def fit(self, panel: Panel) -> HybridMember:
        season = season_length(panel.freq)
        self.smoothing = {s.id: [Smoothing.fit(column, season) for column in s.target.T] for s in panel.series}
        return super().fit(self._deseasonalised(panel)[0])

    def forecast_from(self, panel: Panel, origins: list[list[int]]) -> list[np.ndarray]:
        plain, priors = self._deseasonalised(panel)
        forecasts = iter(super().forecast_from(plain, origins))
        out = []
        for s, wanted, prior in zip(panel.series, origins, priors):
            smoothing = self._smoothing(s)
            phase = np.arange(self.config.horizon) % smoothing[0].season
            for origin in wanted:  # step j's prior: the index of its phase made from the rows before the origin
                ahead, d = prior[origin + phase], next(forecasts)
                out.append(np.stack([sm.reseasonalise(d[:, j], ahead[:, j]) for j, sm in enumerate(smoothing)],
                                    axis=1))
        return out

    def _smoothing(self, s: Series) -> list[Smoothing]:
        """A series' fitted smoothing; a series not seen in training is smoothed on its own rows."""
        if s.id not in self.smoothing:
            season = next(iter(self.smoothing.values()))[0].season
            self.smoothing[s.id] = [Smoothing.fit(column, season) for column in s.target.T]
        return self.smoothing[s.id]

    def _deseasonalised(self, panel: Panel) -> tuple[Panel, list[np.ndarray]]:
        """The panel with deseasonalised targets, and each series' priors (T + m, N): row t's uses rows < t."""
        series, priors = [], []
        for s in panel.series:
            smoothing = self._smoothing(s)
            prior = np.stack([sm.priors(s.target[:, j], sm.season) for j, sm in enumerate(smoothing)], axis=1)
            target = np.stack([sm.deseasonalise(s.target[:, j], prior[:len(s), j])
                               for j, sm in enumerate(smoothing)], axis=1)
            series.append(Series(s.id, s.index, target, s.past, s.future))
            priors.append(prior)
        return Panel(series, panel.columns, panel.freq), priors

    def save(self, folder: Path) -> dict[str, Any]:
        return {**super().save(folder),
                "smoothing": {key: [sm.to_dict() for sm in value] for key, value in self.smoothing.items()}}

    @classmethod
    def load(cls, document: dict[str, Any], folder: Path) -> HybridMember:
        member = super().load(document, folder)
        member.smoothing = {key: [Smoothing(**sm) for sm in value] for key, value in document["smoothing"].items()}
        return member


class BaselineMember:
    """A classical baseline of ``rnnkit.eval.baselines`` by name, refitted at every origin."""

    kind = "baseline"

    def __init__(self, name: str, horizon: int, max_history: int | None = None) -> None:
        self.name, self.horizon, self.max_history = name, horizon, max_history
        self.season = 1

    def fit(self, panel: Panel) -> BaselineMember:
        self.season = season_length(panel.freq)
        return self

    def forecast_from(self, panel: Panel, origins: list[list[int]]) -> list[np.ndarray]:
        forecast, out = BASELINES[self.name], []
        with one_blas_thread():
            for s, wanted in zip(panel.series, origins):
                for origin in wanted:
                    start = 0 if self.max_history is None else max(0, origin - self.max_history)
                    try:
                        out.append(np.stack([forecast(s.target[start:origin, j], self.horizon, self.season)
                                             for j in range(s.target.shape[1])], axis=1))
                    except (ArithmeticError, IndexError, RuntimeError) as error:  # statsmodels on odd series
                        raise ValueError(f"{self.name} on series {s.id!r}: {error}") from error
        return out

    def save(self, folder: Path) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "horizon": self.horizon, "max_history": self.max_history,
                "season": self.season}

    @classmethod
    def load(cls, document: dict[str, Any], folder: Path) -> BaselineMember:
        member = cls(document["name"], document["horizon"], document["max_history"])
        member.season = document["season"]
        return member


MEMBERS = {member.kind: member for member in (RnnMember, HybridMember, BaselineMember)}


def load_member(document: dict[str, Any], folder: Path) -> Any:
    return MEMBERS[document["kind"]].load(document, folder)
