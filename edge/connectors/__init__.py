"""Protocols, one folder each, found by scanning this package: adding a protocol is one new
folder and touches no other file.

A protocol folder holds, like a Telegraf plugin, everything of its protocol:

- `__init__.py`, a short face: `TYPE` (the `type:` of a source) and, if the simulator serves the
  protocol, `FACE_PORT` (the port its face listens on by default); nothing heavy is imported;
- `connector.py`: `Config` (the source's pydantic model) and `create` (the connector);
- `discover.py` (optional): its `fieldlab discover <protocol>` command: `HELP`, `EXAMPLES`,
  `add_arguments(parser)` and `run(args)`;
- `face.py` (optional): `Face` (the simulator's server or publisher for the protocol) and
  `gateway_source` (the `sources:` entry that reads it);
- `README.md`, `sample.yaml` (validated by a test), `cases/` (data-driven test cases).

A folder spans layers as the rest of the kit does (README, "How it fits together"): its
connector sits with the connectors, its `discover.py` with discovery, its `face.py` with the
simulators; the layer test reads each module at its own layer. Each layer finds its part of a
protocol through `protocol_part`, never through another layer.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from types import ModuleType


@cache
def protocols() -> tuple[str, ...]:
    """The protocol folders, by name, without importing any of them."""
    return tuple(
        info.name for info in pkgutil.iter_modules(__path__) if info.ispkg and info.name[0] != "_"
    )


def protocol(name: str) -> ModuleType:
    """A protocol's short face (`TYPE`, `FACE_PORT`): cheap to import."""
    return importlib.import_module(f"{__name__}.{name}")


def has_part(name: str, part: str) -> bool:
    """Whether the protocol has this part (`connector`, `discover`, `face`), without importing
    it (a face imports its server's library)."""
    return importlib.util.find_spec(f"{__name__}.{name}.{part}") is not None


def protocol_part(name: str, part: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}.{part}")


@cache
def connector_modules() -> dict[str, ModuleType]:
    """`type:` → the protocol's connector module (`Config`, `create`)."""
    return {
        protocol(name).TYPE: protocol_part(name, "connector")
        for name in protocols()
        if has_part(name, "connector")
    }
