"""Command-line flags generated from the config dataclasses: one default and one help text per field."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from rnnkit.cli.flags import add_config_flags, config_from_args
from rnnkit.cli.main import main
from rnnkit.errors import UserError
from rnnkit.nn import RecurrentConfig
from rnnkit.train import TrainConfig


def parser_for(*classes):
    parser = argparse.ArgumentParser(prog="test", exit_on_error=False)
    for cls in classes:
        add_config_flags(parser, cls)
    return parser


def flags_of(parser):
    return {option for action in parser._actions for option in action.option_strings} - {"-h", "--help"}


def test_no_flags_give_the_dataclass_defaults():
    args = parser_for(RecurrentConfig, TrainConfig).parse_args([])
    assert config_from_args(args, RecurrentConfig) == RecurrentConfig()
    assert config_from_args(args, TrainConfig) == TrainConfig()


def test_every_field_with_help_is_one_flag_showing_its_default():
    parser = parser_for(RecurrentConfig, TrainConfig)
    exposed = [f for cls in (RecurrentConfig, TrainConfig) for f in dataclasses.fields(cls) if "help" in f.metadata]
    assert {f.name for f in dataclasses.fields(RecurrentConfig)} <= {f.name for f in exposed}
    assert {"max_epochs", "batch_size", "lr", "patience", "seed"} <= {f.name for f in exposed}
    assert len(flags_of(parser)) == len(exposed) + 2  # the booleans' --no-x
    text = parser.format_help()
    assert "--epochs EPOCHS" in text and "--hidden-size HIDDEN_SIZE" in text and "--cell {rnn,lstm,gru,mingru,minlstm}" in text
    assert text.count("(default:") == len(exposed)
    assert "(default: --no-bidirectional)" in " ".join(text.split())


def test_values_are_parsed_by_type():
    args = parser_for(RecurrentConfig, TrainConfig).parse_args(
        ["--cell", "gru", "--hidden-size", "16", "--bidirectional", "--layer-norm", "--dropout", "0.25", "--epochs",
         "3", "--patience", "none", "--max-steps", "7", "--grad-clip", "None", "--schedule", "cosine"])
    assert config_from_args(args, RecurrentConfig) == RecurrentConfig(
        cell="gru", hidden_size=16, bidirectional=True, layer_norm=True, dropout=0.25)
    assert config_from_args(args, TrainConfig) == TrainConfig(max_epochs=3, patience=None, max_steps=7, grad_clip=None,
                                                              schedule="cosine")
    for wrong in (["--hidden-size", "8.5"], ["--cell", "lstmm"], ["--schedule", "linear"], ["--lr", "fast"]):
        with pytest.raises(argparse.ArgumentError):
            parser_for(RecurrentConfig, TrainConfig).parse_args(wrong)


@dataclass
class Options:
    label: str = field(metadata={"help": "the class column"})
    data: str = field(metadata={"help": "a table", "positional": True})
    level: Literal["char", "word"] = field(default="char", metadata={"help": "tokens"})
    quantiles: tuple[float, ...] = field(default=(0.1, 0.9), metadata={"help": "levels"})
    hidden: int = 3  # no help: not a flag, keeps its default
    rnn: RecurrentConfig = field(default_factory=lambda: RecurrentConfig(hidden_size=256, num_layers=2))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=3, lr=3e-3))


def test_nested_configs_take_the_tasks_defaults(capsys):
    parser = parser_for(Options)
    text = " ".join(parser.format_help().split())
    assert "units per layer and direction (default: 256)" in text and "stacked recurrent layers (default: 2)" in text
    assert "passes over the training data (default: 3)" in text
    options = config_from_args(parser.parse_args(["d.csv", "--label", "y"]), Options)
    assert options == Options(label="y", data="d.csv")
    options = config_from_args(parser.parse_args(["d.csv", "--label", "y", "--num-layers", "1", "--quantiles", "0.5",
                                                  "--level", "word", "--epochs", "9"]), Options)
    assert options.rnn == RecurrentConfig(hidden_size=256, num_layers=1) and options.quantiles == (0.5,)
    assert (options.level, options.train.max_epochs, options.train.lr, options.hidden) == ("word", 9, 3e-3, 3)
    with pytest.raises(SystemExit):
        parser.parse_args(["d.csv"])
    assert "the following arguments are required: --label" in capsys.readouterr().err


def test_two_settings_of_one_name_are_refused():
    @dataclass
    class Twice:
        hidden_size: int = field(default=8, metadata={"help": "again"})
        rnn: RecurrentConfig = field(default_factory=RecurrentConfig)

    with pytest.raises(argparse.ArgumentError, match="--hidden-size"):
        parser_for(Twice)


def test_a_value_out_of_range_is_a_one_line_error(tmp_path, capsys):
    assert main(["classify", "train", str(tmp_path / "none.csv"), "--label", "y", "--dropout", "2",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dropout must be in [0, 1), got 2.0" in err and not (tmp_path / "run").exists()
    with pytest.raises(UserError, match="lr must be > 0"):
        config_from_args(parser_for(TrainConfig).parse_args(["--lr", "0"]), TrainConfig)


def test_train_help_shows_every_default(capsys):
    assert main(["classify", "train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--hidden-size HIDDEN_SIZE", "--epochs EPOCHS", "--resume", "--pooling", "--seed SEED"):
        assert flag in text
    assert "(default: attention)" in text and "(default: 30)" in text and "(default: 0.003)" in text


def test_a_command_may_leave_settings_out():
    skip = ("rnn.impl", "train", "quantiles")
    parser = argparse.ArgumentParser(prog="test", exit_on_error=False)
    add_config_flags(parser, Options, skip=skip)
    assert flags_of(parser) == {"--label", "--level", "--cell", "--hidden-size", "--num-layers", "--bidirectional",
                                "--no-bidirectional", "--dropout", "--recurrent-dropout", "--layer-norm",
                                "--no-layer-norm", "--chrono-lag", "--precision"}
    options = config_from_args(parser.parse_args(["d.csv", "--label", "y"]), Options, skip=skip)
    assert options == Options(label="y", data="d.csv")
