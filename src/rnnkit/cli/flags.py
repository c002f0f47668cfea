"""Command-line flags generated from config dataclasses (as Hugging Face's ``HfArgumentParser``), so that a
setting's default and its help text are written once, on the dataclass field.

    @dataclass
    class RecurrentConfig:
        hidden_size: int = field(default=64, metadata={"help": "units per layer and direction"})

    add_config_flags(parser, RecurrentConfig)         # --hidden-size HIDDEN_SIZE  units per ... (default: 64)
    config = config_from_args(args, RecurrentConfig)  # RecurrentConfig(hidden_size=<the flag's value>, ...)

A field is a flag when its metadata has a "help"; other fields keep their defaults. The metadata may also give
"choices", the "flag" when it is not the field's name (``--epochs`` for ``max_epochs``), a "metavar", and
"positional": True for an argument without ``--``. A field without a default is a required flag.

A field that is itself a dataclass adds its fields' flags, names flattened (``--hidden-size``, not
``--rnn.hidden-size``), with the defaults of the field's own default: a task whose settings hold
``rnn: RecurrentConfig = field(default_factory=lambda: RecurrentConfig(hidden_size=256))`` gets
``--hidden-size`` with default 256. Two flags of one name are a programming error (argparse says which).

Types: ``bool`` (``--x`` / ``--no-x``), ``int``, ``float``, ``str``, their ``| None`` forms (``none`` on the command
line), ``tuple[T, ...]`` (any number of values), ``tuple[T, T]`` (exactly two) and ``Literal[...]`` (its values are
the choices). Values are checked by the config's own ``__post_init__`` when ``config_from_args`` builds it (a
``UserError``: one line, exit 2).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, TypeVar

from rnnkit.errors import UserError

C = TypeVar("C")
MISSING = dataclasses.MISSING


def add_config_flags(parser: argparse.ArgumentParser | Any, cls: type, defaults: Any = None, *,
                     skip: tuple[str, ...] = ()) -> None:
    """Add a flag (or positional argument) for every field of ``cls`` (and its nested configs) with a "help".

    ``defaults``: an instance whose values are the defaults (default: the fields' own defaults). ``skip``: dotted
    paths of fields or nested configs that a command does not expose (``"model.encoder.pooling"``)."""
    for dest, item, hint, default in _exposed(cls, defaults, "", skip):
        _add_flag(parser, dest, item, hint, default)


def config_from_args(args: argparse.Namespace, cls: type[C], defaults: Any = None, *, skip: tuple[str, ...] = (),
                     _prefix: str = "") -> C:
    """Build ``cls`` from parsed ``args``: flags' values for the exposed fields, defaults for the others."""
    values = {}
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        default = _default(item, defaults)
        dest = _prefix + item.name
        if dataclasses.is_dataclass(hints[item.name]) and dest not in skip:
            values[item.name] = config_from_args(args, hints[item.name], None if default is MISSING else default,
                                                 skip=skip, _prefix=dest + ".")
        elif "help" in item.metadata and dest not in skip:
            value = getattr(args, dest)
            values[item.name] = tuple(value) if isinstance(value, list) else value
        elif default is not MISSING:
            values[item.name] = copy.deepcopy(default)
    try:
        return cls(**values)
    except UserError:
        raise
    except (TypeError, ValueError) as error:  # a config's own check of the values it was given
        raise UserError(f"{cls.__name__}: {error}") from None


def _exposed(cls: type, defaults: Any, prefix: str, skip: tuple[str, ...]
             ) -> Iterator[tuple[str, dataclasses.Field, Any, Any]]:
    """(dest, field, type, default) of every exposed field, nested configs flattened, in declaration order."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        default, hint, dest = _default(item, defaults), hints[item.name], prefix + item.name
        if dest in skip:
            continue
        if dataclasses.is_dataclass(hint):
            yield from _exposed(hint, None if default is MISSING else default, dest + ".", skip)
        elif "help" in item.metadata:
            yield dest, item, hint, default


def _default(item: dataclasses.Field, defaults: Any) -> Any:
    if defaults is not None:
        return getattr(defaults, item.name)
    if item.default is not MISSING:
        return item.default
    if item.default_factory is not MISSING:
        return item.default_factory()
    return MISSING


def _add_flag(parser: Any, dest: str, item: dataclasses.Field, hint: Any, default: Any) -> None:
    meta = item.metadata
    base, optional = _strip_none(hint)
    many = typing.get_origin(base) is tuple
    element = typing.get_args(base)[0] if many else base
    choices = meta.get("choices")
    if typing.get_origin(element) is Literal:
        choices = choices or typing.get_args(element)
        element = type(typing.get_args(element)[0])
    name = meta.get("flag", "--" + item.name.replace("_", "-"))
    options: dict[str, Any] = {"help": meta["help"]}
    if element is bool and not many:
        options["action"] = argparse.BooleanOptionalAction  # --x / --no-x
        if default is not MISSING:
            options["help"] += f" (default: {name if default else '--no-' + name[2:]})"
    else:
        options["type"] = _parse(element, optional)
        fixed = many and Ellipsis not in typing.get_args(base)  # tuple[str, str]: exactly two values
        options["nargs"] = len(typing.get_args(base)) if fixed else "*" if many else None  # "--baselines": none
        options["choices"] = tuple(choices) if choices else None
        options["metavar"] = ("{" + ",".join(map(_show, choices)) + "}" if choices
                              else meta.get("metavar", name.lstrip("-").replace("-", "_").upper()))
        if default is not MISSING:
            options["help"] += f" (default: {_show(default)})"
    if meta.get("positional"):
        if default is not MISSING:
            options.update(nargs="?", default=default)
        parser.add_argument(dest, **options)
    elif default is MISSING:
        parser.add_argument(name, dest=dest, required=True, **options)
    else:
        parser.add_argument(name, dest=dest, default=default, **options)


def _strip_none(hint: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None`` (or ``Optional[T]``), else ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kept = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(kept) == 1:
            return kept[0], len(kept) < len(typing.get_args(hint))
    return hint, False


_NAMES = {int: "an integer", float: "a number", str: "a text"}


def _parse(kind: type, optional: bool):  # noqa: ANN202 (an argparse type function)
    """An argparse ``type``: ``kind(text)``, and ``none`` as None when the field may be None."""
    if kind not in _NAMES:
        raise TypeError(f"no command-line form for fields of type {kind!r}")

    def parse(text: str) -> Any:
        if optional and text.lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {_NAMES[kind]}"
                                             f"{' or none' if optional else ''}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) or "none"
    return str(value)
