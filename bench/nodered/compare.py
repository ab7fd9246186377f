"""The comparison: the same QoS 1 messages from a real Mosquitto into a real InfluxDB 1.x, through
the gateway (the site defaults) and through a Node-RED flow (flow.json), side by side in one
run, alternating, each into a database of its own. README.md says what is fair about it.

Three phases, each for both sides, `runs` times; the figures are the medians:

- **drain**: 200,000 messages are queued for the consumer's persistent session before it
  starts; samples/s from its connection to the broker to the last point InfluxDB takes (its
  own count of points written, every 50 ms), and the consumer's CPU meanwhile;
- **live**: the consumer runs, a publisher sends the messages as fast as the broker takes them;
  samples/s from the first publish to the last point in InfluxDB;
- **restart**: as live, with Mosquitto (persistent) stopped and started again when it has
  acknowledged 40 % of the messages: points lost (never in InfluxDB) and points written twice
  (InfluxDB's own count of points written, less the points it holds).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.ingest_mqtt import prepare
from fieldlab.bench.nodered.install import node_red
from fieldlab.bench.services import (
    InfluxProcess,
    Mosquitto,
    ServiceMissing,
    find_binary,
    free_port,
    influxdb,
)
from fieldlab.process import spawn, stop

MACHINES, SIGNALS = 100, 5
FLOW = Path(__file__).with_name("flow.json")
#: no new point for this long: what has not arrived will not
STALL_S = 20.0
POLL_S = 0.2


def payloads(n: int, t0: int) -> list[tuple[str, bytes]]:
    """n messages, one JSON sample each, over 100 machines × 5 signals, each series in time."""
    return [
        (
            f"fieldlab/bench/area/m{i % MACHINES}/s{(i // MACHINES) % SIGNALS}",
            json.dumps({"ts": t0 + i, "value": i * 0.5}).encode(),
        )
        for i in range(n)
    ]


class Side(Protocol):
    name: str
    #: what it subscribes to: its persistent session is made with the same filter (a second,
    #: overlapping one would have the broker send every live message twice)
    filter: str

    def start(self, db: str, client_id: str) -> psutil.Process: ...

    def stop(self) -> None: ...


class NodeRed:
    """Node-RED with flow.json (mqtt in → json → function → join 1000 → influxdb batch)."""

    name = "nodered"
    filter = "fieldlab/bench/#"

    def __init__(self, node: str, script: Path, work: Path, mqtt_port: int, influx_port: int):
        self.node, self.script, self.work = node, script, work
        self.mqtt_port, self.influx_port = mqtt_port, influx_port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, db: str, client_id: str) -> psutil.Process:
        user = self.work / f"nodered-{db}"
        user.mkdir(parents=True)
        flow = FLOW.read_text()
        for key, value in {
            "@MQTT_PORT@": str(self.mqtt_port),
            "@INFLUX_PORT@": str(self.influx_port),
            "@DATABASE@": db,
            "@CLIENT_ID@": client_id,
        }.items():
            flow = flow.replace(key, value)
        (user / "flow.json").write_text(flow)
        (user / "settings.js").write_text(
            "module.exports = {\n"
            f"  uiPort: {free_port()}, uiHost: '127.0.0.1', flowFile: 'flow.json',\n"
            "  credentialSecret: false, httpAdminRoot: false, httpNodeRoot: false,\n"
            "  logging: {console: {level: 'warn', metrics: false, audit: false}},\n"
            "  diagnostics: {enabled: false}, runtimeState: {enabled: false},\n"
            "  telemetry: {enabled: false}, editorTheme: {projects: {enabled: false}},\n"
            "};\n"
        )
        self.log = (user / "nodered.log").open("wb")
        self.proc = subprocess.Popen(
            [
                self.node,
                str(self.script),
                "--userDir",
                str(user),
                "--settings",
                str(user / "settings.js"),
                "flow.json",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=user,
        )
        return psutil.Process(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, 30)
        self.log.close()


class Gateway:
    """`fieldlab gateway` with the site defaults: one process, MQTT `protocol: auto`, an
    InfluxDB sink behind its durable queue."""

    name = "fieldlab"
    filter = "fieldlab/bench/+/+/+"  # the topic template's

    def __init__(self, work: Path, mqtt_port: int, influx_port: int):
        self.work, self.mqtt_port, self.influx_port = work, mqtt_port, influx_port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, db: str, client_id: str) -> psutil.Process:
        folder = self.work / f"gateway-{db}"
        folder.mkdir(parents=True)
        site = {
            "store": f"influxdb://127.0.0.1:{self.influx_port}/{db}",
            "sources": [
                {
                    "type": "mqtt",
                    "name": "machines",
                    "url": f"mqtt://127.0.0.1:{self.mqtt_port}",
                    "client_id": client_id,
                    "topics": [{"template": "fieldlab/bench/{area}/{machine}/{signal}"}],
                }
            ],
            "sinks": [
                {
                    "type": "influxdb",
                    "api": "v1",
                    "url": f"http://127.0.0.1:{self.influx_port}",
                    "database": db,
                }
            ],
            "gateway": {"http": {"port": 0}},
        }
        (folder / "site.yaml").write_text(json.dumps(site))
        self.log = (folder / "gateway.log").open("wb")
        # spawned with the kit's lifeline: a bench that dies leaves no gateway behind
        self.proc = spawn(
            [sys.executable, "-m", "fieldlab", "gateway", "--config", "site.yaml"],
            env={**os.environ, "FIELDLAB_LANG": "en"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        return psutil.Process(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, 30)
        self.log.close()


class Watch:
    """CPU and peak RSS of a consumer's process and its children, sampled in a thread."""

    def __init__(self, proc: psutil.Process):
        self.proc, self.peak_mb = proc, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return []

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            rss = 0
            for p in self._tree():
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            self.peak_mb = max(self.peak_mb, rss / 2**20)

    def cpu(self) -> float:
        total = 0.0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def connected(self, port: int, timeout: float = 60.0) -> float:
        """When the consumer first holds a connection to the broker (monotonic), polled every
        10 ms: a drain is timed from there, so neither side's start-up counts and neither
        gains by writing its first point late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self._tree():
                with contextlib.suppress(psutil.Error):
                    for c in p.net_connections(kind="tcp"):
                        if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED":
                            return time.monotonic()
            time.sleep(0.01)
        raise RuntimeError(f"the consumer did not connect to the broker in {timeout:.0f} s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def points(influx: InfluxProcess, db: str, everything: bool = False) -> int:
    """The bench's points InfluxDB holds in `db` (one per series and time); ``everything``:
    also what the consumer adds (the gateway's `offline` states). One count per measurement:
    InfluxDB 1.x counts a regex FROM over one field type only (the string states were left
    out of `count(value) FROM /.*/`)."""
    if everything:
        found = influx.query("SHOW MEASUREMENTS", db)["results"][0].get("series", [])
        names = [row[0] for s in found for row in s["values"] if not row[0].startswith("_")]
    else:
        names = [f"s{k}" for k in range(SIGNALS)]
    query = ";".join(f'SELECT count(value) FROM "{name}"' for name in names)
    total = 0
    for result in influx.query(query, db)["results"] if names else []:
        total += sum(int(s["values"][0][1]) for s in result.get("series", []))
    return total


def written(influx: InfluxProcess) -> int:
    """Points InfluxDB accepted over HTTP since it started (its own statistics)."""
    for s in influx.query("SHOW STATS")["results"][0].get("series", []):
        if s["name"] == "httpd":
            return int(s["values"][0][s["columns"].index("pointsWrittenOK")])
    return 0


def until_settled(
    count: Callable[[], int],
    n: int,
    on_first: Callable[[], None] | None = None,
    poll_s: float = POLL_S,
) -> tuple[float, int, float, int]:
    """Poll until `n` points are in or none came for STALL_S: (when the first were seen, how
    many then, when the count last changed, the count), times monotonic."""
    first = last = 0.0
    at_first = seen = 0
    changed = time.monotonic()
    while True:
        got = count()
        now = time.monotonic()
        if got != seen:
            if not seen and got:
                first, at_first = now, got
                if on_first is not None:
                    on_first()
            seen, last, changed = got, now, now
        if seen >= n or now - changed > STALL_S:
            return first, at_first, last, seen
        time.sleep(poll_s)


class Publisher:
    """Publishes the messages as fast as the broker takes them (QoS 1, 100 in flight), going
    on through a broker restart (paho reconnects and sends again what was not acknowledged)."""

    def __init__(self, port: int, messages: list[tuple[str, bytes]], client_id: str):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_publish = self._acknowledged
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.messages, self.sent = messages, 0
        #: what the broker acknowledged (publish() only queues: `sent` runs far ahead)
        self.acked = 0
        self.started = 0.0

    def _acknowledged(self, *_: object) -> None:
        self.acked += 1

    def run(self) -> None:
        self.started = time.monotonic()
        infos = []
        for topic, payload in self.messages:
            infos.append(self.client.publish(topic, payload, qos=1))
            self.sent += 1
        for info in infos:
            info.wait_for_publish(300)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def drain(side: Side, port: int, influx: InfluxProcess, db: str, msgs: list) -> dict[str, float]:
    client_id = f"{side.name}-{db}"
    for k in range(0, len(msgs), 50_000):  # paho queues at most so many unsent at a time here
        prepare(port, client_id, msgs[k : k + 50_000], side.filter)
    before = written(influx)
    proc = side.start(db, client_id)
    watch = Watch(proc)
    try:
        # from the consumer's connection to the broker to the last point: a first version
        # timed from the first point InfluxDB took, which a consumer that reads the backlog
        # before it writes (the gateway since its writes carry many batches) made look 4x
        # faster than it was
        start = watch.connected(port)
        cpu0 = watch.cpu()
        # InfluxDB's own count of points written, polled every 50 ms (a statistic, no scan)
        _, _, last, got = until_settled(lambda: written(influx) - before, len(msgs), poll_s=0.05)
        cpu = watch.cpu() - cpu0
    finally:
        side.stop()
        watch.close()
    return {
        "samples_per_s": got / max(last - start, 1e-3),
        "cpu_ms_per_1000": cpu / max(got, 1) * 1e6,
        "peak_rss_mb": watch.peak_mb,
        "points": points(influx, db),
    }


def live(
    side: Side,
    port: int,
    influx: InfluxProcess,
    db: str,
    msgs: list,
    broker: Mosquitto | None = None,
) -> dict[str, float]:
    """The consumer runs, the publisher sends; with `broker`, restarted at 40 % acknowledged."""
    client_id = f"{side.name}-{db}"
    prepare(port, client_id, [], side.filter)
    before = written(influx)
    proc = side.start(db, client_id)
    watch = Watch(proc)
    time.sleep(3.0)  # connected and subscribed (the session keeps anything earlier anyway)
    pub = Publisher(port, msgs, f"{client_id}-pub")
    sender = threading.Thread(target=pub.run, daemon=True)
    try:
        cpu0 = watch.cpu()
        sender.start()
        if broker is not None:
            while pub.acked < 0.4 * len(msgs) and sender.is_alive():
                time.sleep(0.01)
            broker.stop()
            broker.start()
        _, _, last, got = until_settled(lambda: points(influx, db), len(msgs))
        cpu = watch.cpu() - cpu0
        sender.join(60)
    finally:
        pub.close()
        side.stop()
        watch.close()
    time.sleep(1.0)  # what the consumer wrote as it stopped
    got = points(influx, db)
    return {
        "samples_per_s": len(msgs) / max(last - pub.started, 1e-3) if got else 0.0,
        "cpu_ms_per_1000": cpu / max(got, 1) * 1e6,
        "peak_rss_mb": watch.peak_mb,
        "lost": len(msgs) - got,
        "written_twice": max(0, written(influx) - before - points(influx, db, everything=True)),
    }


def _median(rows: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 1)


@contextlib.contextmanager
def _broker(folder: Path) -> Iterator[Mosquitto]:
    binary = find_binary("mosquitto")
    if binary is None:
        raise ServiceMissing("mosquitto is not installed (Debian/Ubuntu: apt install mosquitto)")
    broker = Mosquitto(binary, folder, persistent=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def run(
    progress: Progress,
    messages: int = 50_000,
    runs: int = 3,
    install: bool = False,
    drain_messages: int = 200_000,
) -> Result:
    node, script = node_red(install)
    t0 = int(time.time() * 1000) - 86_400_000
    msgs = payloads(messages, t0)
    backlog = payloads(drain_messages, t0)  # a drain of 50,000 is over in 1-2 s: 4x, measurable
    rows: dict[str, dict[str, list[dict[str, float]]]] = {
        side: {"drain": [], "live": [], "restart": []} for side in ("fieldlab", "nodered")
    }
    with tempfile.TemporaryDirectory() as tmp, influxdb(()) as influx:
        work = Path(tmp)
        (work / "broker").mkdir()
        with _broker(work / "broker") as broker:
            sides: list[Side] = [
                Gateway(work, broker.port, influx.port),
                NodeRed(node, script, work, broker.port, influx.port),
            ]
            for r in range(runs):
                order = sides if r % 2 == 0 else sides[::-1]
                for phase in ("drain", "live", "restart"):
                    for side in order:
                        db = f"{side.name}_{phase}_{r}"
                        influx.query(f"CREATE DATABASE {db}")
                        n = drain_messages if phase == "drain" else messages
                        progress(f"run {r + 1}/{runs}: {phase}, {side.name}, {n:,} messages")
                        if phase == "drain":
                            got = drain(side, broker.port, influx, db, backlog)
                        else:
                            restart = broker if phase == "restart" else None
                            got = live(side, broker.port, influx, db, msgs, restart)
                        rows[side.name][phase].append(got)
                        progress(
                            f"  {got['samples_per_s']:,.0f} samples/s, "
                            f"{got['cpu_ms_per_1000']:.1f} ms CPU per 1,000, "
                            f"peak {got['peak_rss_mb']:.0f} MB"
                            + (
                                f", lost {got['lost']:,.0f}, written twice "
                                f"{got['written_twice']:,.0f}"
                                if "lost" in got
                                else ""
                            )
                        )
    result: Result = {"messages": messages, "drain_messages": drain_messages, "runs": runs}
    for name, phases in rows.items():
        result[name] = {
            "drain_samples_per_s": _median(phases["drain"], "samples_per_s"),
            "drain_cpu_ms_per_1000": _median(phases["drain"], "cpu_ms_per_1000"),
            "live_samples_per_s": _median(phases["live"], "samples_per_s"),
            "live_cpu_ms_per_1000": _median(phases["live"], "cpu_ms_per_1000"),
            "peak_rss_mb": round(
                statistics.median(
                    max(ph[i]["peak_rss_mb"] for ph in phases.values()) for i in range(runs)
                ),
                1,
            ),
            "restart_lost": max(p["lost"] for p in phases["restart"]),
            "restart_written_twice": _median(phases["restart"], "written_twice"),
            "runs": phases,
        }
    ours, theirs = result["fieldlab"], result["nodered"]
    result["drain_ratio"] = round(ours["drain_samples_per_s"] / theirs["drain_samples_per_s"], 2)
    result["cpu_ratio"] = round(ours["drain_cpu_ms_per_1000"] / theirs["drain_cpu_ms_per_1000"], 2)
    result["live_ratio"] = round(ours["live_samples_per_s"] / theirs["live_samples_per_s"], 2)
    result["rss_ratio"] = round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 2)
    result["goals"] = {
        "drain_ratio": ">= 1.5",
        "cpu_ratio": "<= 0.8",
        "live_ratio": ">= 1.0",
        "rss_ratio": "<= 1.0",
        "fieldlab restart_lost": "0",
        "fieldlab restart_written_twice": "0",
    }
    result["met"] = (
        result["drain_ratio"] >= 1.5
        and result["cpu_ratio"] <= 0.8
        and result["live_ratio"] >= 1.0
        and result["rss_ratio"] <= 1.0
        and ours["restart_lost"] == 0
        and ours["restart_written_twice"] == 0
    )
    return result


def report(r: Result) -> list[str]:
    ours, theirs = r["fieldlab"], r["nodered"]
    return [
        f"{r['messages']:,} QoS 1 messages (100 machines × 5 signals; {r['drain_messages']:,} "
        f"queued for the drain), medians of {r['runs']} runs",
        f"drain: fieldlab {ours['drain_samples_per_s']:,} samples/s, Node-RED "
        f"{theirs['drain_samples_per_s']:,} = {r['drain_ratio']:.2f}× (goal ≥ 1.5×)",
        f"CPU per 1,000 samples draining: fieldlab {ours['drain_cpu_ms_per_1000']} ms, Node-RED "
        f"{theirs['drain_cpu_ms_per_1000']} ms = {r['cpu_ratio']:.2f}× (goal ≤ 0.8×)",
        f"live: fieldlab {ours['live_samples_per_s']:,} samples/s, Node-RED "
        f"{theirs['live_samples_per_s']:,} = {r['live_ratio']:.2f}× (goal ≥ 1.0×)",
        f"peak RSS: fieldlab {ours['peak_rss_mb']} MB, Node-RED {theirs['peak_rss_mb']} MB = "
        f"{r['rss_ratio']:.2f}× (goal ≤ 1.0×)",
        f"Mosquitto restarted mid-stream: fieldlab lost {ours['restart_lost']}, wrote "
        f"{ours['restart_written_twice']:.0f} twice; Node-RED lost {theirs['restart_lost']}, "
        f"wrote {theirs['restart_written_twice']:.0f} twice (goal for fieldlab: 0 and 0)",
    ]
