"""The one InfluxDB client: InfluxQL over ``/query`` for reading, line protocol for writing.

Reading: InfluxQL over ``/query`` is what InfluxDB 1.x, 2.x (every bucket has a virtual DBRP
mapping) and 3.x all serve, so one small urllib request does for all of them.

Writing: InfluxDB 2.x/3.x through influxdb-client's synchronous write API (the kept library,
which speaks ``/api/v2/write`` with the token); InfluxDB 1.x through one documented urllib
request to ``/write`` with basic auth, because 1.x answers 404 on ``/api/v2/*`` and 1.6 (the
one Debian ships) has no compatibility endpoint. Retrying is the caller's: the InfluxDB sink's
durable queue retries for as long as it holds the data, where influxdb-client gives up after
180 s.

Credentials arrive resolved (a token, or a user and password); where they come from (a sink's
``*_env`` keys, a store URL's ``token_env``) is the caller's business.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from fieldlab.config.tls import ca_file, client_context
from fieldlab.store.base import StoreError


class WriteError(StoreError):
    """The server refused a write: the HTTP status says whether to split, drop or retry."""

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class InfluxTarget:
    """Where and as whom: ``database`` is the 1.x database or the 2.x/3.x bucket."""

    base_url: str  # http(s)://host:port, no credentials
    database: str
    v2: bool
    org: str = "fieldlab"
    token: str | None = None
    user: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    display: str = ""  # how errors name the server (never with a secret)


class InfluxClient:
    def __init__(self, target: InfluxTarget):
        self.target = target
        self._auth: str | None = None
        if target.v2 and target.token:
            self._auth = f"Token {target.token}"
        elif target.user:
            pair = f"{target.user}:{target.password or ''}"
            self._auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self._writer: Any = None  # influxdb-client's write API, made at the first v2 write
        self._v2_client: Any = None

    @property
    def display(self) -> str:
        return self.target.display or self.target.base_url

    # -- reading -------------------------------------------------------------------------------

    def query_many(self, statements: list[str]) -> list[list[dict[str, Any]]]:
        """Several InfluxQL statements in one request; the series of each."""
        if not statements:
            return []
        raw = self._post(
            "/query", {"db": self.target.database, "q": ";".join(statements), "epoch": "ms"}, b""
        )
        out = []
        for result in json.loads(raw).get("results", []):
            if "error" in result:
                raise StoreError(f"{self.display}: {result['error']}")
            out.append(result.get("series", []))
        return out + [[] for _ in range(len(statements) - len(out))]

    def create_database(self) -> None:
        """1.x only (2.x/3.x buckets are made by their admin tools)."""
        name = '"' + self.target.database.replace('"', '\\"') + '"'
        self._post("/query", {"q": f"CREATE DATABASE {name}"}, b"")

    # -- writing -------------------------------------------------------------------------------

    def write(self, lines: bytes) -> None:
        """Line protocol with millisecond times; raises WriteError (the server said no) or
        OSError (no answer)."""
        if not lines:
            return
        if self.target.v2:
            self._write_v2(lines)
            return
        try:
            self._post(
                "/write", {"db": self.target.database, "precision": "ms"}, lines, writing=True
            )
        except urllib.error.URLError as exc:
            raise OSError(str(exc.reason)) from None

    def _write_v2(self, lines: bytes) -> None:
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        if self._writer is None:
            t = self.target
            self._v2_client = InfluxDBClient(
                url=t.base_url,
                token=t.token or "",
                org=t.org,
                timeout=int(t.timeout_s * 1000),
                ssl_ca_cert=ca_file(),  # certifi's where the system has none (python.org, macOS)
            )
            self._writer = self._v2_client.write_api(write_options=SYNCHRONOUS)
        try:
            self._writer.write(
                self.target.database,
                self.target.org,
                record=lines.decode(),
                write_precision=WritePrecision.MS,
            )
        except ApiException as exc:
            headers: dict[str, str] = dict(exc.headers or {})
            raise WriteError(
                int(exc.status or 0), str(exc.body or exc.reason)[:500], _seconds(headers)
            ) from None
        except HTTPError as exc:
            raise OSError(str(exc)) from None

    # -- HTTP ----------------------------------------------------------------------------------

    def _post(
        self, path: str, params: dict[str, str], body: bytes, *, writing: bool = False
    ) -> bytes:
        req = urllib.request.Request(
            self.target.base_url.rstrip("/") + path + "?" + urllib.parse.urlencode(params),
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if self._auth:
            req.add_header("Authorization", self._auth)
        try:
            tls = client_context() if req.full_url.startswith("https") else None
            with urllib.request.urlopen(req, timeout=self.target.timeout_s, context=tls) as resp:
                data: bytes = resp.read()
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            if writing:
                raise WriteError(exc.code, detail, _seconds(dict(exc.headers or {}))) from None
            raise StoreError(f"{self.display}: HTTP {exc.code}: {detail}") from None
        except OSError as exc:
            if writing:
                raise
            raise StoreError(
                f"{self.display}: unreachable ({getattr(exc, 'reason', exc)})"
            ) from None

    def close(self) -> None:
        if self._v2_client is not None:
            self._v2_client.close()


def _seconds(headers: dict[str, str]) -> float | None:
    retry = headers.get("Retry-After")
    return float(retry) if retry and str(retry).isdigit() else None
