"""Real services for tests: free loopback ports, a throwaway Mosquitto, `fieldlab` processes.

Every helper stops what it starts (context managers and fixtures with finally blocks)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

__all__ = [
    "free_port",
    "wait_port",
    "mosquitto",
    "mosquitto_process",
    "newer_mosquitto",
    "running",
    "require",
    "missing",
]

from fieldlab.bench.services import InfluxProcess, Mosquitto, find_binary, free_port, wait_port
from fieldlab.bench.services import influx_process as _influx_process
from fieldlab.bench.services import influxdb as _influxdb
from fieldlab.bench.services import mosquitto as _mosquitto

T = TypeVar("T")


def missing(component: str, how: str) -> None:
    """A component a test needs is absent. CI installs every one, so there (CI set) this is a
    failure; on a developer's machine it is a skip that says what to install."""
    message = f"{component} is not installed ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)


def running(pids: list[int]) -> list[int]:
    """Those of `pids` still running (psutil, on every system): a zombie has stopped, only its
    parent (or the reaper of orphans) has not collected it yet."""
    import psutil

    out = []
    for p in pids:
        try:
            if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            continue
    return out


def newer_mosquitto() -> str:
    """The newest Mosquitto 2.0 beside the system's 2.0.11 (.ci/run unpacks it from Debian's
    bookworm-backports into .mosquitto-new/): for what brokers do differently since."""
    path = Path(__file__).resolve().parent.parent / ".mosquitto-new" / "mosquitto"
    if not path.exists():
        missing("Mosquitto 2.0.21", ".ci/run unpacks it into .mosquitto-new/")
    return str(path)


def mosquitto_21() -> tuple[str, str]:
    """Mosquitto 2.1 and its persist-sqlite plugin (.ci/run unpacks them from Debian sid into
    .mosquitto-21/): the broker that keeps shared subscriptions over a restart."""
    root = Path(__file__).resolve().parent.parent / ".mosquitto-21"
    plugins = sorted(root.glob("root/usr/lib/*/mosquitto/mosquitto_persist_sqlite.so"))
    if not (root / "mosquitto").exists() or not plugins:
        missing("Mosquitto 2.1", ".ci/run unpacks it into .mosquitto-21/")
    return str(root / "mosquitto"), str(plugins[0])


def require(binary: str) -> str:
    """The path of a system tool CI installs."""
    path = find_binary(binary)
    if path is None:
        missing(binary, "Debian package; .ci/run installs it")
    return path  # type: ignore[return-value]


@contextlib.contextmanager
def mosquitto(extra_conf: str = "") -> Iterator[int]:
    """A real Mosquitto on a free loopback port with a throwaway config; yields the port."""
    with _mosquitto(require("mosquitto"), extra_conf) as port:
        yield port


def mosquitto_process(folder: Path, extra_conf: str = "", binary: str | None = None) -> Mosquitto:
    """A Mosquitto a test can stop and start again on the same port (call start())."""
    return Mosquitto(binary or require("mosquitto"), folder, extra_conf=extra_conf)


#: Processes started and not yet stopped; tests/conftest.py stops them after each test, so a
#: test that fails half-way leaves nothing running.
RUNNING: set[Process] = set()


class Process:
    """A `fieldlab` subcommand in its own process, its output collected line by line."""

    def __init__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
        RUNNING.add(self)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldlab", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            # Windows: a group of its own, so Ctrl-Break reaches it alone (`signal`)
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line with {text!r}; output:\n" + self.output)
                self._cond.wait(min(left, 0.5))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def signal(self, sig: int) -> None:
        """SIGTERM and SIGINT are Ctrl-Break on Windows, the stop a service manager or a console
        sends there (send_signal(SIGTERM) would be TerminateProcess: no clean stop, exit 1)."""
        if sys.platform == "win32" and sig in (signal.SIGTERM, signal.SIGINT):
            sig = signal.CTRL_BREAK_EVENT  # type: ignore[attr-defined]
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        RUNNING.discard(self)
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        return code

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def influx_process(folder: Path) -> InfluxProcess:
    """Debian's InfluxDB 1.x with its data in ``folder`` on free loopback ports, not started;
    a test can stop and start it again on the same port and data."""
    require("influxd")
    return _influx_process(folder)


@contextlib.contextmanager
def influxdb() -> Iterator[int]:
    """A real InfluxDB 1.x (Debian's) on a free loopback port with a throwaway data folder;
    yields the HTTP port. Database `fieldlab` exists."""
    require("influxd")
    with _influxdb() as proc:
        yield proc.port


def descendants(pid: int) -> list[int]:
    """The process and all its children's children (psutil: also on Windows and macOS)."""
    import psutil

    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket a process and its children listen on (psutil)."""
    import psutil

    out = set()
    for p in descendants(pid):
        try:
            conns = psutil.Process(p).net_connections(kind="tcp")
        except psutil.Error:
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN and c.laddr:
                out.add((str(c.laddr.ip), int(c.laddr.port)))
    return out


def publish(port: int, topic: str, payload: dict | bytes, *, retain: bool = False) -> None:
    """One QoS 1 message to the broker on 127.0.0.1:port, acknowledged before returning."""
    import json
    import uuid

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, body, qos=1, retain=retain).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def eventually(
    check: Callable[[], T | None],
    what: str,
    timeout: float = 30.0,
    *,
    detail: Callable[[], object] | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy, and return that; fail naming ``what``
    after ``timeout`` s, with ``detail()`` (a process's output, the last value seen) if given.
    An OSError (a port not open yet) counts as not yet. One helper, so no test waits a fixed
    time for something it can ask about."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    last: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError as exc:
            last = exc
        if time.monotonic() > deadline:
            why = f" ({last})" if last else ""
            more = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{why}{more}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def settled(
    read: Callable[[], object], what: str, quiet: float = 0.5, timeout: float = 30.0
) -> None:
    """Until ``read()`` gives the same answer over ``quiet`` s (the samples still in flight
    when a source stopped have arrived): no fixed sleep that is too short on a busy machine."""
    deadline = time.monotonic() + timeout
    before = read()
    while True:
        time.sleep(quiet)
        now = read()
        if now == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still changing after {timeout:g} s: {now}")
        before = now


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    from aiosmtpd.controller import Controller

    got: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's name
            got.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, got
    finally:
        ctl.stop()


def fieldlab(
    *args: str, cwd: Path | None = None, password: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A `fieldlab` command run to its end, its output captured (``password``: the dashboard
    users' FIELDLAB_PASSWORD)."""
    env = {**os.environ, **({"FIELDLAB_PASSWORD": password} if password else {})}
    return subprocess.run(
        [sys.executable, "-m", "fieldlab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
