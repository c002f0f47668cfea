"""Forecasting model: a recurrent encoder over the lookback, then a multi-horizon head, direct or recurrent.

Inputs are a ``ForecastBatch`` (see ``rnnkit.data.timeseries``): ``past`` (B, L, E) whose first N columns are the
scaled targets, ``future`` (B, H, D) known-future covariates and calendar. With ``h`` the encoder's final state:

    level  = mean of the last ``level_window`` targets in the lookback          (B, 1, N)   (0 when off)
    h      = encoder([y_past - level, covariates_past])                       (B, hidden)
    direct:          o_t = MLP([h, future_t, e_t])           e_t a learned embedding of step t    (MQ-RNN)
    autoregressive:  s_t = decoder([y_{t-1} - level, future_t], s_{t-1}),  s_0 = encoder state,  o_t = W s_t
    location_t = o_t + A (y_past - level) + level            A (H, L): the linear "highway" of LSTNet (skip)

``A`` starts as the seasonal naive forecast (row t picks y_{t - m ceil(t/m)}, m = ``season``; the naive forecast
for m = 1), so the network starts from the classical baseline and learns corrections to it.

``o_t`` holds K numbers per target: K = 1 for a point forecast, one per quantile (pinball loss), or a normal
distribution's mean and softplus-ed standard deviation (Gaussian negative log-likelihood). The recurrent decoder
is trained with teacher forcing (the true previous value is fed) and predicts by feeding back its own point
forecast, as DeepAR does. Everything is in scaled units; ``rnnkit.Forecaster`` scales and unscales.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.timeseries import ForecastBatch
from rnnkit.nn.config import RecurrentConfig, make_recurrent
from rnnkit.tasks.base import TaskModel

DECODERS = ("direct", "autoregressive")
OUTPUTS = ("point", "quantile", "normal")
LOSSES = ("mae", "mse")


@dataclasses.dataclass
class ForecastNetworkConfig:
    """The network a user chooses (``rnnkit.Forecaster`` passes it on whole); the sizes come from the data."""

    rnn: RecurrentConfig = field(default_factory=RecurrentConfig)  # the encoder's, and the recurrent decoder's
    decoder: str = field(default="direct", metadata={
        "help": "direct: all steps at once from the encoder's state; autoregressive: step by step",
        "choices": DECODERS})
    output: str = field(default="quantile", metadata={
        "help": "quantiles, a normal distribution, or a point forecast per step", "choices": OUTPUTS})
    quantiles: tuple[float, ...] = field(default=(0.1, 0.5, 0.9), metadata={
        "help": "levels forecast by the quantile output (with 0.5)", "metavar": "Q"})
    loss: str = field(default="mae", metadata={"help": "the point output's loss", "choices": LOSSES})
    skip: bool = field(default=True, metadata={
        "help": "a linear highway from the window to the forecast, starting as the seasonal naive one"})
    step_embedding: int = 8  # size of e_t (direct decoder)

    def __post_init__(self) -> None:
        self.rnn.require(unidirectional=True, where="the forecasting network (its state carries the past forward)")
        for name, allowed in (("decoder", DECODERS), ("output", OUTPUTS), ("loss", LOSSES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        self.quantiles = tuple(float(q) for q in self.quantiles)
        if self.output == "quantile" and 0.5 not in self.quantiles:
            raise ValueError(f"quantiles must include 0.5 (the point forecast), got {self.quantiles}")
        if any(not 0 < q < 1 for q in self.quantiles) or list(self.quantiles) != sorted(set(self.quantiles)):
            raise ValueError(f"quantiles must be increasing and strictly between 0 and 1, got {self.quantiles}")

    @property
    def outputs_per_target(self) -> int:
        return {"point": 1, "quantile": len(self.quantiles), "normal": 2}[self.output]


@dataclasses.dataclass
class ForecastConfig:
    """The network's settings and the sizes the data gives it (``rnnkit.Forecaster`` sets them)."""

    input_size: int  # E: columns of a past row (targets first)
    future_size: int  # D: columns of a future row
    num_targets: int  # N
    lookback: int  # L
    horizon: int  # H
    network: ForecastNetworkConfig = field(default_factory=ForecastNetworkConfig)
    level_window: int = 0  # 0: no level removed from the window
    season: int = 1  # m: the highway starts as the seasonal naive forecast (m <= lookback)

    def __post_init__(self) -> None:
        if not 1 <= self.season <= self.lookback:
            raise ValueError(f"season must be in [1, lookback={self.lookback}], got {self.season}")
        if not 0 <= self.level_window <= self.lookback:
            raise ValueError(f"level_window must be in [0, lookback={self.lookback}], got {self.level_window}")


