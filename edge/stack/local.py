"""A whole fieldlab on one machine, in one process: broker, simulators, gateway, SQLite store,
and the dashboard beside it. `fieldlab demo` and `fieldlab recipe run|check` are this.

Everything binds 127.0.0.1. A default port that is taken is replaced by a free one (a laptop
may already run something on 4840 or 1883), and the addresses are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import socket
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from fieldlab.connectors import protocol
from fieldlab.connectors.mqtt.face import MqttFace
from fieldlab.dashboards.settings import DashboardSettings
from fieldlab.domain.samples import format_ts
from fieldlab.errors import PortInUse
from fieldlab.gateway.config import load_gateway_config
from fieldlab.gateway.run import Gateway
from fieldlab.i18n import Lang, t
from fieldlab.process import spawn, stop
from fieldlab.simulators.faces import face_names
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.gateway_site import gateway_site_yaml
from fieldlab.simulators.runner import Simulation
from fieldlab.simulators.scenario import Scenario
from fieldlab.stack.broker import EmbeddedBroker
from fieldlab.store import SqliteStore
from fieldlab.store.ingest import ingest_file

log = logging.getLogger("fieldlab.stack")


async def wait_http(url: str, timeout: float) -> bool:
    """True once ``url`` answers 200, False after ``timeout`` seconds."""
    import urllib.request

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return int(resp.status) == 200
        except OSError:
            return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(answers):
            return True
        await asyncio.sleep(0.5)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_or_free(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            pass
    return free_port()


@dataclass
class Ports:
    mqtt: int = 1883
    http: int = 8787
    dashboard: int = 8501
    #: the simulator faces' ports by protocol (a protocol not named: its FACE_PORT)
    faces: dict[str, int] = field(default_factory=dict)

    def resolve(self, keep_mqtt: bool) -> Ports:
        return Ports(
            self.mqtt if keep_mqtt else port_or_free(self.mqtt),
            port_or_free(self.http),
            port_or_free(self.dashboard),
            {name: port_or_free(self.face(name)) for name in _served()},
        )

    def face(self, name: str) -> int:
        return self.faces.get(name) or int(protocol(name).FACE_PORT)


def _served() -> list[str]:
    """The faces that listen on a port of their own (the MQTT ones publish to the broker)."""
    return [name for name in face_names() if hasattr(protocol(name), "FACE_PORT")]


@dataclass
class LocalStack:
    scenario: Scenario
    workdir: Path
    speed: float = 1.0
    seed: int | None = None
    start_ms: int | None = None
    mqtt_url: str | None = None
    history_ms: int = 0
    dashboard: bool = False
    lang: str | None = None
    ports: Ports = field(default_factory=Ports)
    #: more of how the dashboard runs (a recipe run's exercise) and where it listens
    #: (0.0.0.0 serves a room of laptops); config and language are the stack's
    dashboard_settings: DashboardSettings = field(default_factory=DashboardSettings)
    dashboard_host: str = "127.0.0.1"
    sim: Simulation | None = None
    gateway: Gateway | None = None
    broker: EmbeddedBroker | None = None
    live_start: int | None = None  # simulated ms where history ends and live time begins
    #: this run's store in the workdir: fieldlab.db, or a fresh name when the last run's is
    #: still open elsewhere (a dashboard, a DB viewer, Windows' virus scanner)
    db_name: str = "fieldlab.db"
    _gw_task: asyncio.Task[None] | None = None
    _dash: subprocess.Popen[bytes] | None = None

    @property
    def site_path(self) -> Path:
        return self.workdir / "site.yaml"

    @property
    def db_path(self) -> Path:
        return self.workdir / self.db_name

    def _fresh_store(self) -> None:
        """A new run starts a new store, and never deletes one in use: Windows refuses to
        delete a file another program holds open (WinError 32), and that program may be the
        SME's own DB viewer. The last run's files are removed where that is allowed, else this
        run takes the next free name, `fieldlab-2.db`, … and the site file says which."""
        # only the stores runs name themselves: fieldlab.db, fieldlab-2.db, … (never another
        # file a person keeps in the same folder)
        stale = sorted(
            p
            for p in self.workdir.glob("fieldlab*.db")
            if re.fullmatch(r"fieldlab(-\d+)?\.db", p.name)
        )
        for db in stale:
            try:
                for path in (Path(f"{db}-wal"), Path(f"{db}-shm"), db):
                    path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s is in use (%s): this run keeps it and writes a new file", db, exc)
        n = 1
        while (self.workdir / self.db_name).exists():
            n += 1
            self.db_name = f"fieldlab-{n}.db"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A broker already on 1883 (a Mosquitto service, another demo) is not shared: two runs
        # publishing the same topics would mix their data. `--mqtt URL` chooses one on purpose.
        external = self.mqtt_url is not None
        self.ports = self.ports.resolve(keep_mqtt=external)
        if not external:
            try:
                self.broker = EmbeddedBroker("127.0.0.1", self.ports.mqtt)
                await self.broker.start()
            except Exception:  # noqa: BLE001 - amqtt wraps the bind error in its own type
                # Taken between our look and our bind (another demo or recipe starting):
                # any free port will do, the gateway config is written below.
                self.ports.mqtt = free_port()
                self.broker = EmbeddedBroker("127.0.0.1", self.ports.mqtt)
                await self.broker.start()
            self.mqtt_url = self.broker.url
        # A new run starts a new store; the gateway's observed.json belongs to the old one (a
        # run at 60x left times hours ahead that would put this run's gap-closing there).
        self._fresh_store()
        with contextlib.suppress(OSError):
            (self.workdir / "observed.json").unlink(missing_ok=True)
        live_start = self.start_ms
        if live_start is None:
            live_start = Simulation(self.scenario).start_ms
        self.live_start = live_start
        truth = self.workdir / "truth.jsonl"
        faces = FaceSettings(ports=self.ports.faces, mqtt_url=self.mqtt_url or "")
        self.sim = Simulation(
            self.scenario,
            seed=self.seed,
            speed=math.inf,
            start_ms=live_start - self.history_ms,
            truth=truth,
            step_ms=600_000,
            faces=faces,
        )
        if self.history_ms:
            # History before now, through the same ingest path a file takes, with its truth;
            # the same models then go on live, so nothing jumps at the seam.
            await self.sim.run(sim_until=live_start)
            self.sim.truth.flush()
            with SqliteStore(self.db_path) as store:
                await asyncio.to_thread(ingest_file, store, truth, quiet=True)
        # nothing happens before the gateway listens, and the faces stand exactly at the seam:
        # made running and paused a moment later, at 1x a loaded machine stood a millisecond
        # past it, the values read at contact missed the gap-closing `offline` by that
        # millisecond, and every machine's run restarted at the seam (tests/e2e/test_demo.py)
        self.sim.go_live(self.speed, paused=True)
        for attempt in range(3):
            try:
                await self.sim.start()
                break
            except PortInUse:
                # free when we looked, taken since (another demo or recipe starting beside
                # this one): any free ports will do, the gateway's site is written below
                if attempt == 2:
                    raise
                faces.ports = self.ports.faces = {name: free_port() for name in _served()}
        for attempt in range(3):
            # the gateway's /health port, as late as can be; taken between the look and the
            # bind (a recipe check beside this one took it: this run then waited forever),
            # any free one will do
            self.ports.http = port_or_free(self.ports.http) if attempt == 0 else free_port()
            self._write_site(faces)
            site, cfg = load_gateway_config(self.site_path)
            self.gateway = Gateway(site, cfg, self.workdir)
            self._gw_task = asyncio.create_task(self.gateway.run())
            try:
                await self._wait_connected(30)
                break
            except PortInUse:
                if attempt == 2:
                    raise
        if self.dashboard:
            self._start_dashboard()
        self.sim.resume()

    def _write_site(self, faces: FaceSettings) -> None:
        self.site_path.write_text(
            gateway_site_yaml(
                self.scenario,
                faces,
                ReadOptions(
                    # Modbus values are stamped when polled: at 60x a 250 ms poll is 15 simulated
                    # s late on every change, so poll faster when simulated time runs faster.
                    poll_ms=250 if self.speed <= 1 else 50,
                    mqtt_protocol="3.1.1" if self.broker else "auto",  # amqtt speaks 3.1.1 only
                ),
                extra={
                    "store": f"sqlite:///{self.db_name}",
                    "gateway": {"http": {"port": self.ports.http}},
                },
            ),
            encoding="utf-8",
        )

    async def _wait_connected(self, timeout: float) -> None:
        """Every source connected; the gateway's own failure to start (its port taken) is
        raised here, not waited out."""
        assert self.gateway is not None and self._gw_task is not None
        for _ in range(int(timeout * 10)):
            await asyncio.sleep(0.1)
            if self._gw_task.done():
                self._gw_task.result()  # raises what stopped it
                raise RuntimeError("the gateway stopped before its sources connected")
            if self.gateway.health and all(h.state == "connected" for h in self.gateway.health):
                return
        states = {h.name: h.state for h in self.gateway.health}
        log.warning("not every source connected: %s", states)

    def _start_dashboard(self) -> None:
        from fieldlab.dashboards.serve import command

        self.ports.dashboard = port_or_free(self.ports.dashboard)  # as late as can be
        self._dash = spawn(
            command(self.site_path, self.ports.dashboard, self.dashboard_host),
            env=replace(self.dashboard_settings, config=self.site_path, lang=self.lang).environ(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.dashboard}"

    async def open_browser_when_ready(self, timeout: float = 300.0) -> bool:
        """Open the person's browser on the dashboard once it answers its health check, never
        before: on a cold Windows start (Defender scanning freshly installed files) Streamlit
        takes a minute, and "can't reach this page" is the first thing an SME would see."""
        import webbrowser

        if await wait_http(f"{self.dashboard_url}/_stcore/health", timeout):
            with contextlib.suppress(Exception):
                webbrowser.open(self.dashboard_url)
            return True
        log.warning("the dashboard did not answer within %.0f s: not opening a browser", timeout)
        return False

    def endpoints(self, lang: Lang = "en") -> list[str]:
        """What runs where, a line each, for the person who started it."""
        embedded = f" ({t('stack.embedded', lang)})" if self.broker else ""
        rows = [("dashboard", self.dashboard_url)] if self.dashboard else []
        rows += [
            ("gateway", f"http://127.0.0.1:{self.ports.http}/health"),
            ("mqtt", f"{self.mqtt_url}{embedded}"),
        ]
        rows += [("simulator", e) for e in (self.sim.endpoints() if self.sim else [])]
        if self.live_start is not None:
            speed = "max" if math.isinf(self.speed) else f"{self.speed:g}×"
            live = t("stack.live_from", lang, at=format_ts(self.live_start), speed=speed)
            rows.append(("live", live))
        rows += [
            ("site", str(self.site_path)),
            ("store", f"sqlite:///{self.db_path}"),
            ("truth", str(self.workdir / "truth.jsonl")),
        ]
        return [f"{t(f'stack.{k}', lang):<10} {v}" for k, v in rows]

    async def run(self, *, wall_seconds: float | None = None, sim_until: int | None = None) -> None:
        assert self.sim is not None
        await self.sim.run(sim_until=sim_until, wall_seconds=wall_seconds)

    async def settle(self, timeout: float = 180.0) -> None:
        """After a fast run: wait until every sample published has reached the store."""
        import time

        assert self.sim is not None and self.gateway is not None
        deadline = time.monotonic() + timeout
        mqtt = [f for f in self.sim.faces if isinstance(f, MqttFace)]
        for face in mqtt:
            await face.flushed(timeout)
        published = sum(f.published for f in mqtt)
        last, still = -1, 0
        while time.monotonic() < deadline:
            got = sum(h.samples for h in self.gateway.health if h.type == "mqtt")
            queued = self.gateway.pipeline.queue.qsize() if self.gateway.pipeline else 0
            total = self.gateway.pipeline.stats.samples if self.gateway.pipeline else 0
            if got >= published and queued == 0:
                still = still + 1 if total == last else 0
                if still >= 10:  # polled sources: a second with nothing new
                    return
            last = total
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """The gateway before the simulator: stopped the other way round, every stop of the demo
        ended with the gateway saying it was reconnecting to the faces that had just gone."""
        if self.sim is not None:
            await asyncio.sleep(0.5)  # the last notifications and polls reach the gateway
        if self.gateway is not None and self._gw_task is not None:
            self.gateway.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._gw_task, 30)
        if self.sim is not None:
            await self.sim.stop()
        if self.broker is not None:
            await self.broker.stop()
        if self._dash is not None:
            stop(self._dash)
