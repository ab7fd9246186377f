"""Alerts end to end: the simulator's scripted faults at 120× → gateway → rules → a real SMTP
server (aiosmtpd), a webhook receiver and Mosquitto get exactly one message per firing and one
per clear (a repeat only after its interval), while a refusing and a hanging channel are
retried and counted and ingest goes on (the gateway still agrees with the truth)."""

from __future__ import annotations

import json
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.services import eventually, free_port, mosquitto, settled, smtp_server
from tests.sim_gateway import health, sim_and_gateway
from tests.truth import check, compare

START = local("2026-03-02 07:00")
#: (machine, minutes of fault from +5 min): fired at +15; a repeat every 30 min while it lasts
FAULTS = {"press-1": 20, "cnc-1": 34, "imm-1": 50}


@contextmanager
def webhook() -> Iterator[tuple[int, list[dict]]]:
    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's name
            n = int(self.headers["Content-Length"])
            got.append(json.loads(self.rfile.read(n)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1], got
    finally:
        srv.shutdown()
        srv.server_close()


@contextmanager
def hanging_server() -> Iterator[int]:
    """Accepts connections and never answers (a webhook behind a dead proxy)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(50)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def subscriber(port: int, topic: str) -> Iterator[list[dict]]:
    got: list[dict] = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_message = lambda _c, _u, msg: got.append(json.loads(msg.payload))
    c.connect("127.0.0.1", port)
    c.subscribe(topic, qos=1)
    c.loop_start()
    try:
        yield got
    finally:
        c.loop_stop()
        c.disconnect()


def expected() -> list[tuple[str, str, float]]:
    """(machine, event, minutes from the start) the rule must give."""
    out = []
    for m, minutes in FAULTS.items():
        out.append((m, "fired", 15.0))
        out += [(m, "repeated", 15.0 + k) for k in range(30, minutes - 10, 30)]
        out.append((m, "cleared", 5.0 + minutes))
    return sorted(out, key=lambda e: (e[2], e[0]))


#: Modbus is polled and has no time of its own: on a loaded runner a poll of press-1's state
#: came a second late (2 simulated minutes at 120×: fired at 17 for 15); the others carry
#: their source's time and are held to the minute
SLACK_MIN = {"press-1": 3.0}


def agrees(got: list[tuple[str, str, float]], want: list[tuple[str, str, float]]) -> bool:
    """The same events per machine, each at its minute (a polled machine's within its slack)."""
    g, w = sorted(got), sorted(want)
    return len(g) == len(w) and all(
        a[:2] == b[:2] and abs(a[2] - b[2]) <= SLACK_MIN.get(a[0], 0.0)
        for a, b in zip(g, w, strict=True)
    )


@pytest.mark.slow
def test_scripted_faults_reach_every_channel_once_and_a_broken_one_blocks_nothing(tmp_path: Path):
    scenario_file = tmp_path / "scenario.yaml"
    data = yaml.safe_load(Path("simulators/scenarios/default.yaml").read_text())
    data["events"] = [f"+5m {m} fault no_operator {n} min" for m, n in FAULTS.items()]
    scenario_file.write_text(yaml.safe_dump(data))
    with (
        mosquitto() as mqtt_port,
        smtp_server() as (smtp_port, mails),
        webhook() as (hook_port, hooks),
        hanging_server() as hang_port,
        subscriber(mqtt_port, "fieldlab/alerts") as published,
    ):
        refused = free_port()  # nothing listens there
        alerts = {
            "channels": {
                "mail": {
                    "url": f"mailto://127.0.0.1:{smtp_port}?from=fieldlab@example.nl"
                    "&to=ploeg@example.nl&mode=insecure",
                    "lang": "nl",
                },
                "hook": {"url": f"json://127.0.0.1:{hook_port}/hook", "lang": "en"},
                "uns": {"mqtt": {"url": f"mqtt://127.0.0.1:{mqtt_port}"}},
                "refused": {"url": f"json://127.0.0.1:{refused}/hook"},
                "hanging": {"url": f"json://127.0.0.1:{hang_port}/hook?cto=1&rto=1"},
            },
            "rules": [
                {
                    "name": "stil-zonder-operator",
                    "when": "stop",
                    "states": ["fault"],
                    "reasons": ["no_operator"],
                    "for_min": 10,
                    "renotify_min": 30,
                }
            ],
        }
        with sim_and_gateway(
            tmp_path,
            mqtt_port,
            speed="120",
            minutes=60,
            scenario_file=scenario_file,
            site_extra={"alerts": alerts, "gateway": {"alert_retry_s": 0.2}},
        ) as run:
            run.sim.signal(signal.SIGUSR1)  # go
            assert run.sim.proc.wait(30 + 60) == 0, run.sim.output
            settled(
                lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
                "the last samples",
            )
            want = expected()
            eventually(lambda: len(hooks) >= len(want), f"{len(want)} webhook calls", 30)
            eventually(lambda: len(mails) >= len(want), f"{len(want)} e-mails", 30)
            eventually(lambda: len(published) >= len(want), f"{len(want)} MQTT messages", 30)
            # a channel counts a message sent once its server has answered: just after the
            # test's server holds it (a CI run read the count between the two: 6 of 7)
            eventually(
                lambda: (
                    health(run.ports["http"])["alerts"]["channels"]["mail"]["sent"] >= len(want)
                ),
                "the mail channel's count",
                30,
            )
            report = health(run.ports["http"])["alerts"]
            assert run.gateway.stop() == 0, run.gateway.output
        # Exactly these, on every channel: one per firing, one per clear, a repeat per 30 min.
        # (Modbus is polled: its instants are up to a poll late, 100 ms = 12 simulated s at 120×)
        got = [(e["subject"], e["event"], float(round((e["ts"] - START) / MIN))) for e in published]
        assert agrees(got, want), (sorted(got), want)
        assert len(hooks) == len(mails) == len(want), (hooks, mails)
        names = {"Press", "CNC machining centre", "Injection moulding machine"}
        assert {h["title"].split(":")[0] for h in hooks} == names
        assert any("Subject: " in m and "storing (geen operator)" in m for m in mails), mails[0]
        assert any("fault (no operator)" in h["title"] for h in hooks), hooks[0]
        # The broken channels: tried again and again, failures counted, nothing sent.
        for name in ("refused", "hanging"):
            ch = report["channels"][name]
            assert ch["sent"] == 0 and ch["failed"] >= 2 and ch["pending"] > 0, (name, ch)
        assert report["channels"]["mail"]["sent"] == len(want)
        assert report["events"] == {
            "fired": 3,
            "repeated": sum(1 for e in want if e[1] == "repeated"),
            "cleared": 3,
            "silenced": 0,  # nobody answered
        }
        # the events are in the store, and ingest went on: the gateway agrees with the truth
        with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
            stored = store.alerts(START, START + 120 * MIN)
        kept = [(e.subject, e.event, float(round((e.ts - START) / MIN))) for e in stored]
        assert agrees(kept, want), (kept, want)
        assert kept == sorted(kept, key=lambda e: e[2])  # in time order
        # Modbus polled every 100 ms at 120×: 12 simulated seconds a poll, and on a loaded CI
        # runner a poll comes several intervals late (a run saw lathe-1's running kWh off
        # by 5 % at one interval's allowance); energy to 1 % is held at 1× and 60× elsewhere
        check(compare(run.site, run.truth, 60), poll_lag_s=0.5 * 120)
