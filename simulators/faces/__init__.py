"""The simulator's faces: one per protocol folder that has a `face.py` (`fieldlab.connectors`
says how a folder is laid out). A face module offers

- `Face(scenario, machines, settings)`: serves those machines' values on its protocol;
- `gateway_source(scenario, machines, settings, poll_ms, mqtt_protocol)`: the gateway's
  `sources:` entry that reads them (the worked example a fieldlab engineer would type).
"""

from __future__ import annotations

from types import ModuleType

from fieldlab.connectors import has_part, protocol_part, protocols


def face_names() -> tuple[str, ...]:
    """Every protocol the simulator can serve, without importing a server library."""
    return tuple(p for p in protocols() if has_part(p, "face"))


def face_module(name: str) -> ModuleType:
    if name not in face_names():
        raise ValueError(f"no simulator face {name!r}; there are {', '.join(face_names())}")
    return protocol_part(name, "face")
