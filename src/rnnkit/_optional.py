"""Optional dependencies, imported only when a feature needs them, with one clear message when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from rnnkit.errors import UserError


def require(module: str, extra: str, *, package: str | None = None, why: str = "") -> ModuleType:
    """Import ``module`` or raise a ``UserError`` that says exactly what to install.

    ``extra`` is rnnkit's optional extra that carries it (``pip install 'rnnkit[forecast]'``); ``package`` is the
    PyPI name when it differs from the module name (``sklearn`` -> ``scikit-learn``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        name = package or module.split(".")[0]
        purpose = f" {why}" if why else ""
        raise UserError(f"{name} is needed{purpose} but is not installed ({error}); install it with "
                        f"pip install 'rnnkit[{extra}]' (or pip install {name})") from None
