"""rnnkit's forecaster as an sktime forecaster (optional extra: ``pip install 'rnnkit[sktime]'``).

    from rnnkit.adapters.sktime import RnnkitForecaster
    from sktime.datasets import load_airline

    y = load_airline()
    forecaster = RnnkitForecaster(transform="log", steps=300).fit(y, fh=range(1, 13))
    forecaster.predict(), forecaster.predict_interval(coverage=0.8)

Univariate or multivariate ``y``; ``X`` columns are known-future covariates (sktime passes their future values to
``predict``). The horizon is fixed at ``fit`` (the network has a direct multi-step head): ``fh`` there is
required, and ``predict`` accepts any steps up to its largest. The output is a normal distribution per step, so
``predict_quantiles`` and ``predict_interval`` take any levels. ``update`` keeps the weights and forecasts from the
new data's end. Index types: ``DatetimeIndex``, ``PeriodIndex`` (as its start times) and integer indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit._optional import require

_sktime = require("sktime.forecasting.base", "sktime", package="sktime", why="for RnnkitForecaster")
pd = require("pandas", "sktime")

TIME = "__time__"


class RnnkitForecaster(_sktime.BaseForecaster):
    """sktime adapter of ``rnnkit.Forecaster``; the parameters are ``ForecasterConfig``'s (see there), flat as
    sktime's parameter search wants them: ``cell``, ``hidden_size``, ``num_layers`` and ``decoder`` go to its
    ``model``, ``steps`` (``max_steps``), ``batch_size``, ``lr`` and ``seed`` to its ``train``.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from rnnkit.adapters.sktime import RnnkitForecaster
    >>> y = load_airline()
    >>> forecaster = RnnkitForecaster(transform="log", steps=50).fit(y, fh=[1, 2, 3])
    >>> forecaster.predict().shape
    (3,)
    """

    _tags = {
        "authors": ["rnnkit"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "requires-fh-in-fit": True,
        "X-y-must-have-same-index": True,
        "python_dependencies": ["torch", "pandas"],
    }
    # The adapter keeps the data it forecasts from itself (y_seen_, X_seen_), so sktime need not (and does not
    # warn that its default for remembering data will change).
    _config = {"remember_data": False}

    def __init__(self, lookback: int | None = None, transform: str = "none", cell: str = "lstm",
                 hidden_size: int = 64, num_layers: int = 1, decoder: str = "direct", steps: int = 1000,
                 batch_size: int = 32, lr: float = 3e-3, seed: int = 0) -> None:
        self.lookback, self.transform, self.cell, self.hidden_size = lookback, transform, cell, hidden_size
        self.num_layers, self.decoder, self.steps, self.batch_size = num_layers, decoder, steps, batch_size
        self.lr, self.seed = lr, seed
        super().__init__()
        self._y = self._X = None  # what sktime would set if it remembered data (set_config may switch it on)

    def _fit(self, y: Any, X: Any = None, fh: Any = None) -> RnnkitForecaster:
        from rnnkit.data.timeseries import season_length
        from rnnkit.pipelines.forecaster import Forecaster

        horizon = int(np.max(fh.to_relative(self.cutoff)))
        if horizon < 1:
            raise ValueError(f"RnnkitForecaster forecasts the future only; fh reaches {horizon} steps ahead")
        self.targets_ = [f"y{i}" for i in range(y.shape[1])]
        self.covariates_ = [] if X is None else [f"x{i}" for i in range(X.shape[1])]
        frame = self._frame(y, X)
        freq = _freq(y.index)
        default = max(2 * horizon, 2 * season_length(freq) if freq else 2)
        lookback = self.lookback or max(1, min(default, len(y) - horizon))
        if len(y) < lookback + horizon:
            raise ValueError(f"y has {len(y)} rows; lookback {lookback} + horizon {horizon} are needed")
        self.forecaster_ = Forecaster(
            target=tuple(self.targets_), time=TIME, future_covariates=tuple(self.covariates_), horizon=horizon,
            freq=freq, lookback=lookback, transform=self.transform,
            model={"rnn": {"cell": self.cell, "hidden_size": self.hidden_size, "num_layers": self.num_layers},
                   "decoder": self.decoder, "output": "normal"},
            train={"max_steps": self.steps, "batch_size": self.batch_size, "lr": self.lr, "seed": self.seed})
        self.forecaster_.fit(frame)
        self.y_seen_, self.X_seen_ = y, X
        return self

    def _predict(self, fh: Any, X: Any = None) -> Any:
        values, _ = self._forecast(fh, X, ())
        return pd.DataFrame(values, index=fh.to_absolute_index(self.cutoff), columns=self.y_seen_.columns)

    def _predict_quantiles(self, fh: Any, X: Any, alpha: list[float]) -> Any:
        _, bands = self._forecast(fh, X, tuple(alpha))
        columns = pd.MultiIndex.from_product([list(self.y_seen_.columns), list(alpha)])
        data = bands.reshape(len(bands), -1)  # (steps, N * Q), target-major like the columns
        return pd.DataFrame(data, index=fh.to_absolute_index(self.cutoff), columns=columns)

    def _update(self, y: Any, X: Any = None, update_params: bool = True) -> RnnkitForecaster:
        # The weights stay; forecasts start from the end of the newest data.
        self.y_seen_ = _append(self.y_seen_, y)
        self.X_seen_ = None if X is None or self.X_seen_ is None else _append(self.X_seen_, X)
        return self

    def _forecast(self, fh: Any, X: Any, levels: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Point forecasts (steps, N) and quantiles (steps, N, Q) at the relative steps of ``fh``."""
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=int)
        horizon = self.forecaster_.config.horizon
        if steps.min() < 1 or steps.max() > horizon:
            raise ValueError(f"fh steps must be in 1..{horizon} (the horizon given to fit), got {steps.tolist()}")
        frame = self._frame(self.y_seen_, self.X_seen_, X, horizon)
        table = self.forecaster_.predict(frame, horizon=horizon, quantiles=levels or None)
        count = len(self.targets_)
        point = table["forecast"].to_numpy().reshape(horizon, count)[steps - 1]
        bands = np.stack([table[f"q{q:g}"].to_numpy().reshape(horizon, count) for q in levels], axis=-1) \
            if levels else np.zeros((horizon, count, 0))
        return point, bands[steps - 1]

    def _frame(self, y: Any, X: Any = None, X_future: Any = None, horizon: int = 0) -> Any:
        """y (and X) as a table with a time column; future rows carry X over the horizon, y empty."""
        frame = pd.DataFrame(np.asarray(y, dtype=float), columns=self.targets_)
        frame[TIME] = _times(y.index)
        if self.covariates_:
            frame[self.covariates_] = np.asarray(X.loc[y.index], dtype=float)
            if horizon:
                frame = pd.concat([frame, self._future_rows(y.index, X, X_future, horizon)], ignore_index=True)
        return frame

    def _future_rows(self, index: Any, X: Any, X_future: Any, horizon: int) -> Any:
        # sktime passes X for the fh steps (maybe not every step up to the horizon): take each future step's
        # row from the newest X that has it, and carry the nearest known row into steps no X covers.
        from sktime.forecasting.base import ForecastingHorizon

        ahead = ForecastingHorizon(np.arange(1, horizon + 1), is_relative=True).to_absolute_index(self.cutoff)
        known = X if X_future is None else pd.concat([X[~X.index.isin(X_future.index)], X_future])
        rows = known.reindex(known.index.union(ahead)).sort_index().ffill().bfill().loc[ahead]
        future = pd.DataFrame(np.asarray(rows, dtype=float), columns=self.covariates_)
        future[TIME] = _times(ahead)
        for target in self.targets_:
            future[target] = np.nan
        return future

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        return [{"steps": 5, "hidden_size": 4, "batch_size": 8},
                {"steps": 5, "hidden_size": 4, "cell": "gru", "decoder": "autoregressive", "lookback": 3}]


def _append(old: Any, new: Any) -> Any:
    """``new`` rows after ``old`` ones; a row in both takes the new values."""
    return pd.concat([old[~old.index.isin(new.index)], new]).sort_index()


def _times(index: Any) -> Any:
    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp().to_numpy()
    if isinstance(index, pd.DatetimeIndex):
        return index.tz_localize(None).to_numpy() if index.tz is not None else index.to_numpy()
    return np.asarray(index, dtype=np.int64)


def _freq(index: Any) -> str | None:
    """The pandas frequency of a time index (None for integer steps); a PeriodIndex's as a start-time alias."""
    if isinstance(index, pd.PeriodIndex):
        start = pd.tseries.frequencies.to_offset(index.freqstr.replace("M", "MS") if index.freqstr.endswith("M")
                                                 else index.freqstr)
        return start.freqstr
    if isinstance(index, pd.DatetimeIndex):
        return index.freqstr if index.freq is not None else (pd.infer_freq(index) if len(index) >= 3 else None)
    return None
