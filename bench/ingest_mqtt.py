"""Benchmark: MQTT → SQLite through the gateway, with one process and with `workers: auto`,
against what the machine can do in the same run:

- a bare `mosquitto_sub` draining the same messages to /dev/null (the broker's and the
  machine's limit): `auto` workers ≥ 0.5× that;
- a bare paho subscriber that parses every payload: the gateway in one process ≥ 0.8× that;
- the gateway on MQTT 3.1.1: the site default (`protocol: auto`, MQTT 5 where the broker speaks
  it) as fast, medians of three drains each (paho's per-packet MQTT 5 properties made it 0.3×
  before connectors/mqtt/client.py's `LeanProperties`);
- a raw SQLite `executemany` of the batched payloads' rows into the store's tables: the gateway
  with batched payloads ≥ 0.5× that.

Every side drains the same number of QoS 1 messages that a real Mosquitto queued for its
persistent sessions beforehand, so the publisher's speed does not enter the figure.

    fieldlab bench ingest-mqtt [--json]
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.services import find_binary, mosquitto
from fieldlab.domain.samples import Sample
from fieldlab.gateway.config import parse_gateway_config
from fieldlab.gateway.pool import group_name
from fieldlab.gateway.run import Gateway
from fieldlab.store.sqlite import SqliteStore

TOPIC = "fieldlab/bench/area/m{m}/v"
#: drains per protocol for the MQTT 5 against 3.1.1 comparison (medians: one drain varies ±15 %)
PROTOCOL_RUNS = 3


def prepare(
    port: int,
    client_id: str | list[str],
    payloads: list[tuple[str, bytes]],
    topics: str = "fieldlab/bench/#",
) -> None:
    """Make a persistent session for client_id (each of a list, sharing `topics` as
    `$share/…` ones do) with a subscription, then queue the payloads."""
    for cid in [client_id] if isinstance(client_id, str) else client_id:
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
        sub.connect("127.0.0.1", port)
        sub.subscribe(topics, qos=1)
        sub.loop(2)
        sub.disconnect()
    first = client_id if isinstance(client_id, str) else client_id[0]
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{first}-pub")
    pub.max_inflight_messages_set(100)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish(t, p, qos=1) for t, p in payloads]
    for info in infos:
        info.wait_for_publish(120)
    pub.loop_stop()
    pub.disconnect()


def bare_paho(port: int, client_id: str, n: int) -> float:
    """Messages/s for a plain paho subscriber that parses every payload (json.loads)."""
    got = 0
    t0: float | None = None
    done = time.monotonic

    def on_message(c, u, msg):
        nonlocal got, t0
        if t0 is None:
            t0 = done()
        json.loads(msg.payload)
        got += 1

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    deadline = time.monotonic() + 300
    while got < n and time.monotonic() < deadline:
        c.loop(0.1)
    elapsed = done() - (t0 or done())
    c.disconnect()
    return got / elapsed if elapsed else 0.0


def mosquitto_sub(port: int, client_id: str, n: int) -> float:
    """Messages/s for Mosquitto's own C client draining the session to /dev/null: what the
    broker and this machine can deliver at all (wall time of the whole process, its start
    included: a few milliseconds)."""
    binary = find_binary("mosquitto_sub")
    if binary is None:
        return 0.0
    cmd = [binary, "-h", "127.0.0.1", "-p", str(port), "-i", client_id, "-c", "-q", "1"]
    cmd += ["-t", "fieldlab/bench/#", "-C", str(n)]
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, timeout=300)
    return n / (time.monotonic() - t0)


def gateway_source(port: int, client_id: str, protocol: str = "3.1.1") -> dict[str, Any]:
    return {
        "type": "mqtt",
        "name": "bench",
        "url": f"mqtt://127.0.0.1:{port}",
        "client_id": client_id,
        "protocol": protocol,
        "topics": [{"template": "fieldlab/bench/{area}/{machine}/{signal}"}],
    }


def prepare_workers(port: int, client_id: str, workers: int, payloads: list) -> None:
    """The sessions `workers` gateway workers will take over, with the payloads queued."""
    from fieldlab.connectors.mqtt.connector import Config

    cfg = Config.model_validate(gateway_source(port, client_id))
    ids = [f"{client_id}-w{k}" for k in range(workers)]
    prepare(port, ids, payloads, f"$share/{group_name(cfg)}/fieldlab/bench/+/+/+")


def through_gateway(
    port: int,
    client_id: str,
    n_samples: int,
    workdir: Path,
    sinks: dict | None = None,
    health: dict | None = None,
    workers: int = 1,
) -> float:
    """Samples/s from first message to the last one committed (to SQLite, or to `sinks`: more
    site keys, as the outage and alerts benchmarks give); `health` gets the /health report."""
    source = gateway_source(port, client_id)
    return drain(source, n_samples, workdir, sinks, health, workers)


def drain(
    source: dict,
    n_samples: int,
    workdir: Path,
    sinks: dict | None = None,
    health: dict | None = None,
    workers: int = 1,
    cpu: dict | None = None,
) -> float:
    """A gateway with this one source drains what is queued for it: samples/s from the first
    committed sample until `n_samples` are. `cpu` gets the CPU seconds the gateway's process
    and its workers spent meanwhile (where the time goes)."""
    site, cfg = parse_gateway_config(
        json.dumps(
            {
                "store": "sqlite:///bench.db",
                **(sinks or {}),
                "sources": [source],
                "gateway": {"http": {"port": 0}, "workers": workers},
            }
        )
    )
    gw = Gateway(site, cfg, workdir)

    async def go() -> float:
        task = asyncio.create_task(gw.run())
        while gw.pipeline is None or gw.pipeline.stats.samples == 0:
            await asyncio.sleep(0.001)
        t0, c0 = time.monotonic(), time.process_time()
        w0 = _workers_cpu(gw)
        deadline = t0 + 300
        while gw.pipeline.stats.samples < n_samples and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.monotonic() - t0
        if cpu is not None:
            cpu["seconds"] = round(elapsed, 2)
            cpu["gateway_cpu_s"] = round(time.process_time() - c0, 2)
            if gw.workers is not None:
                cpu["workers_cpu_s"] = round(_workers_cpu(gw) - w0, 2)
        if health is not None:
            health.update(gw.health_report())
        gw.request_stop()
        await task
        return gw.pipeline.stats.samples / elapsed

    return asyncio.run(go())


def _workers_cpu(gw: Gateway) -> float:
    """CPU seconds of the gateway's worker processes so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for w in gw.workers.workers if gw.workers is not None else []:
        if w.process is None or w.process.pid is None:
            continue
        try:
            fields = Path(f"/proc/{w.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def raw_sqlite(rows: list[Sample], workdir: Path) -> float:
    """Rows/s of a plain `executemany` of the same samples into the store's own tables (its
    schema and indexes, one transaction), with the series ids known: the floor of what any
    writer into that file can do."""
    path = workdir / "raw.db"
    SqliteStore(path).close()  # the schema
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    keys = sorted({(s.machine, s.signal) for s in rows})
    con.executemany("INSERT INTO series (machine, signal) VALUES (?, ?)", keys)
    ids = {(m, g): i for i, m, g in con.execute("SELECT id, machine, signal FROM series")}
    t0 = time.monotonic()
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO samples (series, ts, value) VALUES (?, ?, ?)",
        [(ids[(s.machine, s.signal)], s.ts, s.value) for s in rows],
    )
    con.execute("COMMIT")
    elapsed = time.monotonic() - t0
    con.close()
    return len(rows) / elapsed


