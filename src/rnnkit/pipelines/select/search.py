"""The budgeted search engine: trials run one at a time while the budget allows, each scored (lower is better)
and recorded in one table, whatever is being searched (forecasters on backtest folds, classifiers on a
validation split).

    search = Search(Budget.parse("5m"), planned=12)
    trial = search.run("rnn hidden_size=16", {"hidden_size": 16}, lambda: (score, fold_forecasts), estimate=20.0)
    search.best().settings; search.table()          # the candidates table (metrics.json, report.html)

A trial whose ``estimate`` (seconds) does not fit in what is left of the budget, less ``reserve`` (set aside for
the final refit), is recorded as skipped and not run. A trial that raises ``UserError`` or ``ValueError`` (a log
transform of a series with zeros, a lookback longer than the data) is recorded as failed; the search goes on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from rnnkit.errors import UserError
from rnnkit.pipelines.select.budget import Budget, SearchProgress


@dataclasses.dataclass
class Trial:
    name: str
    settings: dict[str, Any]
    score: float = math.nan  # lower is better; NaN when not run or failed
    seconds: float = 0.0
    status: str = "ok"  # "ok", "failed: <why>", "skipped: budget"
    result: Any = None  # what the evaluation returned besides the score (kept out of the table)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)  # more columns for the table

    @property
    def ok(self) -> bool:
        return self.status == "ok" and math.isfinite(self.score)

    def row(self) -> dict[str, Any]:
        return {"candidate": self.name, **self.settings, "score": None if not self.ok else self.score,
                **self.details, "seconds": round(self.seconds, 2), "status": self.status}


class Search:
    """Trials in the order they are asked for; ``planned`` sizes the progress bar: the trials and refinements
    (``refine``) the caller expects to run."""

    def __init__(self, budget: Budget, *, planned: int = 0, progress: str = "auto", what: str = "search") -> None:
        self.budget, self.planned = budget, planned
        self.reserve = 0.0  # seconds kept for what follows the search
        self.trials: list[Trial] = []
        self.steps = 0  # trials and refinements so far: the progress bar's count
        self.progress = SearchProgress(progress, what=what)

    def run(self, name: str, settings: dict[str, Any], evaluate: Callable[[], tuple[float, Any]], *,
            estimate: float | None = None) -> Trial:
        """Run ``evaluate() -> (score, result)`` unless the budget says no; the trial is recorded either way."""
        trial = Trial(name, dict(settings))
        if estimate is not None and not self.budget.allows(estimate + self.reserve):
            trial.status = "skipped: budget"
        else:
            started = self.budget.clock()
            try:
                trial.score, trial.result = evaluate()
                trial.score = float(trial.score)
            except (UserError, ValueError) as error:
                trial.status = f"failed: {str(error).splitlines()[0][:200]}"
            trial.seconds = self.budget.clock() - started
            if trial.status == "ok" and not math.isfinite(trial.score):
                trial.status = "failed: score is not finite"
        self.trials.append(trial)
        self._show(f"{name} {trial.score:.4g}" if trial.ok else f"{name} {trial.status}")
        return trial

    def refine(self, trial: Trial, evaluate: Callable[[], tuple[float, Any]], *, estimate: float) -> bool:
        """Run ``evaluate() -> (score, result)`` again for ``trial`` (another seed, say) if the budget allows;
        on success the trial takes the new score and result. Whether it ran and succeeded."""
        if not trial.ok or not self.budget.allows(estimate + self.reserve):
            return False
        started = self.budget.clock()
        try:
            score, result = evaluate()
        except (UserError, ValueError):
            return False
        finally:
            trial.seconds += self.budget.clock() - started
        if not math.isfinite(score):
            return False
        trial.score, trial.result = float(score), result
        self._show(f"{trial.name} {trial.score:.4g} (again)")
        return True

    def _show(self, last: str) -> None:
        self.steps += 1
        best = self.best()
        self.progress.update(self.steps, max(self.planned, self.steps), best.score if best else None, last,
                             self.budget)

    def best(self, where: Callable[[Trial], bool] = lambda trial: True) -> Trial | None:
        ranked = self.ranked(where)
        return ranked[0] if ranked else None

    def ranked(self, where: Callable[[Trial], bool] = lambda trial: True) -> list[Trial]:
        """Trials that ran and scored, best first (ties: the earlier one)."""
        return sorted((t for t in self.trials if t.ok and where(t)), key=lambda t: t.score)

    def seconds(self, where: Callable[[Trial], bool] = lambda trial: True) -> float | None:
        """The mean duration of the trials that ran (an estimate for the next like them), None before any."""
        times = [t.seconds for t in self.trials if t.status != "skipped: budget" and where(t)]
        return sum(times) / len(times) if times else None

    def table(self) -> list[dict[str, Any]]:
        return [trial.row() for trial in self.trials]

    def close(self, message: str = "") -> None:
        self.progress.close(message)
