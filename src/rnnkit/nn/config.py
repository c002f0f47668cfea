"""``RecurrentConfig``: the network settings of every recurrent stack in rnnkit, declared once.

Every task config embeds one as its ``rnn`` field (``EncoderConfig.rnn``, ``LanguageModelConfig.rnn``,
``ForecastConfig.rnn``, the decoder's ``rnn``), ``make_recurrent(config, input_size)`` builds the layer, and the
command line generates its model flags from these fields (``--cell``, ``--hidden-size``, ...): a default and its
help text live here and nowhere else. A task that needs other defaults (a language model's 256 units) writes them
as ``field(default_factory=lambda: RecurrentConfig(hidden_size=256))``, not as a second field.

``dropout`` is the stack's dropout: between stacked layers (inside the layer) and, in the task models, on the
stack's inputs and outputs. ``recurrent_dropout`` is variational dropout on the state inside each layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.errors import UserError
from rnnkit.nn.init import chrono_init_
from rnnkit.nn.layers import IMPLS, LAYERS, RecurrentLayer
from rnnkit.nn.min_rnn import MinRNN
from rnnkit.nn.precision import TRAINING_PRECISIONS, unsupported

CELLS = tuple(LAYERS)  # "rnn", "lstm", "gru", "mingru", "minlstm"
GATED_CELLS = ("lstm", "gru", "mingru", "minlstm")
MIN_CELLS = ("mingru", "minlstm")  # gates that read the input only: parallel over time (Feng et al. 2024)


@dataclass
class RecurrentConfig:
    """Cell, size and regularisation of a recurrent stack. ``RecurrentConfig(cell="gru", hidden_size=128)``."""

    cell: str = field(default="lstm", metadata={
        "help": "recurrent cell (mingru, minlstm: Feng et al. 2024, gates from the input only, parallel over time)",
        "choices": CELLS})
    hidden_size: int = field(default=64, metadata={"help": "units per layer and direction"})
    num_layers: int = field(default=1, metadata={"help": "stacked recurrent layers"})
    bidirectional: bool = field(default=False, metadata={"help": "read each sequence both ways (encoders only)"})
    dropout: float = field(default=0.0, metadata={
        "help": "dropout on the recurrent stack's inputs and outputs and between its layers"})
    recurrent_dropout: float = field(default=0.0, metadata={
        "help": "variational dropout on the state inside each layer (Gal & Ghahramani 2016)"})
    layer_norm: bool = field(default=False, metadata={"help": "layer normalisation inside the cells"})
    chrono_lag: int = field(default=0, metadata={
        "help": "chrono initialisation of the gates for time lags up to this (gated cells; 0: off)"})
    impl: str = field(default="auto", metadata={
        "help": "auto (the fastest measured), fused (PyTorch's kernels; min cells: PyTorch ops), extension "
                "(rnnkit's C++ kernels, built on first use) or reference (readable loop)", "choices": IMPLS})
    precision: str = field(default="fp32", metadata={
        "help": "fp32, or bf16-mixed: float32 weights and states, bfloat16 matrix products (CPUs with AVX-512 "
                "BF16 or AMX)", "choices": TRAINING_PRECISIONS})

    def __post_init__(self) -> None:
        problems = []
        if self.cell not in CELLS:
            problems.append(f"cell must be one of {list(CELLS)}, got {self.cell!r}")
        for name in ("hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("dropout", "recurrent_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
                problems.append(f"{name} must be in [0, 1), got {value!r}")
        if not isinstance(self.chrono_lag, int) or isinstance(self.chrono_lag, bool) or (
                self.chrono_lag != 0 and self.chrono_lag < 3):
            problems.append(f"chrono_lag must be 0 (off) or an integer >= 3, got {self.chrono_lag!r}")
        elif self.chrono_lag and self.cell not in GATED_CELLS:
            problems.append(f"chrono_lag needs a gated cell (lstm or gru), got cell={self.cell!r}")
        if self.impl not in IMPLS:
            problems.append(f"impl must be one of {list(IMPLS)}, got {self.impl!r}")
        elif self.impl == "fused" and (self.layer_norm or self.recurrent_dropout):
            problems.append("impl='fused' (PyTorch's kernels) has no layer_norm or recurrent_dropout; "
                            "use impl='auto' or 'reference'")
        for name in ("layer_norm", "recurrent_dropout"):
            if self.cell in MIN_CELLS and getattr(self, name):
                problems.append(f"{name} is not available for cell={self.cell!r} (its gates read the input only)")
        if self.precision not in TRAINING_PRECISIONS:
            problems.append(f"precision must be one of {list(TRAINING_PRECISIONS)}, got {self.precision!r}"
                            + (" (int8 runs a trained model: rnnkit.nn.set_precision(model, 'int8'))"
                               if self.precision == "int8" else ""))
        elif unsupported(self.precision) is not None:
            problems.append(unsupported(self.precision))
        if problems:
            raise UserError("RecurrentConfig: " + "; ".join(problems))

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Features per output step: ``hidden_size`` times the number of directions."""
        return self.hidden_size * self.directions

    def require(self, *, unidirectional: bool = False, cells: tuple[str, ...] = CELLS,
                no_recurrent_dropout: bool = False, where: str = "this model") -> None:
        """Refuse settings a model cannot honour (a decoder cannot read the future; ...), naming the model."""
        if unidirectional and self.bidirectional:
            raise UserError(f"{where} runs one step at a time and cannot be bidirectional")
        if self.cell not in cells:
            raise UserError(f"{where} supports cell {' or '.join(cells)}, got {self.cell!r}")
        if no_recurrent_dropout and self.recurrent_dropout:
            raise UserError(f"{where} steps through time one call at a time: recurrent_dropout is not supported")


def make_recurrent(config: RecurrentConfig, input_size: int) -> RecurrentLayer | MinRNN:
    """The recurrent layer (batch first) that ``config`` describes, reading ``input_size`` features per step."""
    options = {} if config.cell in MIN_CELLS else {
        "recurrent_dropout": config.recurrent_dropout, "layer_norm": config.layer_norm}
    layer = LAYERS[config.cell](
        input_size, config.hidden_size, num_layers=config.num_layers, bidirectional=config.bidirectional,
        dropout=config.dropout if config.num_layers > 1 else 0.0, impl=config.impl, precision=config.precision,
        **options)
    if config.chrono_lag:
        chrono_init_(layer, config.chrono_lag)
    return layer
