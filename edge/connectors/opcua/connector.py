"""OPC UA connector (asyncua): subscriptions (or polling), security, and recovery that works.

The sample config is `sample.yaml` beside this file; README.md says what the connector does.

After every (re)connect the session, namespace indexes and subscriptions are rebuilt and the
current values read first; the machines are `offline` for the gap. Requests are chunked by the
server's operation limits. A value with a bad status is not passed on as good: it is kept in
the rejected table with its status code. Time comes from the source timestamp, else the
server's, else the gateway's. The connector has no write path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
import time
from pathlib import Path
from typing import Any, Literal

from asyncua import Client, Node, ua
from asyncua.crypto import security_policies as sp
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fieldlab.config.addresses import OpcUaUrl
from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import ConnectorContext
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, SampleError, to_ms
from fieldlab.mapping import Mapper, SignalMap

POLICIES = {
    "None": None,
    "Basic256Sha256": sp.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": sp.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256Sha256RsaPss": sp.SecurityPolicyAes256Sha256RsaPss,
}


class NodeMap(SignalMap):
    node: str | None = Field(
        None, description='node id: "ns=2;s=…", "nsu=URI;s=…" or "ns=ALIAS;s=…"'
    )
    path: str | None = Field(
        None,
        description="browse path from Objects, e.g. Machinery:Machines/Press:Press1/"
        "Machinery:MachineryItemState/CurrentState (ALIAS: from namespaces:, none = ns 0); "
        "survives a PLC download that renumbers node ids",
    )

    @model_validator(mode="after")
    def _one_address(self) -> NodeMap:
        if (self.node is None) == (self.path is None):
            raise ValueError("give a signal either `node` (a node id) or `path` (a browse path)")
        return self

    @property
    def where(self) -> str:
        return self.node or f"path {self.path}"


class Security(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Literal["None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = "None"
    mode: Literal["None", "Sign", "SignAndEncrypt"] = "None"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["opcua"]
    name: str = "opcua"
    url: OpcUaUrl
    security: Security = Field(default_factory=Security)
    pki: str = "pki"
    trust_on_first_use: bool = False
    username_env: str | None = None
    password_env: str | None = None
    mode: Literal["subscribe", "poll"] = "subscribe"
    publishing_interval_ms: int = Field(500, ge=10)
    sampling_interval_ms: int = Field(250, ge=0)
    queue_size: int = Field(10, ge=0)
    deadband: float = Field(0.0, ge=0)
    poll_interval_ms: int = Field(1000, ge=10)
    watchdog_s: float = Field(10.0, gt=0)
    timeout_s: float = Field(4.0, gt=0)
    namespaces: dict[str, str] = Field(default_factory=dict)
    machines: dict[str, dict[str, NodeMap]] = Field(min_length=1)


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> OpcUaConnector:
    return OpcUaConnector(cfg, data_dir)


class CertificateNotTrusted(Exception):
    pass


class Pki:
    """Our persistent client certificate and the trusted/rejected server certificates."""

    def __init__(self, root: Path):
        self.root = root
        for sub in ("own", "trusted", "rejected"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.cert = root / "own" / "cert.der"
        self.key = root / "own" / "key.pem"
        self.app_uri = f"urn:fieldlab-kit:gateway:{socket.gethostname()}"

    async def ensure_own(self) -> None:
        """Created once and kept: a certificate regenerated at every start means the PLC
        administrator has to trust it again every time (the re-trust loop)."""
        await setup_self_signed_certificate(
            self.key,
            self.cert,
            self.app_uri,
            socket.gethostname(),
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            {
                "countryName": "NL",
                "organizationName": "fieldlab-kit",
                "commonName": "fieldlab-kit gateway",
            },
        )

    def check_server(self, der: bytes, tofu: bool) -> None:
        cert = x509.load_der_x509_certificate(der)
        name = _cert_file_name(cert)
        trusted = [p.read_bytes() for p in (self.root / "trusted").glob("*.der")]
        if der in trusted:
            return
        if tofu and not trusted:
            (self.root / "trusted" / name).write_bytes(der)
            return
        (self.root / "rejected" / name).write_bytes(der)
        raise CertificateNotTrusted(
            f"server certificate not trusted: it is in {self.root / 'rejected' / name}; "
            f"move it to {self.root / 'trusted'}/ to trust it"
        )


def _cert_file_name(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(cn[0].value) if cn else "server")
    return f"{label}-{cert.fingerprint(hashes.SHA256()).hex()[:16]}.der"


class _Handler:
    """asyncua's subscription callbacks, handed to the connector's queue."""

    def __init__(self, queue: asyncio.Queue, nodes: dict[Any, tuple[str, str]]):
        self.queue, self.nodes = queue, nodes

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        key = self.nodes.get(node.nodeid)
        if key is not None:
            self.queue.put_nowait((key, data.monitored_item.Value))

    def status_change_notification(self, status: Any) -> None:
        self.queue.put_nowait((None, status))


class OpcUaConnector:
    def __init__(self, cfg: Config, base_dir: Path = Path(".")):
        self.cfg = cfg
        self.name = cfg.name
        self.url = cfg.url
        self.machines = list(cfg.machines)
        self.own_clock = True  # SourceTimestamp, else the server's
        self.change_times = True
        pki = Path(cfg.pki)
        self.pki = Pki(pki if pki.is_absolute() else base_dir / pki)
        self._mapper = Mapper()
        self.notifications = 0

    # -- connecting -----------------------------------------------------------------------------

    async def _client(self) -> Client:
        import os

        client = Client(self.cfg.url, timeout=self.cfg.timeout_s)
        client.session_timeout = 60_000
        sec = self.cfg.security
        policy = POLICIES[sec.policy]
        if policy is not None and sec.mode != "None":
            await self.pki.ensure_own()
            client.application_uri = self.pki.app_uri
            endpoints = await client.connect_and_get_server_endpoints()
            server_der = next(
                (
                    bytes(e.ServerCertificate)
                    for e in endpoints
                    if e.SecurityPolicyUri == policy.URI and e.ServerCertificate
                ),
                None,
            )
            if server_der is None:
                raise ConnectionError(f"the server offers no {sec.policy} endpoint")
            self.pki.check_server(server_der, self.cfg.trust_on_first_use)
            mode = getattr(ua.MessageSecurityMode, sec.mode)
            await client.set_security(
                policy,
                str(self.pki.cert),
                str(self.pki.key),
                server_certificate=server_der,
                mode=mode,
            )
        if self.cfg.username_env:
            client.set_user(os.environ.get(self.cfg.username_env, ""))
            client.set_password(os.environ.get(self.cfg.password_env or "", ""))
        return client

    async def _resolve(self, client: Client) -> dict[tuple[str, str], Node]:
        """Node ids to nodes; namespace URIs and aliases resolved on every connect (indexes
        may drift when a PLC program is reloaded)."""
        cache: dict[str, int] = {}

        async def index(uri: str) -> int:
            if uri not in cache:
                cache[uri] = await client.get_namespace_index(uri)
            return cache[uri]

        out = {}
        for machine, signals in self.cfg.machines.items():
            for signal, spec in signals.items():
                if spec.path is not None:
                    out[(machine, signal)] = await self._browse(client, spec.path, index)
                    continue
                assert spec.node is not None
                text = spec.node
                m = re.match(r"nsu=([^;]+);(.*)$", text)
                if m:
                    text = f"ns={await index(m[1])};{m[2]}"
                m = re.match(r"ns=([A-Za-z_][\w-]*);(.*)$", text)
                if m:
                    if m[1] not in self.cfg.namespaces:
                        raise ValueError(f"namespace alias {m[1]!r} is not in namespaces:")
                    text = f"ns={await index(self.cfg.namespaces[m[1]])};{m[2]}"
                out[(machine, signal)] = client.get_node(text)
        return out

    async def _browse(self, client: Client, path: str, index: Any) -> Node:
        """A browse path, translated by the server (TranslateBrowsePathsToNodeIds) on every
        connect: the node ids behind it may have changed, its names have not."""
        parts = []
        for segment in path.strip("/").split("/"):
            alias, sep, name = segment.rpartition(":")
            if not sep:
                parts.append(f"0:{name}")
            elif alias.isdigit():
                parts.append(f"{alias}:{name}")
            elif alias in self.cfg.namespaces:
                parts.append(f"{await index(self.cfg.namespaces[alias])}:{name}")
            else:
                raise ValueError(f"path {path}: namespace alias {alias!r} is not in namespaces:")
        try:
            return await client.nodes.objects.get_child(parts)
        except ua.UaStatusCodeError as exc:
            raise ValueError(f"path {path}: the server finds no such node ({exc})") from None

    async def _limits(self, client: Client) -> tuple[int, int]:
        """MaxNodesPerRead and MaxMonitoredItemsPerCall (0 or unreadable: 500)."""
        values = []
        for nid in ("i=11705", "i=11714"):
            try:
                v = int(await client.get_node(nid).read_value())
            except Exception:  # noqa: BLE001 - optional in many servers
                v = 0
            values.append(v if v > 0 else 500)
        return values[0], values[1]

    # -- running --------------------------------------------------------------------------------

    async def run(self, ctx: ConnectorContext) -> None:
        while True:
            client: Client | None = None
            try:
                client = await self._client()
                await client.connect()
                nodes = await self._resolve(client)
                per_read, per_call = await self._limits(client)
                for m in self.machines:
                    self._mapper.forget(m)
                now = await _server_now(client)
                ctx.clock.observe(now)  # before the values: theirs are times of last change
                await self._read_all(client, nodes, per_read, ctx, now=now)
                ctx.back(self.machines)
                if self.cfg.mode == "subscribe":
                    await self._subscribe_loop(client, nodes, per_call, ctx)
                else:
                    await self._poll_loop(client, nodes, per_read, ctx)
            except CertificateNotTrusted as exc:
                ctx.error(str(exc))
                await ctx.lost(self.machines, str(exc))
                await ctx.retry(at_least=5)  # an engineer must act; do not hammer
            except (
                OSError,
                TimeoutError,
                ConnectionError,
                ua.UaError,
                ValueError,
                asyncio.IncompleteReadError,
            ) as exc:
                await ctx.failed(self.machines, f"{type(exc).__name__}: {exc}")
                await ctx.retry()
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(client.disconnect(), 2)

    async def close(self) -> None:
        """Nothing to hand back: every read was already emitted."""

    async def _read_all(
        self,
        client: Client,
        nodes: dict,
        per_read: int,
        ctx: ConnectorContext,
        now: int | None = None,
    ) -> None:
        keys = list(nodes)
        samples: list[Sample] = []
        rejected: list[Rejected] = []
        for i in range(0, len(keys), per_read):
            chunk = keys[i : i + per_read]
            values = await client.read_attributes([nodes[k] for k in chunk])
            for key, dv in zip(chunk, values, strict=True):
                self.convert(key, dv, samples, rejected, ctx)
        await self._emit(ctx, samples, rejected, now)

    def convert(
        self,
        key: tuple[str, str],
        dv: ua.DataValue,
        samples: list[Sample],
        rejected: list[Rejected],
        ctx: ConnectorContext,
    ) -> None:
        """One DataValue to samples or a rejection with its status (cases/values.yaml)."""
        machine, signal = key
        status = dv.StatusCode
        ts = _timestamp(dv)
        if status is not None and not status.is_good():
            rejected.append(
                Rejected(
                    f"opcua:{self.name}:{self.cfg.machines[machine][signal].where}",
                    repr(dv.Value.Value if dv.Value else None),
                    f"bad status {status.name} for {machine}/{signal}",
                )
            )
            return
        ctx.clock.observe(ts)
        try:
            samples += self._mapper.apply(
                machine,
                signal,
                dv.Value.Value if dv.Value else None,
                ts,
                self.cfg.machines[machine][signal],
            )
        except (SampleError, ValueError) as exc:
            rejected.append(
                Rejected(
                    f"opcua:{self.name}:{self.cfg.machines[machine][signal].where}",
                    repr(dv.Value.Value if dv.Value else None),
                    str(exc),
                )
            )

    async def _emit(
        self,
        ctx: ConnectorContext,
        samples: list[Sample],
        rejected: list[Rejected],
        now: int | None = None,
    ) -> None:
        await ctx.send(samples, rejected, now=now)

    async def _subscribe_loop(
        self, client: Client, nodes: dict, per_call: int, ctx: ConnectorContext
    ) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        by_id = {node.nodeid: key for key, node in nodes.items()}
        sub = await client.create_subscription(
            self.cfg.publishing_interval_ms, _Handler(queue, by_id)
        )
        items = list(nodes.values())
        for i in range(0, len(items), per_call):
            chunk = items[i : i + per_call]
            if self.cfg.deadband > 0:
                await sub.deadband_monitor(
                    chunk, ua.Double(self.cfg.deadband), queuesize=self.cfg.queue_size
                )
            else:
                await sub.subscribe_data_change(
                    chunk,
                    queuesize=self.cfg.queue_size,
                    sampling_interval=ua.Duration(self.cfg.sampling_interval_ms),
                )
        last_data = time.monotonic()
        while True:
            try:
                first = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                first = None
            batch = [first] if first is not None else []
            while not queue.empty() and len(batch) < 10_000:
                batch.append(queue.get_nowait())
            samples: list[Sample] = []
            rejected: list[Rejected] = []
            for key, dv in batch:
                if key is None:
                    status = getattr(getattr(dv, "Status", None), "name", dv)
                    raise ConnectionError(f"subscription ended: {status}")
                self.convert(key, dv, samples, rejected, ctx)
            self.notifications += len(batch)
            await self._emit(ctx, samples, rejected)
            if batch:
                last_data = time.monotonic()
            elif time.monotonic() - last_data > self.cfg.watchdog_s:
                # Connected but silent: prove the session is alive, or reconnect.
                await asyncio.wait_for(client.get_node("i=2258").read_value(), self.cfg.timeout_s)
                last_data = time.monotonic()
            await client.check_connection()

    async def _poll_loop(
        self, client: Client, nodes: dict, per_read: int, ctx: ConnectorContext
    ) -> None:
        while True:
            await asyncio.sleep(self.cfg.poll_interval_ms / 1000)
            await client.check_connection()
            await self._read_all(client, nodes, per_read, ctx)


async def _server_now(client: Client) -> int:
    """The server's clock (Server.ServerStatus.CurrentTime), the instant contact returned in
    the time base of its values (a PLC's clock may be off; a simulator's is simulated);
    the gateway's clock when the server does not say."""
    try:
        value = await client.get_node(ua.ObjectIds.Server_ServerStatus_CurrentTime).read_value()
    except Exception:  # noqa: BLE001 - optional in small servers
        value = None
    return _ms(value) if isinstance(value, dt.datetime) else int(time.time() * 1000)


def _ms(t: dt.datetime) -> int:
    return to_ms(t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC))


def _timestamp(dv: ua.DataValue) -> int:
    """Source timestamp, else the server's, else the gateway's clock."""
    for t in (dv.SourceTimestamp, dv.ServerTimestamp):
        if t is not None and t.year > 1601:
            return _ms(t)
    return int(time.time() * 1000)
