"""A source that only relays what people enter (#29: operator terminals) says nothing about a
machine's contact: with `machine_contact: false`, losing its broker link writes no `offline`,
while the source that reads the machine still does. Real Mosquitto, the link cut by a proxy."""

from __future__ import annotations

import time

from fieldlab.store import SqliteStore
from tests.fault_injectors import CutProxy
from tests.services import Process, eventually, free_port, mosquitto, publish
from tests.sim_gateway import health, wait_connected, write_site


def test_a_terminal_source_losing_its_broker_writes_no_machine_offline(tmp_path):
    with mosquitto() as port:
        machines, terminals = CutProxy(port), CutProxy(port)
        http = free_port()

        def source(name: str, proxy: CutProxy, area: str, **extra) -> dict:
            return {
                "type": "mqtt",
                "name": name,
                "url": f"mqtt://127.0.0.1:{proxy.port}",
                "client_id": f"gw-{name}",
                "protocol": "3.1.1",
                "topics": [{"template": f"f/{area}/{{machine}}/{{signal}}"}],
                **extra,
            }

        site = write_site(
            tmp_path / "site.yaml",
            http,
            [
                source("machines", machines, "floor"),
                source("terminals", terminals, "terminal", machine_contact=False),
            ],
            store="sqlite:///gw.db",
        )
        try:
            with Process("gateway", "-c", str(site), cwd=tmp_path) as gw:
                wait_connected(http)
                now = int(time.time() * 1000)
                publish(port, "f/floor/press-1/state", {"ts": now - 60_000, "value": "running"})
                publish(port, "f/terminal/press-1/order", {"ts": now - 30_000, "value": "4711"})
                publish(port, "f/terminal/cnc-1/order", {"ts": now - 30_000, "value": "12"})

                def stored() -> bool:
                    with SqliteStore(tmp_path / "gw.db", readonly=True) as s:
                        return len(s.read("cnc-1", "order", 0, 2**62)) == 1

                eventually(stored, "the entries through both sources")
                terminals.cut()  # the tablets' link: nobody's machine goes dark
                eventually(
                    lambda: health(http)["sources"][1]["state"] != "connected",
                    "the terminals' source noticing the cut",
                )
                time.sleep(1)
                machines.cut()  # the machines' link: press-1 is offline from now on
                eventually(
                    lambda: health(http)["sources"][0]["state"] != "connected",
                    "the machines' source noticing the cut",
                )
                time.sleep(1)
                assert gw.stop() == 0
        finally:
            machines.close()
            terminals.close()
    with SqliteStore(tmp_path / "gw.db", readonly=True) as s:
        press = s.read("press-1", "state", 0, 2**62).values.tolist()
        cnc = s.read("cnc-1", "state", 0, 2**62).values.tolist()
    assert press == ["running", "offline"], press  # once, by the machines' source
    assert cnc == [], cnc  # only ever seen on a terminal: never declared offline
