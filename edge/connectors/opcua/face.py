"""OPC UA face (asyncua): one object per machine under Objects/Fieldlab.

Namespace ``urn:fieldlab-kit:simulator``; string node ids ``<machine>.<Variable>``:
``State`` (String, the DOMAIN state), ``PackMLState`` (Int32), ``Reason`` (String),
``CountTotal``/``CountGood``/``CountScrap`` (UInt32), ``Product`` (String) and one Double per
process value (its DOMAIN signal name, e.g. ``cnc-1.spindle_load_pct``); ``SimTime``
(DateTime) under the folder. SourceTimestamp and ServerTimestamp are simulated time, and so is
the server's clock (``Server.ServerStatus.CurrentTime``), as a PLC's clock is its own.

Security: ``none``, ``sign`` or ``encrypt`` (Basic256Sha256), or ``all``; the server
certificate is created once in the PKI folder and reused. With ``require_trust`` only client
certificates in ``<pki>/trusted`` may connect; with a user set, anonymous login is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from pathlib import Path
from typing import Any, cast

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography.x509.oid import ExtendedKeyUsageOID

from fieldlab.domain.samples import Sample, from_ms
from fieldlab.errors import check_port, port_error
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.opcua")

NAMESPACE = "urn:fieldlab-kit:simulator"
APP_URI = "urn:fieldlab-kit:simulator:server"
PACKML = {
    "offline": 0,
    "planned_stop": 2,
    "idle": 4,
    "starved": 5,
    "blocked": 5,
    "running": 6,
    "fault": 9,
    "setup": 11,
}
VARIABLES: dict[str, tuple[str, ua.VariantType]] = {
    "state": ("State", ua.VariantType.String),
    "reason": ("Reason", ua.VariantType.String),
    "count_total": ("CountTotal", ua.VariantType.UInt32),
    "count_good": ("CountGood", ua.VariantType.UInt32),
    "count_scrap": ("CountScrap", ua.VariantType.UInt32),
    "product": ("Product", ua.VariantType.String),
}
POLICIES = {
    "none": [ua.SecurityPolicyType.NoSecurity],
    "sign": [ua.SecurityPolicyType.Basic256Sha256_Sign],
    "encrypt": [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
    "all": [
        ua.SecurityPolicyType.NoSecurity,
        ua.SecurityPolicyType.Basic256Sha256_Sign,
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ],
}


class _Users:
    def __init__(self, username: str, password: str):
        self._u, self._p = username, password

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username == self._u and password == self._p:
            return User(role=UserRole.User)
        return None


def _sim_dt(ms: int) -> dt.datetime:
    return from_ms(ms)


def gateway_source(
    scenario: Scenario, machines: list[str], settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The gateway's `type: opcua` source: each machine's variables by node id, subscribed."""
    mapped = {}
    for mid in machines:
        spec = scenario.machines[mid]
        signals = {
            sig: {"node": f"ns=sim;s={mid}.{browse}"} for sig, (browse, _) in VARIABLES.items()
        }
        for pv in resolve(spec.archetype, spec.behaviour).values:
            signals[pv] = {"node": f"ns=sim;s={mid}.{pv}"}
        mapped[mid] = signals
    return {
        "type": "opcua",
        "name": "sim-opcua",
        "url": f"opc.tcp://{settings.host}:{settings.port('opcua')}/fieldlab/",
        "namespaces": {"sim": NAMESPACE},
        "publishing_interval_ms": 100,
        "sampling_interval_ms": 0,
        "queue_size": 1000,
        "machines": mapped,
    }