class ForecastModel(TaskModel):
    task = "forecasting"
    config_class = ForecastConfig

    def __init__(self, config: ForecastConfig) -> None:
        super().__init__()
        self.config = c = config
        n, hidden = c.network, c.network.rnn.hidden_size
        self.extra: dict[str, Any] = {}  # the Forecaster's scalers, columns and history tail (JSON)
        k = c.num_targets * n.outputs_per_target
        self.encoder = make_recurrent(n.rnn, c.input_size)
        if n.decoder == "direct":
            self.step_embedding = nn.Parameter(0.1 * torch.randn(c.horizon, n.step_embedding))
            self.head = nn.Sequential(nn.Linear(hidden + c.future_size + n.step_embedding, hidden),
                                      nn.ReLU(), nn.Linear(hidden, k))
        else:
            self.decoder = make_recurrent(n.rnn, c.num_targets + c.future_size)
            self.head = nn.Linear(hidden, k)
        self.highway = nn.Linear(c.lookback, c.horizon) if n.skip else None
        if self.highway is not None:
            with torch.no_grad():  # the seasonal naive forecast: step t copies y_{t - m ceil(t/m)}
                self.highway.weight.zero_()
                self.highway.bias.zero_()
                steps = torch.arange(c.horizon)
                self.highway.weight[steps, c.lookback - c.season + steps % c.season] = 1.0

    # --- the network -------------------------------------------------------------------------------------

    def forward(self, past: Tensor, future: Tensor, target: Tensor | None = None) -> Tensor:
        """Raw outputs (B, H, N, K) in scaled units; ``target`` (B, H, N) enables teacher forcing."""
        c = self.config
        y_past = past[..., :c.num_targets]  # (B, L, N)
        level = y_past[:, -c.level_window:].mean(1, keepdim=True) if c.level_window else torch.zeros_like(y_past[:, :1])
        x = torch.cat([y_past - level, past[..., c.num_targets:]], dim=-1)
        _, state = self.encoder(x)
        shift = level  # (B, 1, N): added to every location output
        if self.highway is not None:
            shift = shift + self.highway((y_past - level).transpose(1, 2)).transpose(1, 2)  # (B, H, N)
        if c.network.decoder == "direct":
            h = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, hidden): the top layer
            b = h.shape[0]
            steps = self.step_embedding.expand(b, -1, -1)  # (B, H, S)
            z = torch.cat([h.unsqueeze(1).expand(-1, c.horizon, -1), future, steps], dim=-1)
            return self._locate(self.head(z), shift)
        return self._decode(y_past[:, -1:] - level, future, state, shift, level, target)

    def _decode(self, first: Tensor, future: Tensor, state: Any, shift: Tensor, level: Tensor,
                target: Tensor | None) -> Tensor:
        if target is not None:  # teacher forcing: every step's input is known, one call runs the horizon
            previous = torch.cat([first, target[:, :-1] - level], dim=1)  # (B, H, N)
            output, _ = self.decoder(torch.cat([previous, future], dim=-1), state)
            return self._locate(self.head(output), shift)
        outputs, previous = [], first
        for t in range(self.config.horizon):
            output, state = self.decoder(torch.cat([previous, future[:, t:t + 1]], dim=-1), state)
            step = self._locate(self.head(output), shift[:, t:t + 1] if shift.shape[1] > 1 else shift)
            outputs.append(step)
            previous = self.point(step) - level  # feed back the point forecast
        return torch.cat(outputs, dim=1)

    def _locate(self, raw: Tensor, shift: Tensor) -> Tensor:
        """(B, H, N*K) -> (B, H, N, K) with the level and highway added to the location outputs."""
        c = self.config
        raw = raw.unflatten(-1, (c.num_targets, c.network.outputs_per_target))
        if c.network.output == "normal":
            return torch.stack([raw[..., 0] + shift, F.softplus(raw[..., 1]) + 1e-3], dim=-1)
        return raw + shift.unsqueeze(-1)

    # --- outputs -----------------------------------------------------------------------------------------

    def point(self, raw: Tensor) -> Tensor:
        """The point forecast (B, H, N): the value, the median quantile, or the normal mean."""
        n = self.config.network
        if n.output == "quantile":
            return raw[..., n.quantiles.index(0.5)]
        return raw[..., 0]

    def quantiles(self, raw: Tensor, levels: tuple[float, ...]) -> Tensor:
        """Quantiles (B, H, N, Q) at ``levels``: sorted (no crossing) for a quantile head, exact for a normal."""
        n = self.config.network
        if n.output == "quantile":
            if tuple(levels) != n.quantiles:
                raise ValueError(f"this model predicts the quantiles {n.quantiles}, not {tuple(levels)}")
            return raw.sort(dim=-1).values
        if n.output == "normal":
            z = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(levels, dtype=raw.dtype))
            return raw[..., :1] + raw[..., 1:2] * z.to(raw.device)
        raise ValueError("a point forecaster has no quantiles; use output='quantile' or 'normal'")

    @torch.no_grad()
    def predict(self, batch: ForecastBatch) -> Tensor:
        """Raw outputs (B, H, N, K) without teacher forcing, in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return self(batch.past, batch.future)
        finally:
            self.train(was_training)

    # --- training ----------------------------------------------------------------------------------------

    def loss_from_output(self, raw: Tensor, target: Tensor) -> Tensor:
        n = self.config.network
        if n.output == "quantile":
            q = torch.tensor(n.quantiles, dtype=raw.dtype, device=raw.device)
            error = target.unsqueeze(-1) - raw  # (B, H, N, Q)
            return torch.maximum(q * error, (q - 1) * error).mean()  # pinball loss
        if n.output == "normal":
            return F.gaussian_nll_loss(raw[..., 0], target, raw[..., 1] ** 2)
        return F.l1_loss(raw[..., 0], target) if n.loss == "mae" else F.mse_loss(raw[..., 0], target)

    def loss(self, batch: ForecastBatch) -> Tensor:
        return self.loss_from_output(self(batch.past, batch.future, batch.target), batch.target)

    def evaluate_batch(self, batch: ForecastBatch) -> dict[str, float]:
        """Validation without teacher forcing: the loss and the point forecast's MAE, both in scaled units."""
        raw = self(batch.past, batch.future)
        return {"loss": float(self.loss_from_output(raw, batch.target)),
                "mae": float((self.point(raw) - batch.target).abs().mean())}

    def extra_state(self) -> dict[str, Any]:
        return self.extra

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.extra = dict(extra)
