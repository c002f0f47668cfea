"""``rnnkit.Forecaster``: forecasting tables with a recurrent network, end to end.

    fc = rnnkit.Forecaster(target="passengers", time="month", horizon=12, transform="log",
                           model={"rnn": {"hidden_size": 32}}, train={"max_steps": 500})
    fc.fit("airline.csv")                     # a CSV or Parquet path, or a pandas DataFrame
    fc.predict()                              # the 12 months after the data: forecast and quantiles, as a DataFrame
    fc.backtest("airline.csv", folds=3)       # rolling-origin forecasts, one row per (series, origin, step, target)
    fc.save("runs/air/model"); fc = rnnkit.Forecaster.load("runs/air/model")

One series or many (``id=``: one global model across them), several targets, past and known-future covariates,
calendar features. Per-series scalers are fitted on the training rows only (before ``validation`` held-out rows,
and before each backtest origin) and saved in the model folder with the last ``lookback`` rows of history, so
``predict()`` on a loaded model needs no data unless the model reads known-future covariates.

``ForecasterConfig`` has three parts: the columns and time (its own fields), the network (``model``, a
``ForecastNetworkConfig`` handed whole to ``ForecastModel``) and the training (``train``, a ``TrainConfig``).
Options given as dicts keep the defaults they do not name (``train={"max_steps": 300}`` keeps the forecaster's
learning rate).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import field
from typing import Any

import numpy as np

from rnnkit._config import config_from_dict, config_to_dict
from rnnkit.data.checks import OUTLIER_ACTIONS
from rnnkit.data.timeseries import (
    Panel,
    Series,
    SeriesColumns,
    SeriesScalers,
    WindowDataset,
    bootstrapped,
    calendar_cycles,
    encode_series,
    forecast_table,
    future_index,
    known_steps,
    pandas,
    quantile_column,
    read_table,
    rolling_origins,
    season_length,
    to_panel,
    training_origins,
)
from rnnkit.errors import UserError
from rnnkit.eval.conformal import Calibration, calibration_origins
from rnnkit.tasks.models.forecasting import ForecastConfig, ForecastModel, ForecastNetworkConfig
from rnnkit.train import FitResult, TrainConfig, Trainer, load_model, save_model, seed_everything

TRANSFORMS = ("none", "log", "boxcox")
INTERVALS = ("conformal", "model")


def training_defaults() -> TrainConfig:
    """The forecaster's training: 1000 optimizer steps at a higher learning rate than ``TrainConfig``'s, no weight
    decay, on a CPU core (small recurrent forecasters train fastest there; "auto" or "cuda" for a GPU)."""
    return TrainConfig(max_steps=1000, lr=3e-3, weight_decay=0.0, device="cpu")


@dataclasses.dataclass
class ForecasterConfig:
    """Everything a ``Forecaster`` needs; saved in the model folder. Defaults derive from the data's season.

    ``train.max_steps`` fixes the optimizer steps (the epochs follow from the data's size; None: ``max_epochs``);
    ``train.patience``, ``monitor`` and ``restore_best`` apply only with ``validation`` rows."""

    target: tuple[str, ...] = field(metadata={"help": "target column(s) (required with DATA)", "metavar": "COL"})
    horizon: int | None = field(default=None, metadata={  # set when the data is read
        "help": "steps to forecast (none: one season of the data's frequency, 12 for monthly data)"})
    time: str | None = field(default=None, metadata={
        "help": "time column (none: rows are consecutive steps)", "metavar": "COL"})
    id: str | None = field(default=None, metadata={
        "help": "series id column: many series in long format, one model", "metavar": "COL"})
    past_covariates: tuple[str, ...] = field(default=(), metadata={
        "help": "covariates known only up to the forecast origin", "metavar": "COL"})
    future_covariates: tuple[str, ...] = field(default=(), metadata={
        "help": "known-future covariates (temperature forecast, holidays): give their values in rows after the "
                "last target value to forecast with them", "metavar": "COL", "flag": "--covariates"})
    freq: str | None = field(default=None, metadata={
        "help": "pandas frequency alias ('MS', 'D', '30min'; none: inferred from the timestamps)"})
    fill: str | None = field(default=None, metadata={
        "help": "fill gaps and missing values this way (none: report them as errors)",
        "choices": (None, "interpolate", "ffill", "zero")})
    sort: bool = field(default=False, metadata={"help": "sort unsorted timestamps instead of refusing them"})
    outliers: str = field(default="refuse", metadata={
        "help": "target values absurd for their series' scale (a million times its spread off its median): refuse "
                "them, clip them to the series' range with a warning, or keep them", "choices": OUTLIER_ACTIONS})
    calendar: bool = field(default=True, metadata={
        "help": "calendar features of the timestamps (time of day, day of week, month of year)"})
    transform: str = field(default="none", metadata={
        "help": "log: model log(y), for growth and multiplicative seasons; boxcox: each series its own Box-Cox "
                "lambda between none and log (Guerrero's method)", "choices": TRANSFORMS})
    lookback: int | None = field(default=None, metadata={
        "help": "steps read before each forecast (none: 2 x max(horizon, season))"})
    level: bool = field(default=True, metadata={
        "help": "remove each window's level (the mean of its last season) and add it back"})
    bootstrap: int = field(default=0, metadata={
        "help": "bootstrapped copies of each seasonal series added to the training data (STL trend and season, "
                "the remainder redrawn in blocks: rnnkit.data.timeseries.bootstrap); more windows for a short "
                "series, never forecast or scored"})
    validation: int = field(default=0, metadata={
        "help": "rows at each series' end held out to keep the best epoch (0: none)"})
    intervals: str = field(default="conformal", metadata={
        "help": "conformal: quantiles from the errors of a second fit, on all but the last two horizons, "
                "forecasting each origin after it (rnnkit.eval.conformal); model: the network's own",
        "choices": INTERVALS})
    model: ForecastNetworkConfig = field(default_factory=ForecastNetworkConfig)  # rnnkit.tasks.models.forecasting
    train: TrainConfig = field(default_factory=training_defaults)

    def __post_init__(self) -> None:
        for name in ("target", "past_covariates", "future_covariates"):
            value = getattr(self, name)
            setattr(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.transform not in TRANSFORMS:
            raise UserError(f"transform must be one of {list(TRANSFORMS)}, got {self.transform!r}")
        if self.intervals not in INTERVALS:
            raise UserError(f"intervals must be one of {list(INTERVALS)}, got {self.intervals!r}")
        if self.horizon is not None and (not isinstance(self.horizon, int) or self.horizon < 1):
            raise UserError(f"horizon must be an integer >= 1, got {self.horizon!r}")
        if not isinstance(self.bootstrap, int) or self.bootstrap < 0:
            raise UserError(f"bootstrap must be an integer >= 0, got {self.bootstrap!r}")
        if self.lookback is not None and self.lookback < 1:
            raise UserError(f"lookback must be >= 1, got {self.lookback}")

    @property
    def columns(self) -> SeriesColumns:
        return SeriesColumns(self.target, self.time, self.id, self.past_covariates, self.future_covariates)


class Forecaster:
    """Fit, predict, backtest, save and load a recurrent forecaster. ``Forecaster(**options)`` takes the fields
    of ``ForecasterConfig`` (``model`` and ``train`` as config objects, or as dicts of the settings to change);
    ``Forecaster(config)`` takes one."""

    def __init__(self, config: ForecasterConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise UserError("pass either a ForecasterConfig or options, not both")
        self.config = config if config is not None else config_from_dict(ForecasterConfig, options, where="Forecaster")
        self.model: ForecastModel | None = None
        self.freq: str | None = None
        self.cycles: list[str] = []  # calendar cycles encoded (those the training data spans twice)
        self.scalers: dict[str, SeriesScalers] = {}
        self.tail: Panel | None = None  # the last `lookback` rows of every training series
        self.history: list[dict[str, Any]] = []  # per-epoch training records
        self.result: FitResult | None = None  # the last fit's
        self.calibration: Calibration | None = None  # conformal intervals (None: the network's quantiles)

    # --- public API --------------------------------------------------------------------------------------

    def read(self, data: Any) -> Panel:
        """``data`` (a path, a DataFrame or a ``Panel``) checked against this forecaster's columns. The first
        read fixes ``horizon=None`` to one season of the data's frequency."""
        c = self.config
        if isinstance(data, Panel):
            panel = data
        else:
            where = str(data) if isinstance(data, str) or hasattr(data, "__fspath__") else "data"
            frame = read_table(data)
            if self.freq is not None and c.freq is None:  # a trained model: new data at its frequency
                self._same_frequency(frame, where)
            panel = to_panel(frame, c.columns, freq=c.freq or self.freq, fill=c.fill, sort=c.sort, where=where,
                             outliers=c.outliers)
        if c.horizon is None:
            season = season_length(panel.freq)
            if season == 1:
                raise UserError(f"frequency {panel.freq or 'steps'} has no season to take the horizon from; "
                                f"pass --horizon N (horizon=N in Python)")
            c.horizon = season
        return panel

    def _same_frequency(self, frame: Any, where: str) -> None:
        """Refuse new data whose timestamps are at another frequency than the training data's, naming both."""
        try:
            found = to_panel(frame, self.config.columns, fill="zero", sort=True, where=where, outliers="keep").freq
        except UserError:
            return  # what is wrong with the data is reported by the read at the model's frequency
        if found is not None and found != self.freq:
            raise UserError(f"{where}: its timestamps are at frequency {found!r}; the model was trained on {self.freq!r}"
                            f" data; give data at {self.freq!r}")

    def check_future(self, s: Any, wanted: int, *, exact: bool = False) -> int:
        """The steps series ``s`` gives known-future covariates for (at most ``wanted``); refused when there are
        none (or fewer than ``wanted`` with ``exact``). Run before training too: the forecast at the end needs them."""
        steps = known_steps(s, wanted)
        if steps < wanted and (exact or steps == 0):
            raise UserError(f"series {s.id!r}: known-future covariates {list(self.config.future_covariates)} "
                            f"are given for {steps} step(s) after the last target value, the forecast needs "
                            f"{wanted}; add future rows (covariates filled, target empty) or ask for fewer steps")
        return steps

    def fit(self, data: Any) -> Forecaster:
        """Train on every series in ``data``; returns ``self``."""
        return self.fit_panel(self.read(data))

    def predict(self, data: Any = None, horizon: int | None = None, quantiles: tuple[float, ...] | None = None) -> Any:
        """Forecasts after the end of each series in ``data`` (default: the training data) as a DataFrame with
        columns ``id, time, target, forecast`` and one ``q<level>`` column per quantile. A model that reads
        known-future covariates forecasts as many steps as ``data`` gives them for (at most ``horizon``).
        ``quantiles``: other levels than the config's (conformal intervals, or ``output="normal"``)."""
        model = self._fitted()
        panel = self.tail if data is None else self.read(data)
        wanted = self._horizon(horizon)
        levels = self._levels() if quantiles is None else tuple(quantiles)
        point, quantiles = self._forecast(panel, levels)
        pd = pandas()
        frames = []
        for s, p, q in zip(panel.series, point, quantiles):
            steps = self.check_future(s, wanted, exact=horizon is not None)
            times = future_index(s, panel.freq, steps)
            columns = {"id": s.id, "time": np.repeat(np.asarray(times), p.shape[1]),
                       "target": np.tile(np.asarray(self.config.target, dtype=object), steps),
                       "forecast": p[:steps].reshape(-1)}
            for j, level in enumerate(levels):
                columns[quantile_column(level)] = q[:steps, :, j].reshape(-1)
            frames.append(pd.DataFrame(columns))
        return pd.concat(frames, ignore_index=True)

    def backtest(self, data: Any, folds: int = 3, stride: int | None = None, *, retrain: bool = True) -> Any:
        """Rolling-origin backtest (see ``rnnkit.data.timeseries.backtest``): ``folds`` origins ``stride`` steps apart
        (default: the horizon), the last forecast ending at each series' end. ``retrain=True`` fits a new model on
        the rows before every origin; ``False`` fits once before the first origin and reuses it. Returns the
        backtest table (``model`` is ``"rnnkit"``)."""
        panel = self.read(data)
        c = self.config
        need = self._lookback(panel.freq) + c.horizon + c.validation
        origins = [rolling_origins(len(s), c.horizon, folds, stride, min_history=need, what=f"series {s.id!r}")
                   for s in panel.series]
        tables, fitted = [], None
        for k in range(folds):
            cut = [o[k] for o in origins]
            if retrain or fitted is None:
                fitted = Forecaster(copy.deepcopy(c)).fit_panel(panel.cut(cut))
            known = panel.cut(cut, keep_future=c.horizon)
            point, quantiles = fitted._forecast(known)
            levels = fitted._levels()
            for s, o, p, q in zip(panel.series, cut, point, quantiles):
                times = s.index[o:o + c.horizon]
                tables.append(forecast_table("rnnkit", s, o, c.target, times, p[:len(times)],
                                             season_length(panel.freq), levels, q[:len(times)]))
        return pandas().concat(tables, ignore_index=True)

    def save(self, folder: Any, *, overwrite: bool = False) -> Any:
        """Write the model folder (config.json + model.safetensors: weights, scalers, history tail)."""
        model = self._fitted()
        model.extra = {"forecaster": config_to_dict(self.config), "freq": self.freq, "cycles": self.cycles,
                       "scalers": {key: value.to_dict() for key, value in self.scalers.items()},
                       "tail": [_series_to_json(s) for s in self.tail.series],
                       "calibration": self.calibration.to_dict() if self.calibration is not None else None}
        return save_model(model, folder, overwrite=overwrite)

    @classmethod
    def load(cls, folder: Any) -> Forecaster:
        model = load_model(folder)
        if not isinstance(model, ForecastModel) or "forecaster" not in model.extra:
            raise UserError(f"{folder}: not a forecasting model (task {getattr(model, 'task', '?')!r})")
        extra = model.extra
        self = cls(config_from_dict(ForecasterConfig, extra["forecaster"], where=f"{folder}: forecaster"))
        self.model, self.freq, self.cycles = model, extra["freq"], list(extra["cycles"])
        self.scalers = {key: SeriesScalers.from_dict(value) for key, value in extra["scalers"].items()}
        self.tail = Panel([_series_from_json(s) for s in extra["tail"]], self.config.columns, self.freq)
        if extra.get("calibration") is not None:
            self.calibration = Calibration.from_dict(extra["calibration"])
        return self

    # --- the work ----------------------------------------------------------------------------------------

    def fit_panel(self, panel: Panel, *, resume: bool = False, **run: Any) -> Forecaster:
        """``fit`` on checked series (a ``Panel`` from ``read``). ``run``: ``TrainConfig`` settings for this fit
        alone, not kept in the config (``checkpoint_dir``, ``log_path``: a run folder's); ``resume``: continue
        from the latest checkpoint in ``checkpoint_dir``."""
        c = self.config
        self.freq = panel.freq
        longest = max(panel.series, key=len)
        self.cycles = calendar_cycles(longest.index[:len(longest) - c.validation], panel.freq) if c.calendar else []
        lookback, season = self._lookback(panel.freq), season_length(panel.freq)
        encoded, train, val = [], [], []
        for s in bootstrapped(panel, c.bootstrap, c.train.seed).series:
            rows = len(s) - c.validation
            if rows < lookback + c.horizon:
                raise UserError(f"series {s.id!r} has {len(s)} rows; training needs at least lookback + horizon"
                                f"{' + validation' if c.validation else ''} = {lookback + c.horizon + c.validation}")
            self.scalers[s.id] = SeriesScalers.fit(s, rows, transform=c.transform, season=season)
            encoded.append(encode_series(s, self.scalers[s.id], panel.freq, calendar=self.cycles, horizon=0))
            train.append(training_origins(len(s), lookback, c.horizon, stop=rows))
            val.append(training_origins(len(s), lookback, c.horizon, stop=len(s), start=rows) if c.validation else [])
        train_data = WindowDataset(encoded, train, lookback, c.horizon)
        val_data = train_data.view(val) if c.validation else None
        if val_data is not None and len(val_data) == 0:
            raise UserError(f"validation={c.validation} rows hold no whole horizon of {c.horizon}; use validation "
                            f">= horizon")
        seed_everything(c.train.seed)  # the model's initial weights too
        self.model = ForecastModel(ForecastConfig(
            input_size=train_data.encoder.shape[1], future_size=train_data.decoder.shape[1],
            num_targets=len(c.target), lookback=lookback, horizon=c.horizon, network=copy.deepcopy(c.model),
            level_window=min(lookback, season) if c.level else 0, season=min(season, lookback)))
        batches = math.ceil(len(train_data) / c.train.batch_size)
        validating = val_data is not None
        train_config = dataclasses.replace(
            c.train, max_epochs=math.ceil(c.train.max_steps / batches) if c.train.max_steps else c.train.max_epochs,
            monitor="val_loss" if validating else "train_loss", patience=c.train.patience if validating else None,
            restore_best=validating, **run)
        self.result = Trainer(self.model, train_config).fit(train_data, val_data, collate_fn=train_data.collate,
                                                            resume=resume)
        self.history = self.result.history
        self.model.eval()
        self.scalers = {s.id: self.scalers[s.id] for s in panel.series}  # the bootstrapped copies' are not kept
        self.tail = Panel([_tail(s, lookback) for s in panel.series], panel.columns, panel.freq)
        self.calibration = self._calibrate(panel) if c.intervals == "conformal" else None
        return self

    def _calibrate(self, panel: Panel) -> Calibration | None:
        """Conformal intervals (``rnnkit.eval.conformal``): a copy fitted on all but the last ``2 * horizon`` rows
        of each series forecasts from each of the ``horizon + 1`` origins after that (fewer, down to one, for
        short series; None when even one does not fit), errors measured on the scaled targets."""
        c = self.config
        need = self._lookback(panel.freq) + c.horizon + c.validation
        plans = [calibration_origins(len(s), c.horizon, need, c.horizon + 1) for s in panel.series]
        if None in plans:
            return None
        helper = Forecaster(dataclasses.replace(c, intervals="model")).fit_panel(panel.cut([cut for cut, _ in plans]))
        origins = [wanted for _, wanted in plans]
        residuals = [helper.scalers[s.id].target.transform(s.target[o:o + c.horizon])
                     - helper.scalers[s.id].target.transform(f)
                     for s, wanted, f in zip(panel.series, origins, helper.forecast_from(panel, origins))
                     for o in wanted]
        return Calibration.from_residuals(np.stack(residuals))

    def forecast_from(self, panel: Panel, origins: list[list[int]]) -> list[np.ndarray]:
        """Point forecasts (H, N) in data units from each origin of each series (``origins[i]`` lists series
        i's: rows known), series by series, origins in order. One batch."""
        heads = [s.head(o, keep_future=self.config.horizon) for s, wanted in zip(panel.series, origins)
                 for o in wanted]
        return self._forecast(Panel(heads, panel.columns, panel.freq), ())[0]

    def _forecast(self, panel: Panel, levels: tuple[float, ...] | None = None
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per series: point forecasts (H, N) and quantiles (H, N, Q) in data units, from each series' end."""
        model, c = self._fitted(), self.config
        lookback, season = model.config.lookback, season_length(panel.freq)
        encoded, origins = [], []
        for s in panel.series:
            if len(s) < lookback:
                raise UserError(f"series {s.id!r} has {len(s)} rows; the model looks back {lookback}")
            scalers = self.scalers.get(s.id) or SeriesScalers.fit(s, len(s), transform=c.transform, season=season)
            encoded.append(encode_series(s, scalers, panel.freq, calendar=self.cycles, horizon=c.horizon))
            origins.append([len(s)])
        device = next(model.parameters()).device
        batch = WindowDataset(encoded, origins, lookback, c.horizon).batch()
        raw = model.predict(type(batch)(*(tensor.to(device) for tensor in batch)))
        levels = self._levels() if levels is None else levels
        point = model.point(raw).cpu().numpy()
        if self.calibration is not None:  # conformal: the point forecast plus each level's offset, scaled units
            quantiles = point[..., None] + self.calibration.offsets(levels)
        else:
            quantiles = model.quantiles(raw, levels).cpu().numpy() if levels else np.zeros(point.shape + (0,))
        points, bands = [], []
        for i, s in enumerate(panel.series):
            scaler = (self.scalers.get(s.id) or SeriesScalers.fit(s, len(s), transform=c.transform,
                                                                  season=season)).target
            points.append(scaler.inverse_transform(point[i]))
            bands.append(np.moveaxis(scaler.inverse_transform(np.moveaxis(quantiles[i], -1, 0)), 0, -1))
        return points, bands

    def _fitted(self) -> ForecastModel:
        if self.model is None:
            raise UserError("this Forecaster is not fitted yet: call fit(data) first")
        return self.model

    def _lookback(self, freq: str | None) -> int:
        c = self.config
        return c.lookback or max(2 * c.horizon, 2 * season_length(freq))

    def _horizon(self, horizon: int | None) -> int:
        if horizon is None:
            return self.config.horizon
        if not 1 <= horizon <= self.config.horizon:
            raise UserError(f"horizon must be in 1..{self.config.horizon} (the model's horizon), got {horizon}")
        return horizon

    def _levels(self) -> tuple[float, ...]:
        """The quantile levels forecast by default: the config's, unless a point network is not calibrated."""
        network = self._fitted().config.network
        return () if network.output == "point" and self.calibration is None else network.quantiles


def _tail(s: Series, rows: int) -> Series:
    n = len(s)
    return Series(s.id, s.index[n - rows:n], s.target[n - rows:], s.past[n - rows:], s.future[n - rows:n])


def _series_to_json(s: Series) -> dict[str, Any]:
    index = [str(t) for t in s.index[:len(s)]] if hasattr(s.index, "strftime") else [int(t) for t in s.index]
    return {"id": s.id, "index": index, "target": s.target.tolist(), "past": s.past.tolist(),
            "future": s.future[:len(s)].tolist()}


def _series_from_json(document: dict[str, Any]) -> Series:
    pd = pandas()
    raw = document["index"]
    index = pd.Index(raw) if raw and isinstance(raw[0], int) else pd.DatetimeIndex(raw)
    arrays = [np.asarray(document[key], dtype=float).reshape(len(raw), len(document[key][0]))
              for key in ("target", "past", "future")]
    return Series(document["id"], index, *arrays)