def run(progress: Progress, messages: int = 50_000, batched: str = "2000x100") -> Result:
    logging.getLogger("fieldlab").setLevel(logging.ERROR)
    n = messages
    auto = max(1, os.cpu_count() or 1)
    singles = [
        (TOPIC.format(m=i % 20), json.dumps({"ts": 1772427600000 + i, "value": i}).encode())
        for i in range(n)
    ]
    bm, per = (int(x) for x in batched.split("x"))
    batches = [
        (
            TOPIC.format(m=i % 20),
            json.dumps(
                [{"ts": 1772427600000 + i * per + k, "value": k} for k in range(per)]
            ).encode(),
        )
        for i in range(bm)
    ]
    result: Result = {
        "messages": n,
        "batched_messages": bm,
        "samples_per_batched_message": per,
        "workers_auto": auto,
    }
    with mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        progress(f"queueing {n:,} QoS 1 messages; mosquitto_sub drains them to /dev/null")
        prepare(port, "sub", singles)
        result["mosquitto_sub_msgs_per_s"] = round(mosquitto_sub(port, "sub", n))
        progress("a bare paho subscriber drains the same")
        prepare(port, "bare", singles)
        result["bare_paho_msgs_per_s"] = round(bare_paho(port, "bare", n))
        progress(
            "the same messages through the gateway into SQLite, one process, MQTT 3.1.1 and "
            "the site default (protocol: auto, MQTT 5 here) in turn, three times each"
        )
        rates: dict[str, list[float]] = {"3.1.1": [], "auto": []}
        cpus: dict[str, list[float]] = {"3.1.1": [], "auto": []}
        for k in range(PROTOCOL_RUNS):
            for protocol in ("3.1.1", "auto") if k % 2 == 0 else ("auto", "3.1.1"):
                client_id = f"gw-{protocol}-{k}"
                prepare(port, client_id, singles)
                cpu: dict[str, float] = {}
                source = gateway_source(port, client_id, protocol)
                rates[protocol].append(drain(source, n, work / client_id, cpu=cpu))
                cpus[protocol].append(cpu["gateway_cpu_s"])
        result["gateway_samples_per_s"] = round(statistics.median(rates["3.1.1"]))
        result["gateway_default_protocol_samples_per_s"] = round(statistics.median(rates["auto"]))
        result["gateway_cpu_s"] = {p: statistics.median(c) for p, c in cpus.items()}
        progress(f"the same through the gateway with workers: auto ({auto} processes)")
        prepare_workers(port, "gw-auto", auto, singles)
        cpu = {}
        result["gateway_auto_samples_per_s"] = round(
            drain(gateway_source(port, "gw-auto"), n, work / "b", workers=auto, cpu=cpu)
        )
        result["auto_cpu"] = cpu
        progress(f"{bm:,} batched messages × {per} samples through the gateway, one process")
        prepare(port, "gw-batched", batches)
        result["gateway_batched_samples_per_s"] = round(
            through_gateway(port, "gw-batched", bm * per, work / "c")
        )
        progress(f"the same with workers: auto ({auto} processes)")
        prepare_workers(port, "gw-batched-auto", auto, batches)
        cpu = {}
        result["gateway_batched_auto_samples_per_s"] = round(
            drain(
                gateway_source(port, "gw-batched-auto"), bm * per, work / "d", workers=auto, cpu=cpu
            )
        )
        result["batched_auto_cpu"] = cpu
        progress(f"a raw SQLite executemany of the same {bm * per:,} rows")
        rows = [
            Sample(int(d["ts"]), f"m{i % 20}", "v", d["value"])
            for i, (_, payload) in enumerate(batches)
            for d in json.loads(payload)
        ]
        result["raw_sqlite_rows_per_s"] = round(raw_sqlite(rows, work))
    best_batched = max(
        result["gateway_batched_samples_per_s"], result["gateway_batched_auto_samples_per_s"]
    )
    result["ratio_vs_bare_paho"] = round(
        result["gateway_samples_per_s"] / result["bare_paho_msgs_per_s"], 2
    )
    sub = result["mosquitto_sub_msgs_per_s"]
    result["auto_ratio_vs_mosquitto_sub"] = (
        round(result["gateway_auto_samples_per_s"] / sub, 2) if sub else None
    )
    result["default_protocol_ratio_vs_311"] = round(
        result["gateway_default_protocol_samples_per_s"] / result["gateway_samples_per_s"], 2
    )
    result["auto_ratio_vs_one_process"] = round(
        result["gateway_auto_samples_per_s"] / result["gateway_samples_per_s"], 2
    )
    result["batched_ratio_vs_raw_sqlite"] = round(best_batched / result["raw_sqlite_rows_per_s"], 2)
    result["goals"] = {
        "ratio_vs_bare_paho": ">= 0.8",
        "default_protocol_ratio_vs_311": ">= 0.95",
        "auto_ratio_vs_mosquitto_sub": ">= 0.5",
        "batched_ratio_vs_raw_sqlite": ">= 0.5",
    }
    result["met"] = (
        result["ratio_vs_bare_paho"] >= 0.8
        and result["default_protocol_ratio_vs_311"] >= 0.95
        and (result["auto_ratio_vs_mosquitto_sub"] or 0) >= 0.5
        and result["batched_ratio_vs_raw_sqlite"] >= 0.5
    )
    return result


