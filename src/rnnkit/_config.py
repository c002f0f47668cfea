"""Typed configs: dataclasses that round-trip through JSON and refuse unknown keys."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from rnnkit.errors import UserError

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) config dataclass."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type[C], values: dict[str, Any], *, where: str = "config", base: Any = None) -> C:
    """Build ``cls`` from ``values``; unknown keys are errors, nested dataclasses are rebuilt.

    A nested config given as a dict keeps the defaults it does not name: those of the enclosing field's default
    (``field(default_factory=lambda: RecurrentConfig(hidden_size=256))`` stays 256 wide unless the dict says
    otherwise). ``base``: take missing keys from this instance instead of the class defaults. ``where`` names
    the source (a file, a section) in the error message.
    """
    if not isinstance(values, dict):
        raise UserError(f"{where}: expected an object for {cls.__name__}, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: getattr(base, name) for name in fields if name not in values} if base is not None else {}
    for name, value in values.items():
        hint = hints.get(name)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            inner = getattr(base, name) if base is not None else _default(fields[name])
            value = config_from_dict(hint, value, where=f"{where}.{name}", base=inner)
        elif isinstance(value, list) and typing.get_origin(hint) is tuple:
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as error:  # a required field is missing
        raise UserError(f"{where}: {error}") from None


def _default(field: dataclasses.Field) -> Any:
    """A field's default value (a fresh one from its factory), or None when it has none."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default