class OpcUaFace:
    name = "opcua"
    terminal = False

    def __init__(self, scenario: Scenario, machines: list[str], settings: FaceSettings):
        self.scenario = scenario
        self.machines = list(machines)
        self.host: str = settings.host
        self.port: int = settings.port("opcua")
        self.security: str = settings.opcua_security
        self.pki: Path = Path(settings.opcua_pki or Path.home() / ".local/share/fieldlab/sim-pki")
        self.require_trust: bool = settings.opcua_require_trust
        self.user: str | None = settings.opcua_user
        self.password: str | None = settings.opcua_password
        self._server: Server | None = None
        self._nodes: dict[tuple[str, str], tuple[ua.NodeId, ua.VariantType]] = {}
        self._sim_time: ua.NodeId | None = None
        self._current: dict[tuple[str, str], object] = {}
        self._sim_now = 0
        self.bad: set[str] = set()  # machines whose values are written with a bad status
        self.writes = 0

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/fieldlab/"

    async def _certificates(self, server: Server) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        (self.pki / "trusted").mkdir(exist_ok=True)
        key, cert = self.pki / "server-key.pem", self.pki / "server-cert.der"
        await setup_self_signed_certificate(
            key,
            cert,
            APP_URI,
            socket.gethostname(),
            [ExtendedKeyUsageOID.SERVER_AUTH],
            {
                "countryName": "NL",
                "organizationName": "fieldlab-kit",
                "commonName": "fieldlab-kit simulator",
            },
        )
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        if self.require_trust:
            store = TrustStore([self.pki / "trusted"], [])
            await store.load()
            server.set_certificate_validator(
                CertificateValidator(
                    CertificateValidatorOptions.TRUSTED_VALIDATION
                    | CertificateValidatorOptions.PEER_CLIENT,
                    store,
                )
            )

    async def start(self, sim_now: int | None = None) -> None:
        # asyncua logs a bind error with its traceback before raising it: look first, at the
        # first start only (a restart fault follows its own stop at once, and the old server's
        # socket may not be gone yet: asyncua's own bind reuses it)
        if self._server is None and not getattr(self, "_started_once", False):
            check_port("OPC UA face", self.host, self.port, "--opcua-port")
        self._started_once = True
        if sim_now is not None:
            self._sim_now = sim_now
        user_manager = _Users(self.user, self.password or "") if self.user else None
        server = Server(user_manager=user_manager) if user_manager else Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("fieldlab-kit simulator")
        await server.set_application_uri(APP_URI)
        server.set_security_policy(POLICIES[self.security])
        if self.security != "none":
            await self._certificates(server)
        if self.user:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        server.disable_clock(True)  # CurrentTime is simulated time, set below
        idx = await server.register_namespace(NAMESPACE)
        folder = await server.nodes.objects.add_folder(
            ua.NodeId("Fieldlab", idx), f"{idx}:Fieldlab"
        )
        sim_time = await folder.add_variable(
            ua.NodeId("SimTime", idx),
            f"{idx}:SimTime",
            _sim_dt(0),
            varianttype=ua.VariantType.DateTime,
        )
        self._sim_time = sim_time.nodeid
        self._nodes.clear()
        for m in self.machines:
            spec = self.scenario.machines[m]
            obj = await folder.add_object(ua.NodeId(m, idx), f"{idx}:{m}")
            variables = dict(VARIABLES)
            for pv in resolve(spec.archetype, spec.behaviour).values:
                variables[pv] = (pv, ua.VariantType.Double)
            for signal, (browse, vtype) in variables.items():
                initial = ua.Variant(_default(vtype), vtype).Value
                node = await obj.add_variable(
                    ua.NodeId(f"{m}.{browse}", idx), f"{idx}:{browse}", initial, varianttype=vtype
                )
                self._nodes[(m, signal)] = (node.nodeid, vtype)
            packml = await obj.add_variable(
                ua.NodeId(f"{m}.PackMLState", idx),
                f"{idx}:PackMLState",
                0,
                varianttype=ua.VariantType.Int32,
            )
            self._nodes[(m, "_packml")] = (packml.nodeid, ua.VariantType.Int32)
        try:
            await server.start()
        except OSError as exc:
            raise port_error(exc, "OPC UA face", self.host, self.port, "--opcua-port") from None
        self._server = server
        # Every value carries simulated time, also the ones no sample has set yet (their
        # defaults) and, after a restart, the last ones.
        for (m, signal), (_, vtype) in list(self._nodes.items()):
            value = self._current.get((m, signal), _default(vtype))
            await self._write(m, signal, value, self._sim_now)
        await self._set_clock(self._sim_now)

    async def _set_clock(self, sim_now: int) -> None:
        assert self._server is not None
        when = _sim_dt(sim_now)
        for nodeid in (self._sim_time, ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)):
            if nodeid is not None:
                await self._server.write_attribute_value(
                    nodeid,
                    ua.DataValue(
                        ua.Variant(when, ua.VariantType.DateTime),
                        SourceTimestamp=when,
                        ServerTimestamp=when,
                    ),
                )

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def endpoints(self) -> list[str]:
        sec = {
            "none": "no security",
            "sign": "Basic256Sha256 Sign",
            "encrypt": "Basic256Sha256 SignAndEncrypt",
            "all": "None/Sign/SignAndEncrypt",
        }
        return [
            f"{self.url} ({sec[self.security]}; ns={NAMESPACE}; "
            f"machines {', '.join(self.machines)})"
        ]

    async def _write(self, machine: str, signal: str, value: object, ts: int) -> None:
        server = self._server
        key = (machine, signal)
        if server is None or key not in self._nodes:
            return
        nodeid, vtype = self._nodes[key]
        when = _sim_dt(ts)
        status = ua.StatusCode(
            ua.StatusCodes.BadSensorFailure if machine in self.bad else ua.StatusCodes.Good
        )
        dv = ua.DataValue(
            ua.Variant(_coerce(value, vtype), vtype),
            StatusCode=status,
            SourceTimestamp=when,
            ServerTimestamp=when,
        )
        await server.write_attribute_value(nodeid, dv)
        self.writes += 1

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        # While the server is down (a restart fault) the values still move on, so that it
        # comes back with the current ones, stamped with the current simulated time.
        self._sim_now = sim_now
        up = self._server is not None
        for s in samples:
            if (s.machine, s.signal) not in self._nodes:
                continue
            self._current[(s.machine, s.signal)] = s.value
            if up:
                await self._write(s.machine, s.signal, s.value, s.ts)
            if s.signal == "state":
                code = PACKML.get(str(s.value), 0)
                self._current[(s.machine, "_packml")] = code
                if up:
                    await self._write(s.machine, "_packml", code, s.ts)
        if up:
            await self._set_clock(sim_now)
        await asyncio.sleep(0)  # let the server's I/O run between batches

    async def inject(self, fault: str, args: list[str]) -> None:
        machine = args[0] if args and args[0] in self.machines else self.machines[0]
        if fault == "bad_status":
            self.bad.add(machine)
            for (m, signal), value in list(self._current.items()):
                if m == machine:
                    await self._write(m, signal, value, self._sim_now)
        elif fault == "good_status":
            self.bad.discard(machine)
        elif fault in ("restart", "drop"):
            seconds = float(args[-1]) if args and args[-1].replace(".", "").isdigit() else 3.0
            await self.stop()
            await asyncio.sleep(seconds)
            await self.start()
        else:
            raise ValueError(f"unknown OPC UA fault {fault!r}")


def _default(vtype: ua.VariantType) -> object:
    return {ua.VariantType.String: "", ua.VariantType.Double: 0.0}.get(vtype, 0)


def _coerce(value: object, vtype: ua.VariantType) -> object:
    if vtype == ua.VariantType.String:
        return str(value)
    if vtype == ua.VariantType.Double:
        return float(value)  # arg-type is off here (pyproject: asyncua's NewTypes)
    number = int(cast(float, value))  # a counter or code, as the model holds it
    return number & 0xFFFFFFFF if vtype == ua.VariantType.UInt32 else number


Face = OpcUaFace
