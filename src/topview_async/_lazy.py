"""Names a package imports on first access (PEP 562), the one way every package here does it.

A package keeps a map of name -> module (relative to the package) and defines::

    def __getattr__(name: str) -> Any:
        return _lazy.attribute(__name__, _HOMES, name, globals())

so ``import topview_async`` stays cheap and a name costs its module's import only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["attribute"]


def attribute(package: str, homes: Mapping[str, str], name: str, namespace: dict[str, Any]) -> Any:
    """``name`` imported from its module ``homes[name]`` and kept in the package's
    ``namespace``, so later lookups skip the package's ``__getattr__``.

    A home is relative to ``package``: ``boards`` and ``.boards`` name the same submodule,
    ``.._sleep`` a module of the parent package.
    """
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    relative = home if home.startswith(".") else f".{home}"
    value = getattr(importlib.import_module(relative, package), name)
    namespace[name] = value
    return value
