"""Fault injectors no real server can play on demand, each named for the fault: a device that
accepts and never answers, a link that holds every answer, a link the test cuts and restores.
They share one loopback listener: an accept loop on its own thread, and `close()`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Listener:
    def __init__(self, port: int = 0):
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            self.on_accept(conn)

    def on_accept(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _keep(self, *conns: socket.socket) -> None:
        with self._lock:
            self.conns += conns

    def drop_all(self) -> None:
        with self._lock:
            conns, self.conns = self.conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.drop_all()
        self.sock.close()


class HungDevice(Listener):
    """A TCP server that accepts connections and never answers (a PLC whose CPU is stopped, a
    half-open gateway)."""

    def __init__(self, port: int):
        self.accepted = 0
        super().__init__(port)

    def on_accept(self, conn: socket.socket) -> None:
        self.accepted += 1
        self._keep(conn)  # read nothing, answer nothing


class _Proxy(Listener):
    def __init__(self, upstream: int, port: int = 0, delay: float = 0.0):
        self.upstream, self.delay = upstream, delay
        super().__init__(port)

    def on_accept(self, conn: socket.socket) -> None:
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
        except OSError:
            conn.close()
            return
        self._keep(conn, up)
        threading.Thread(target=self._pump, args=(conn, up, 0.0), daemon=True).start()
        threading.Thread(target=self._pump, args=(up, conn, self.delay), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay: float) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                time.sleep(delay)
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class SlowProxy(_Proxy):
    """A proxy that holds every answer of a real server for `delay` seconds (a device on a
    congested link)."""

    def __init__(self, port: int, upstream: int, delay: float):
        super().__init__(upstream, port, delay)


class CutProxy(_Proxy):
    """A proxy whose link the test cuts and restores (a network cut between gateway and PLC
    while the PLC runs on): `cut()` drops every connection and refuses new ones."""

    def __init__(self, upstream: int):
        self.cut_now = threading.Event()
        super().__init__(upstream)

    def on_accept(self, conn: socket.socket) -> None:
        if self.cut_now.is_set():
            conn.close()
        else:
            super().on_accept(conn)

    def cut(self) -> None:
        self.cut_now.set()
        self.drop_all()

    def restore(self) -> None:
        self.cut_now.clear()
