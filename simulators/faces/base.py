"""What every protocol face offers the runner, and where the faces serve; a face knows nothing
of the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fieldlab.connectors import protocol
from fieldlab.domain.samples import Sample


@dataclass
class FaceSettings:
    """Where and how the faces serve; every server binds loopback unless told otherwise."""

    host: str = "127.0.0.1"
    #: a face's port by protocol; a protocol not named here listens on its FACE_PORT
    ports: dict[str, int] = field(default_factory=dict)
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    opcua_security: str = "none"  # none | sign | encrypt | all
    opcua_pki: Path | None = None
    opcua_require_trust: bool = False
    opcua_user: str | None = None
    opcua_password: str | None = None
    #: the faces to serve; None: every protocol that has one
    enabled: set[str] | None = None

    def port(self, name: str) -> int:
        return int(self.ports.get(name) or protocol(name).FACE_PORT)

    def serves(self, name: str) -> bool:
        return self.enabled is None or name in self.enabled


@dataclass(frozen=True)
class ReadOptions:
    """How the gateway's generated sources read the faces."""

    #: a polled protocol's interval (Modbus values are stamped when polled: poll faster when
    #: simulated time runs faster)
    poll_ms: int = 250
    mqtt_protocol: str = "auto"


class Face(Protocol):
    name: str
    #: the simulated operators' tablets (the MQTT face on the terminals' topics), not a machine
    terminal: bool

    async def start(self, sim_now: int) -> None:
        """Serve; values not yet produced carry the simulated time ``sim_now``."""

    async def stop(self) -> None: ...

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        """New samples of the face's machines since the last call, in time order."""

    def endpoints(self) -> list[str]:
        """Human-readable addresses, printed at start."""

    async def inject(self, fault: str, args: list[str]) -> None:
        """Fault injection for gateway tests (restart, drop, slow, exceptions, bad values…)."""
