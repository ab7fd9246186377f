"""Gateway workers (`gateway: {workers: N}`): MQTT read by N processes on `$share`
subscriptions of a real Mosquitto, written by the gateway's one writer. Nothing lost or doubled,
acknowledgements only after commit (a clean stop leaves nothing for the broker to send again),
liveness decided in one place when a worker dies, and /health and /metrics adding up the
workers. The fault suite (test_faults.py) runs its broker-restart and gateway-SIGKILL cases with
`workers: auto` too."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.config.loader import ConfigError
from fieldlab.gateway.config import parse_gateway_config
from fieldlab.gateway.run import Gateway
from tests.helpers import stored
from tests.services import free_port, publish

#: SIGKILL (POSIX)
pytestmark = pytest.mark.posix

BASE_TS = 1772427600000
MACHINES = 10


def _base_now() -> int:
    """Message times from a source whose clock agrees with the gateway's (§9), as a publisher's
    on a shop floor does: with the fixed BASE_TS, months back, the source is off by more than
    `max_clock_skew_s`, and whether a live message or the retained state told the gateway the
    source's time first decided whether the retained state was stamped by the gateway's clock."""
    return int(time.time() * 1000) - 60_000


def _site(port: int, workers: int | str, http: int = 0) -> str:
    return json.dumps(
        {
            "store": "sqlite:///gw.db",
            "sources": [
                {
                    "type": "mqtt",
                    "name": "broker",
                    "url": f"mqtt://127.0.0.1:{port}",
                    "client_id": "wk",
                    "protocol": "3.1.1",
                }
            ],
            "gateway": {"http": {"port": http}, "workers": workers},
        }
    )


def _publish(port: int, first: int, n: int, pause_every: int = 0, base: int = BASE_TS) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wk-pub-{first}")
    pub.max_inflight_messages_set(100)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = []
    for i in range(first, first + n):
        payload = json.dumps({"ts": base + i, "value": i})
        infos.append(pub.publish(f"fieldlab/s/a/m{i % MACHINES}/v", payload, qos=1))
        if pause_every and i % pause_every == 0:
            time.sleep(0.01)
    for info in infos:
        info.wait_for_publish(60)
    pub.loop_stop()
    pub.disconnect()


def _states(db: Path) -> list[tuple[str, int, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT machine, ts, value FROM samples JOIN series ON series.id = samples.series "
            "WHERE signal = 'state' ORDER BY machine, ts"
        ).fetchall()
    finally:
        con.close()


async def _until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _connected(gw: Gateway) -> bool:
    return bool(gw.health) and all(h.state == "connected" for h in gw.health)


def test_two_workers_split_the_stream_and_a_clean_stop_leaves_nothing_to_resend(
    tmp_path: Path, broker: int
):
    n = 10_000
    site, cfg = parse_gateway_config(_site(broker, 2))
    base = _base_now()
    # a machine whose state has not changed for three hours when the stream starts: retained
    hours_ago = base - 3 * 3_600_000
    publish(broker, "fieldlab/s/a/steady/state", {"ts": hours_ago, "value": "running"}, retain=True)

    async def first_run() -> tuple[dict, str]:
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        await _until(lambda: _connected(gw), "both workers connected")
        await asyncio.to_thread(_publish, broker, 0, n, 0, base)
        # every message and the retained state (which the first worker's own look brings when
        # the broker sends none on the shared subscriptions, from 0.5 s after connecting)
        await _until(lambda: gw.pipeline is not None and gw.pipeline.stats.samples > n, "all")
        report, metrics = gw.health_report(), gw.metrics_text()
        gw.request_stop()
        await task
        return report, metrics

    report, metrics = asyncio.run(first_run())
    assert stored(tmp_path / "gw.db") == (n, n)
    shares = [w["samples"] for w in report["workers"]]
    assert len(shares) == 2 and min(shares) > n // 4, shares  # the broker split the stream
    # and the retained state: once per worker's shared subscription on Mosquitto 2.0.11, and
    # once from the first worker's own look (RetainedValues)
    assert sum(shares) == report["sources"][0]["samples"] and 1 <= sum(shares) - n <= 3
    assert [w["restarts"] for w in report["workers"]] == [0, 0]
    assert not report["sources"][0]["clock"]["skewed"], report["sources"][0]["clock"]
    assert 'fieldlab_source_samples_total{source="broker",type="mqtt"}' in metrics
    assert 'fieldlab_worker_samples_total{worker="0"}' in metrics
    assert "fieldlab_workers 2.0" in metrics
    # the gateway's stop wrote each machine `offline` once, at the source's time
    offline = [m for m, _, v in _states(tmp_path / "gw.db") if v == "offline"]
    assert sorted(offline) == sorted([f"m{k}" for k in range(MACHINES)] + ["steady"])

    async def second_run() -> int:
        """Every message was acknowledged after its commit: the broker sends nothing again but
        the retained state, which the first worker reads at connect (RetainedValues: brokers
        since Mosquitto 2.0.13 send none on a shared subscription; 2.0.11 sends it to each
        worker too, so it comes up to three times, stored once)."""
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        await _until(lambda: _connected(gw), "both workers connected again")
        await asyncio.sleep(1.5)
        got = sum(h.samples for h in gw.health)
        gw.request_stop()
        await task
        return got

    assert 1 <= asyncio.run(second_run()) <= 3
    assert stored(tmp_path / "gw.db") == (n, n)
    # restarted under a steady machine: its state is `running` from the instant contact
    # returned, after the `offline` the first stop wrote, not three hours before it
    steady = [(ts, v) for m, ts, v in _states(tmp_path / "gw.db") if m == "steady"]
    # (the second run observed no time of the source's own, so its stop writes no `offline`)
    runs = _runs(steady)
    assert [v for _, v in runs] == ["running", "offline", "running"], steady
    assert runs[0][0] == hours_ago and runs[2][0] > runs[1][0] > hours_ago


def test_the_first_worker_reads_the_retained_values_on_a_session_of_its_own(broker: int):
    """What RetainedValues gives, whatever the broker does with shared subscriptions."""
    import logging

    from fieldlab.connectors.base import ConnectorContext, SourceHealth
    from fieldlab.connectors.mqtt.connector import Config
    from fieldlab.gateway.worker import RetainedValues

    publish(broker, "fieldlab/s/a/m1/state", {"ts": BASE_TS, "value": "idle"}, retain=True)
    publish(broker, "fieldlab/s/a/m1/v", {"ts": BASE_TS, "value": 1.5}, retain=False)
    cfg = Config.model_validate(json.loads(_site(broker, 2))["sources"][0])

    async def nowhere(*sent: Any, **meta: Any) -> None:
        raise AssertionError(sent)

    ctx = ConnectorContext("t", nowhere, SourceHealth("t", "mqtt"), logging.getLogger("t"))
    got = asyncio.run(RetainedValues(cfg).fetch(ctx))
    assert [(m.topic, m.retain) for m in got] == [("fieldlab/s/a/m1/state", True)]


def test_a_killed_worker_is_started_again_its_machines_marked_offline_once_nothing_lost(
    tmp_path: Path, broker: int
):
    n = 20_000
    site, cfg = parse_gateway_config(_site(broker, 2))

    async def run() -> dict:
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        await _until(lambda: _connected(gw), "both workers connected")
        publishing = asyncio.create_task(asyncio.to_thread(_publish, broker, 0, n, 500))
        await _until(lambda: gw.pipeline is not None and gw.pipeline.stats.samples >= n // 4, "")
        assert gw.workers is not None
        victim = gw.workers.workers[1].process
        assert victim is not None and victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)  # no goodbye: its unacknowledged messages wait
        await _until(lambda: gw.health[0].machines_offline, "the source's machines offline")
        await publishing
        # every one stored (the resent ones count twice in the pipeline's figure)
        db = tmp_path / "gw.db"
        await _until(lambda: stored(db)[1] >= n, "all stored")
        await _until(lambda: _connected(gw), "the worker back")
        report = gw.health_report()
        gw.request_stop()
        await task
        return report

    report = asyncio.run(run())
    assert stored(tmp_path / "gw.db") == (n, n)  # resent ones upsert: none twice
    assert [w["restarts"] for w in report["workers"]] == [0, 1]
    source = report["sources"][0]
    assert source["reconnects"] == 1 and source["state"] == "connected"
    assert source["machines_offline"] == []
    states = _states(tmp_path / "gw.db")
    for k in range(MACHINES):
        mine = [v for m, _, v in states if m == f"m{k}"]
        # one `offline` when the worker died (whichever worker carried the machine), one at stop
        assert mine == ["offline", "offline"], (k, mine)


def test_workers_is_a_count_or_auto_and_a_wrong_one_says_so():
    site, cfg = parse_gateway_config(_site(1883, "auto"))
    assert cfg.gateway.worker_count() == (os.cpu_count() or 1)
    for bad in (0, 65, "many", True):
        with pytest.raises(ConfigError) as err:
            parse_gateway_config(_site(1883, bad))  # type: ignore[arg-type]
        assert "gateway.workers" in str(err.value) and "1 to 64, or auto" in str(err.value)


def test_workers_queue_for_influxdb_themselves_through_an_outage_and_fewer_workers(
    tmp_path: Path, broker: int, influx: Any
):
    """An InfluxDB-only site with two workers: each worker queues and sends its samples through
    a queue file of its own, and /health adds the queues up. Through an outage (the sink's
    port refuses) the samples wait in the workers' files; restarted with one process, the
    gateway takes both files in and sends them: every sample in InfluxDB exactly once."""
    from fieldlab.store.influxdb import InfluxStore

    n = 3_000
    doc = json.loads(_site(broker, 2))
    doc["store"] = influx.store_url
    doc["sinks"] = [{**influx.sink, "queue": {"path": "queue.db"}}]
    away = {**doc, "sinks": [{**doc["sinks"][0], "url": f"http://127.0.0.1:{free_port()}"}]}

    async def run(site_doc: dict, first: int, until: Any) -> dict:
        site, cfg = parse_gateway_config(json.dumps(site_doc))
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        await _until(lambda: _connected(gw), "connected")
        if first >= 0:
            await asyncio.to_thread(_publish, broker, first, n)
        await _until(lambda: until(gw.health_report()), "the queues", 30)
        report = gw.health_report() | {"metrics": gw.metrics_text()}
        gw.request_stop()
        await task
        return report

    def queued(r: dict) -> float:
        return r["sinks"][0]["queued_points"]

    store = InfluxStore(influx.store_url)

    def one(q: str) -> int:
        return sum(int(r["values"][0][1]) for r in store.query(q))

    # the workers write into InfluxDB themselves
    sent = asyncio.run(run(doc, 0, lambda r: r["sinks"][0]["sent_points"] >= n))
    assert one('SELECT count("value") FROM "v"') == n
    assert min(w["samples"] for w in sent["workers"]) > 0
    # InfluxDB away: the samples wait in the workers' own queue files, added up on /health
    out = asyncio.run(run(away, n, lambda r: queued(r) >= n))
    assert queued(out) == n and out["sinks"][0]["up"] == 0 and out["status"] == "degraded"
    assert f'fieldlab_sink_queued_points{{sink="influxdb"}} {n}.0' in out["metrics"]
    assert {f.name for f in tmp_path.glob("queue-w?.db")} == {"queue-w0.db", "queue-w1.db"}
    # one process now: it takes both files in and sends them with its own `offline`s
    asyncio.run(
        run({**doc, "gateway": {**doc["gateway"], "workers": 1}}, -1, lambda r: not queued(r))
    )
    assert not list(tmp_path.glob("queue-w*"))
    assert one('SELECT count("value") FROM "v"') == 2 * n
    assert one('SELECT sum("value") FROM "v"') == sum(range(2 * n))


def test_one_process_also_remembers_a_machine_learned_from_a_topic_across_a_restart(
    tmp_path: Path, broker: int
):
    """The same steady machine with `workers: 1` and no `machines:`: the stop notes it in the
    observed file, so the next start closes its gap and its retained state, three hours old,
    counts from the instant contact returned (it read `offline` until its state next changed)."""
    base = _base_now()
    hours_ago = base - 3 * 3_600_000
    publish(broker, "fieldlab/s/a/steady/state", {"ts": hours_ago, "value": "running"}, retain=True)
    site, cfg = parse_gateway_config(_site(broker, 1))

    async def run(n: int) -> None:
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        await _until(lambda: _connected(gw), "connected")
        if n:
            await asyncio.to_thread(_publish, broker, 0, n, 0, base)
            await _until(lambda: gw.pipeline is not None and gw.pipeline.stats.samples > n, "")
        else:
            await asyncio.sleep(1.0)
        gw.request_stop()
        await task

    asyncio.run(run(100))
    asyncio.run(run(0))
    steady = [(ts, v) for m, ts, v in _states(tmp_path / "gw.db") if m == "steady"]
    runs = _runs(steady)
    assert [v for _, v in runs] == ["running", "offline", "running"], steady
    assert runs[2][0] > runs[1][0] > hours_ago


def _runs(states: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Runs of equal states, each at its first sample. The retained state comes once per
    worker's shared subscription on Mosquitto 2.0.11 and once from the first worker's own look;
    under load they land in separate batches and are kept as repeats of the same state, 1 ms
    after the newest (domain.md §9), which change no figure."""
    return [(ts, v) for i, (ts, v) in enumerate(states) if i == 0 or states[i - 1][1] != v]