def report(r: Result) -> list[str]:
    sub = r["mosquitto_sub_msgs_per_s"]
    auto = r["workers_auto"]
    return [
        f"mosquitto_sub to /dev/null (the broker's limit here): {sub:,} msg/s"
        if sub
        else "mosquitto_sub: not installed (apt install mosquitto-clients), no baseline",
        f"bare paho subscriber (QoS 1, json.loads): {r['bare_paho_msgs_per_s']:,} msg/s",
        f"gateway MQTT → SQLite, one sample/message, one process: "
        f"{r['gateway_samples_per_s']:,} samples/s = {r['ratio_vs_bare_paho']:.2f}× bare paho "
        "(goal ≥ 0.8×)",
        f"the same with the default protocol (auto, MQTT 5): "
        f"{r['gateway_default_protocol_samples_per_s']:,} samples/s = "
        f"{r['default_protocol_ratio_vs_311']:.2f}× MQTT 3.1.1 (goal ≥ 0.95×: as fast, within "
        f"the spread of medians of three); gateway CPU {r['gateway_cpu_s']['auto']:.2f} s "
        f"against {r['gateway_cpu_s']['3.1.1']:.2f} s on 3.1.1 ({r['messages']:,} messages)",
        f"the same with workers: auto ({auto}): {r['gateway_auto_samples_per_s']:,} samples/s = "
        f"{r['auto_ratio_vs_mosquitto_sub'] or 0:.2f}× mosquitto_sub (goal ≥ 0.5×), "
        f"{r['auto_ratio_vs_one_process']:.2f}× one process",
        f"batched payloads ({r['samples_per_batched_message']}/message): "
        f"{r['gateway_batched_samples_per_s']:,} samples/s in one process, "
        f"{r['gateway_batched_auto_samples_per_s']:,} with {auto} workers",
        f"raw SQLite executemany of the same rows: {r['raw_sqlite_rows_per_s']:,} rows/s; "
        f"the better gateway = {r['batched_ratio_vs_raw_sqlite']:.2f}× (goal ≥ 0.5×)",
        *(
            f"CPU, {what} with workers: {c['seconds']} s: gateway process {c['gateway_cpu_s']} s, "
            f"workers {c.get('workers_cpu_s', 0)} s ({auto} cores: {auto * c['seconds']:.2f} s)"
            for what, c in (
                ("one sample/message", r["auto_cpu"]),
                ("batched", r["batched_auto_cpu"]),
            )
        ),
    ]
