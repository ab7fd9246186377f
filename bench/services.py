"""Real local servers for the benchmarks (and the tests): free loopback ports, a throwaway
Mosquitto. Everything binds 127.0.0.1 and is stopped by the context manager that started it."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


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

    def __init__(self, binary: str, folder: Path, port: int | None = None, extra_conf: str = ""):
        self.binary, self.port = binary, port or free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
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
