"""The InfluxDB-only gateway (the compose server's shape: an InfluxDB sink and `store:` on that
InfluxDB, no SQLite): SIGKILLed and restarted, it closes the gap with `offline` in InfluxDB at
the instant it last observed the machine; a malformed payload reaches InfluxDB's `_rejected`
through the durable queue and shows on the dashboard's data-quality page; no private SQLite
store of samples is left beside it. Against Debian's InfluxDB 1.6 always, and InfluxDB 2.x/3.x
when FIELDLAB_TEST_INFLUXDB2_URL and _TOKEN name a server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from fieldlab.store import open_store
from fieldlab.store.influxdb import InfluxStore
from tests.conftest import Influx
from tests.services import Process, eventually, free_port, publish
from tests.sim_gateway import wait_connected

PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "views"
pytestmark = pytest.mark.slow


def _states(store: InfluxStore) -> list[tuple[int, str]]:
    s = store.read("mq-1", "state", 0, 4_102_444_800_000)  # 2100: InfluxDB ends in 2262
    return list(zip(s.ts.tolist(), [str(v) for v in s.values], strict=True))


def test_influxdb_only_gateway_closes_gaps_and_keeps_rejects_in_influxdb(
    tmp_path: Path, influx: Influx, broker: int, monkeypatch: pytest.MonkeyPatch
):
    store_url, sink, port = influx.store_url, influx.sink, broker
    http = free_port()
    site = tmp_path / "site.yaml"
    site.write_text(
        yaml.safe_dump(
            {
                "store": store_url,
                "machines": {"mq-1": {"ideal_cycle_time_s": 1}},
                "sources": [
                    {
                        "type": "mqtt",
                        "url": f"mqtt://127.0.0.1:{port}",
                        "client_id": "influx-only",
                        "machines": {"mq-1": {}},
                    }
                ],
                "sinks": [{**sink, "queue": {"path": "queue.db"}}],
                "gateway": {"http": {"port": http}},
            }
        )
    )
    store = open_store(store_url)
    assert isinstance(store, InfluxStore)

    def live(signal: str, value: object) -> int:
        ts = int(time.time() * 1000)
        publish(port, f"fieldlab/t/a/mq-1/{signal}", {"ts": ts, "value": value})
        return ts

    gw = Process("gateway", "-c", str(site), cwd=tmp_path)
    wait_connected(http)
    live("state", "running")
    last = live("count_total", 10)
    eventually(lambda: any(s.ts == last for s in store.latest("mq-1")), "the count in InfluxDB")
    gw.proc.kill()  # no offline at a crash
    gw.stop()
    killed = int(time.time() * 1000)
    assert _states(store)[-1][1] == "running"

    gw = Process("gateway", "-c", str(site), cwd=tmp_path)
    wait_connected(http)
    # The gap is closed in InfluxDB, at the instant the machine was last observed.
    eventually(lambda: _states(store)[-1][1] == "offline", "offline in InfluxDB")
    offline_ts = _states(store)[-1][0]
    assert last + 1 <= offline_ts <= killed + 1, (last, offline_ts, killed)
    # A malformed payload: kept in InfluxDB's _rejected with its reason; the rest flows.
    publish(port, "fieldlab/t/a/mq-1/state", b"{not json")
    back = live("state", "idle")
    eventually(lambda: store.rejected_count() >= 1, "the rejected payload in InfluxDB")
    eventually(lambda: _states(store)[-1] == (back, "idle"), "the state after it")
    rejected = store.rejected(10)
    assert any("not valid JSON" in r.reason and "{not json" in r.payload for r in rejected)
    assert gw.stop() == 0
    assert "Traceback" not in gw.output, gw.output

    # No private store of samples beside the gateway: the queue and observed.json only.
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["queue.db"]

    # The dashboard's data-quality page, reading that InfluxDB, shows the rejected payload.
    monkeypatch.setenv("FIELDLAB_CONFIG", str(site))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    at = AppTest.from_file(str(PAGES / "quality.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value == "1" or m.value.startswith("1") for m in at.metric), [
        m.value for m in at.metric
    ]
    shown = "\n".join(df.value.to_csv() for df in at.dataframe)
    assert "not valid JSON" in shown and "mq-1/state" in shown
