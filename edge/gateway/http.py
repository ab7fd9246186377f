"""/health (JSON) and /metrics (Prometheus text, made by metrics.py), served on loopback by
default.

Minimal HTTP/1.0 on asyncio streams: two read-only endpoints need no web framework. Nothing
here ever shows a secret: URLs are redacted before they reach the report.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any


class HttpServer:
    def __init__(
        self, host: str, port: int, health: Callable[[], dict[str, Any]], metrics: Callable[[], str]
    ):
        self.host, self.port = host, port
        self._health, self._metrics = health, metrics
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else "/"
            if path.startswith("/health"):
                report = self._health()
                status = "200 OK" if report.get("status") == "ok" else "503 Service Unavailable"
                body, ctype = json.dumps(report, indent=2).encode(), "application/json"
            elif path.startswith("/metrics"):
                status, ctype = "200 OK", "text/plain; version=0.0.4"
                body = self._metrics().encode()
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"try /health or /metrics\n"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
