"""Real local servers for the benchmarks (and the tests): free loopback ports, a throwaway
Mosquitto, Debian's InfluxDB 1.x. Everything binds 127.0.0.1 and is stopped by the context
manager that started it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import Request, urlopen


class ServiceMissing(RuntimeError):
    """A system tool a benchmark needs is not installed."""


#: Below Linux's ephemeral range (32768-60999), from which the kernel takes both a port bound to
#: 0 and every outgoing connection's source port: a port found by binding 0 could be taken by
#: some client between the look and the server's bind (CI saw OPC UA faces refused so).
_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A loopback port nothing holds now, outside the ephemeral range where one can be found."""
    for _ in range(100):
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def find_binary(name: str) -> str | None:
    """A system tool on PATH or in /usr/sbin (where Debian puts mosquitto)."""
    return shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )


class Mosquitto:
    """A Mosquitto process on a fixed loopback port that can be stopped and started again
    (same port, same persistence file), for restart-under-load tests."""

    def __init__(
        self,
        binary: str,
        folder: Path,
        port: int | None = None,
        extra_conf: str = "",
        persistent: bool = False,
    ):
        """``persistent``: sessions and queued messages kept over a stop and start (in
        ``folder``), as a broker on a fieldlab server keeps them."""
        self.binary, self.port = binary, port or free_port()
        self.conf = folder / "mosquitto.conf"
        persistence = f"true\npersistence_location {folder}/" if persistent else "false"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence {persistence}\n"
            f"log_dest stderr\nmax_queued_messages 0\n{extra_conf}"
        )
        os.chmod(folder, folder.stat().st_mode | 0o755)  # readable after dropping root
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Its log goes to a file: a pipe nobody reads fills up and blocks the broker.
        self.log = self.conf.parent / "mosquitto.log"
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 15
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {self.stop().strip()}")
            time.sleep(0.05)

    def stop(self, kill: bool = False) -> str:
        """Stop it; returns what it wrote to stderr."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def mosquitto(binary: str | None = None, extra_conf: str = "") -> Iterator[int]:
    """A real Mosquitto on a free loopback port with a throwaway config; yields the port."""
    binary = binary or find_binary("mosquitto")
    if binary is None:
        raise ServiceMissing("mosquitto is not installed (Debian/Ubuntu: apt install mosquitto)")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(binary, Path(tmp), extra_conf=extra_conf)
        broker.start()
        try:
            yield broker.port
        finally:
            broker.stop()


class InfluxProcess:
    """influxd that can be stopped and started again on the same port and data."""

    def __init__(self, binary: str, conf: Path, port: int):
        self.binary, self.conf, self.port = binary, conf, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "run", "-config", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                if urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1).status == 204:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"influxd did not answer /ping on {self.port}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def query(self, q: str, db: str = "") -> dict[str, Any]:
        """InfluxQL over HTTP, the JSON answer."""
        url = f"http://127.0.0.1:{self.port}/query?q={quote(q)}" + (f"&db={db}" if db else "")
        with urlopen(Request(url, data=b"", method="POST"), timeout=30) as r:
            answer: dict[str, Any] = json.loads(r.read())
        return answer


def influx_process(folder: Path) -> InfluxProcess:
    """Debian's InfluxDB 1.x with its data in ``folder`` on free loopback ports, not started."""
    binary = find_binary("influxd")
    if binary is None:
        raise ServiceMissing("influxd is not installed (Debian/Ubuntu: apt install influxdb)")
    port, rpc = free_port(), free_port()
    conf = folder / "influxdb.conf"
    conf.write_text(
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{folder}/meta"\n'
        f'[data]\n  dir = "{folder}/data"\n  wal-dir = "{folder}/wal"\n'
        "  query-log-enabled = false\n"
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        '[logging]\n  level = "error"\n[monitor]\n  store-enabled = false\n'
        "[continuous_queries]\n  enabled = false\n[subscriber]\n  enabled = false\n"
    )
    return InfluxProcess(binary, conf, port)


@contextlib.contextmanager
def influxdb(databases: tuple[str, ...] = ("fieldlab",)) -> Iterator[InfluxProcess]:
    """A real InfluxDB 1.x on a free loopback port with a throwaway data folder and these
    databases."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = influx_process(Path(tmp))
        try:
            proc.start()
            for db in databases:
                proc.query(f"CREATE DATABASE {db}")
            yield proc
        finally:
            proc.stop()
