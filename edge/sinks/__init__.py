"""Sinks, one module each, found by scanning this package: a module that defines `TYPE` (the
`type:` under `sinks:`), `Config` (its pydantic model) and `create(cfg, env)` is a sink, so a
new one touches no other file. A sink keeps what it accepts durably and forwards it in its own
`run()`, where its own background work lives too (the UNS's live OEE, SQLite's retention)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType


@cache
def sink_modules() -> dict[str, ModuleType]:
    """`type:` → the sink's module."""
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if all(hasattr(module, a) for a in ("TYPE", "Config", "create")):
            found[module.TYPE] = module
    return found
