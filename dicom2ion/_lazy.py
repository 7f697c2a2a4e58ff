"""Names of a package imported from their modules when first used."""

from __future__ import annotations

import importlib
from typing import Callable, Dict, Tuple


def lazy_names(package: str, namespace: dict, table: Dict[str, str]) -> Tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: ``table`` maps a name to
    the submodule that defines it; the first use imports it and keeps it in
    ``namespace`` (the package's globals), so later uses cost nothing."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
