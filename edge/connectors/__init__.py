"""Connectors, one module or package each; found by scanning this package, so adding a
protocol touches no other file. A connector module defines ``TYPE``, ``Config`` and ``create``."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType


@cache
def connector_modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "TYPE") and hasattr(module, "Config") and hasattr(module, "create"):
            found[module.TYPE] = module
    return found
