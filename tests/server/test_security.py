"""Security end to end: MQTT over TLS with a test CA and a password on a real Mosquitto, secrets
never shown, servers on loopback, and a gateway that never writes to a device.

(OPC UA SignAndEncrypt with trust on both sides, the rejected folder and a changed certificate:
tests/server/test_opcua_security.py.)"""

from __future__ import annotations

import ast
import contextlib
import http.server
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

import fieldlab.connectors.opcua.connector as opcua_connector
from tests.services import (
    Process,
    eventually,
    free_port,
    listening,
    mosquitto,
    mosquitto_process,
    require,
    wait_port,
)
from tests.sim_gateway import health, sim_process, wait_connected, write_site
from tests.tls_ca import make_ca

USER, PASSWORD = "line-3", "s3cret-Pa55-zz91"


def _tls_broker(tmp: Path):  # type: ignore[no-untyped-def]
    """Mosquitto with TLS and a password file. Run as root, Mosquitto drops to its own user,
    so its files live in a world-readable folder (tmp_path's parents are private)."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldlab-tls-"))
    ca = make_ca(tmp)
    pw = tmp / "passwords"
    subprocess.run(
        [require("mosquitto_passwd"), "-c", "-b", str(pw), USER, PASSWORD],
        check=True,
        capture_output=True,
    )
    for f in tmp.iterdir():
        f.chmod(0o644)
    broker = mosquitto_process(
        tmp,
        f"cafile {ca.ca_cert}\ncertfile {ca.server_cert}\nkeyfile {ca.server_key}\n"
        f"allow_anonymous false\npassword_file {pw}\n",
    )
    return broker, ca


def _site(tmp: Path, port: int, http: int, ca_file: Path) -> Path:
    source = {
        "type": "mqtt",
        "name": "tls",
        "url": f"mqtts://127.0.0.1:{port}",
        "tls": {"ca_file": str(ca_file)},
        "username_env": "T_MQTT_USER",
        "password_env": "T_MQTT_PASSWORD",
        "topics": [{"template": "fieldlab/{site}/{area}/{machine}/{signal}"}],
    }
    return write_site(tmp / "site.yaml", http, [source])


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.mark.slow
def test_mqtt_over_tls_with_a_password_and_a_clear_error_for_wrong_credentials(tmp_path: Path):
    broker, ca = _tls_broker(tmp_path)
    broker.start()
    ca_dir = ca.ca_cert.parent
    try:
        # good credentials: data flows over TLS into the store
        http = free_port()
        site = _site(tmp_path, broker.port, http, ca.ca_cert)
        env = {"T_MQTT_USER": USER, "T_MQTT_PASSWORD": PASSWORD}
        with Process("gateway", "-c", str(site), cwd=tmp_path, env=env) as gw:
            wait_connected(http)
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="tls-pub")
            pub.tls_set(ca_certs=str(ca.ca_cert))
            pub.username_pw_set(USER, PASSWORD)
            pub.connect("127.0.0.1", broker.port)
            pub.loop_start()
            for i in range(100):
                pub.publish(
                    "fieldlab/s/a/press-1/temperature",
                    json.dumps({"ts": 1772427600000 + i, "value": i}),
                    qos=1,
                ).wait_for_publish(10)
            pub.loop_stop()
            pub.disconnect()
            eventually(
                lambda: health(http)["sources"][0]["samples"] >= 100,
                "100 samples over TLS",
                detail=lambda: gw.output,
            )
            seen = json.dumps(health(http)) + _metrics(http)
        db = sqlite3.connect(tmp_path / "gateway.db")
        stored = db.execute(
            "SELECT count(*) FROM samples JOIN series ON series.id = samples.series "
            "WHERE signal = 'temperature'"
        ).fetchone()[0]
        assert stored == 100
        db.close()
        assert PASSWORD not in gw.output + seen

        # wrong password: refused, said so plainly, and the password shown nowhere
        http = free_port()
        site = _site(tmp_path, broker.port, http, ca.ca_cert)
        env = {"T_MQTT_USER": USER, "T_MQTT_PASSWORD": "wrong-" + PASSWORD}
        with Process("gateway", "-c", str(site), cwd=tmp_path, env=env) as gw:
            wait_port(http)
            gw.wait_for("refused", 20)
            report = health(http)
            error = report["sources"][0]["last_error"]
            assert report["sources"][0]["state"] != "connected"
            assert "user name or password" in error.lower() or "not authori" in error.lower()
            assert "username_env" in error  # points at what to fix
            seen = json.dumps(report) + _metrics(http)
        assert "does not take MQTT 5" not in gw.output  # a refusal is not a protocol problem
        assert PASSWORD not in gw.output + seen

        # a client that does not trust the CA: refused at the TLS handshake
        http = free_port()
        site = _site(tmp_path, broker.port, http, ca.server_cert)  # not the CA
        env = {"T_MQTT_USER": USER, "T_MQTT_PASSWORD": PASSWORD}
        with Process("gateway", "-c", str(site), cwd=tmp_path, env=env) as gw:
            wait_port(http)
            eventually(
                lambda: health(http)["sources"][0].get("last_error"),
                "the refused handshake reported",
                detail=lambda: gw.output,
            )
            assert "certificate" in health(http)["sources"][0]["last_error"].lower()
            assert health(http)["sources"][0]["samples"] == 0
    finally:
        broker.stop()
        shutil.rmtree(ca_dir, ignore_errors=True)


class FakeInfluxRefusingTokens:
    """Fault injector (a real InfluxDB 1.6 takes no v2 tokens): answers every write with 401 and
    records the Authorization headers it was sent."""

    def __init__(self) -> None:
        self.auth: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.auth.append(self.headers.get("Authorization", ""))
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b'{"code":"unauthorized","message":"unauthorized access"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_secrets_never_appear_in_logs_health_metrics_or_errors(tmp_path: Path):
    """Every kind of secret the gateway takes, each one used where it fails (a server that
    refuses the token, an OPC UA server that is not there) so that errors are logged and
    reported; then everything the gateway and `config check` show is searched for them."""
    secrets = {
        "S_MQTT_PASSWORD": "mqtt-Pw-77aa31",
        "S_OPCUA_PASSWORD": "opcua-Pw-9c1e0d",
        "S_INFLUX_TOKEN": "influx-Tok-5e2f88",
    }
    inline = "inline-Pw-1d4c"
    influx = FakeInfluxRefusingTokens()
    dead, http = free_port(), free_port()
    env = {**secrets, "S_OPCUA_USER": "operator"}
    site = tmp_path / "site.yaml"
    try:
        with mosquitto() as mport:
            write_site(
                site,
                http,
                [
                    {
                        "type": "mqtt",
                        "name": "broker",
                        "url": f"mqtt://line3:{inline}@127.0.0.1:{mport}",
                        "password_env": "S_MQTT_PASSWORD",
                    },
                    {
                        "type": "opcua",
                        "name": "plc",
                        "url": f"opc.tcp://127.0.0.1:{dead}/",
                        "username_env": "S_OPCUA_USER",
                        "password_env": "S_OPCUA_PASSWORD",
                        "machines": {"press-1": {"state": {"node": "ns=2;s=x"}}},
                    },
                ],
                [
                    {
                        "type": "influxdb",
                        "api": "v2",
                        "url": f"http://admin:{inline}@127.0.0.1:{influx.port}",
                        "token_env": "S_INFLUX_TOKEN",
                    }
                ],
                # the store the gateway reads at start: refused too (no token shown)
                store=f"influxdb2://127.0.0.1:{influx.port}/b?org=o&token_env=S_INFLUX_TOKEN",
            )
            with Process("gateway", "-c", str(site), cwd=tmp_path, env=env) as gw:
                wait_port(http)
                pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="secrets-pub")
                pub.connect("127.0.0.1", mport)
                pub.loop_start()

                def refused() -> bool:
                    pub.publish("fieldlab/s/a/press-2/temperature", '{"value": 1}', qos=1)
                    return "cannot write" in gw.output and bool(
                        health(http)["sources"][1].get("last_error")
                    )

                eventually(refused, "both refusals reported", detail=lambda: gw.output)
                pub.loop_stop()
                pub.disconnect()
                shown = json.dumps(health(http)) + _metrics(http)
    finally:
        influx.close()
    check = subprocess.run(
        [sys.executable, "-m", "fieldlab", "config", "check", str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    everything = gw.output + shown + check.stdout + check.stderr
    # the secrets were used, and errors were produced and shown ...
    assert any(secrets["S_INFLUX_TOKEN"] in a for a in influx.auth)
    assert "cannot write" in gw.output and "reconnecting" in gw.output
    assert "***" in everything
    # ... and never shown
    for value in [*secrets.values(), inline]:
        assert value not in everything, value


@pytest.mark.slow
def test_gateway_sends_no_write_function_code_to_a_modbus_device(tmp_path: Path):
    """A recording proxy in front of the simulator's real Modbus face logs the function code of
    every request the gateway sends, through a whole run and a reconnect."""
    ports = {"opcua": free_port(), "modbus": free_port()}
    proxy_port, http = free_port(), free_port()
    codes: list[int] = []
    stop = threading.Event()

    def pump(src: socket.socket, dst: socket.socket, record: bool) -> None:
        buf = b""
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                if record:
                    buf += chunk
                    while len(buf) >= 8:  # MBAP: 6-byte header with length, unit, function
                        size = 6 + int.from_bytes(buf[4:6], "big")
                        if len(buf) < size:
                            break
                        codes.append(buf[7])
                        buf = buf[size:]
                dst.sendall(chunk)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    listener = socket.create_server(("127.0.0.1", proxy_port))
    listener.settimeout(0.2)
    conns: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", ports["modbus"]))
            conns.extend((client, upstream))
            threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
    from fieldlab.simulators.gateway_site import gateway_site_yaml
    from fieldlab.simulators.scenario import load_scenario

    config = yaml.safe_load(
        gateway_site_yaml(
            load_scenario(),
            FaceSettings(ports={"opcua": ports["opcua"], "modbus": proxy_port}),
            ReadOptions(poll_ms=100),
            extra={"store": "sqlite:///gateway.db", "gateway": {"http": {"port": http}}},
        )
    )
    config["sources"] = [s for s in config["sources"] if s["type"] == "modbus"]
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(config))
    try:
        with (
            sim_process(ports, free_port(), "--faces", "modbus", speed="60") as sim,
            Process("gateway", "-c", str(site), cwd=tmp_path) as gw,
        ):
            sim.wait_for("serving")
            wait_connected(http)
            eventually(lambda: len(codes) > 30, "30 requests seen", detail=lambda: gw.output)
            for s in list(conns):  # drop the connection: the gateway reconnects
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            before = len(codes)
            eventually(
                lambda: len(conns) >= 4 and len(codes) > before + 30,
                "30 requests on a new connection",
                timeout=15,
                detail=lambda: gw.output,
            )
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for s in conns:
            s.close()
    assert len(codes) > 50
    assert set(codes) <= {1, 2, 3, 4}, sorted(set(codes))  # reads only; never 5, 6, 15, 16, 22, 23


def test_the_opcua_connector_has_no_write_path():
    """No call in the connector's source that writes, calls methods or changes the address
    space: reads, browses and subscriptions only."""
    tree = ast.parse(Path(opcua_connector.__file__).read_text())
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    forbidden = {
        "write_value",
        "write_attribute",
        "write_attributes",
        "write_values",
        "set_value",
        "set_attribute",
        "call_method",
        "add_nodes",
        "delete_nodes",
        "add_references",
        "delete_references",
        "history_update",
    }
    assert not called & forbidden, called & forbidden
    assert "read_attributes" in called and "subscribe_data_change" in called


@pytest.mark.slow
def test_servers_started_by_sim_and_gateway_bind_loopback(tmp_path: Path):
    ports = {"opcua": free_port(), "modbus": free_port()}
    http = free_port()
    site = tmp_path / "site.yaml"
    site.write_text(json.dumps({"store": "sqlite:///g.db", "gateway": {"http": {"port": http}}}))
    with (
        sim_process(ports, free_port(), "--faces", "opcua,modbus") as sim,
        Process("gateway", "-c", str(site), cwd=tmp_path) as gw,
    ):
        sim.wait_for("serving")
        wait_port(http)
        bound = listening(sim.proc.pid) | listening(gw.proc.pid)
    assert {p for _, p in bound} >= {ports["opcua"], ports["modbus"], http}, bound
    assert {a for a, _ in bound} <= {"127.0.0.1", "::1"}, bound
