"""InfluxDB sink: the durable queue in front, then the store layer's one InfluxDB client
(`fieldlab.store.influx_client`: 1.x ``/write``, 2.x/3.x influxdb-client), with our own retry
policy (influxdb-client's gives up after 180 s; ours never does while the queue holds the data).

```yaml
sinks:
  - type: influxdb
    api: v2                     # v2 (InfluxDB 2.x/3.x, influxdb-client) or v1 (/write)
    url: http://127.0.0.1:8086
    org: fieldlab               # v2
    bucket: fieldlab            # v2; v1: database
    token_env: INFLUX_TOKEN     # secrets come from the environment, never the file
    batch_points: 5000          # points a write holds at most
    flush_ms: 200               # a write of fewer waits this long for more
    queue: {path: influx-queue.db, max_mb: 512, max_age_h: 168, overflow: drop_oldest}
```
Each pipeline batch is queued in one transaction, its line protocol built once; the queued
batches go out together, up to `batch_points` a write. 413 splits a batch, other 4xx quarantine
it (counted as rejected points; a refused write of several batches goes again one batch at a
time first, so only the faulty one is kept aside), 429/5xx and connection errors back off
(honouring Retry-After) and keep it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.config.addresses import HttpUrl
from fieldlab.config.redact import redact_url
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.sinks.base import SinkEnv
from fieldlab.sinks.forward import Forwarder, QueuedSink, Retry
from fieldlab.sinks.queue import DurableQueue, Overflow
from fieldlab.store.influx_client import InfluxClient, InfluxTarget, WriteError
from fieldlab.store.line_protocol import rejected_lines, to_lines

TYPE = "influxdb"
log = logging.getLogger("fieldlab.sink.influxdb")


class QueueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = "influxdb-queue.db"
    max_mb: float = Field(512, gt=0)
    max_age_h: float | None = Field(None, gt=0)
    overflow: Overflow = "drop_oldest"


class InfluxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["influxdb"] = "influxdb"
    name: str = "influxdb"
    api: Literal["v1", "v2"] = "v2"
    url: HttpUrl = "http://127.0.0.1:8086"
    org: str = "fieldlab"
    bucket: str = "fieldlab"
    database: str | None = Field(None, description="v1: database (default: bucket)")
    token_env: str | None = Field(None, description="v2: environment variable with the token")
    username_env: str | None = Field(None, description="v1: environment variable, user name")
    password_env: str | None = Field(None, description="v1: environment variable, password")
    batch_points: int = Field(5000, ge=1, description="points a write holds at most")
    flush_ms: int = Field(
        200,
        ge=0,
        description="how long a write of fewer than batch_points waits for more (a live stream "
        "makes a few writes a second, not one per batch the gateway commits)",
    )
    timeout_s: float = Field(10, gt=0)
    queue: QueueConfig = Field(default_factory=QueueConfig)

    def secret(self, env: str | None) -> str | None:
        return os.environ.get(env) if env else None


def _queue_path(cfg: InfluxConfig, base_dir: Path | None) -> Path:
    path = Path(cfg.queue.path)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def client_for(cfg: InfluxConfig) -> InfluxClient:
    """The store layer's client for this sink: credentials from the environment, or from the
    URL (``http://user:pass@host``) where no ``*_env`` key names them."""
    url = urllib.parse.urlsplit(cfg.url)
    host = url.hostname or "127.0.0.1"
    return InfluxClient(
        InfluxTarget(
            base_url=f"{url.scheme or 'http'}://{host}:{url.port or 8086}",
            database=(cfg.database or cfg.bucket) if cfg.api == "v1" else cfg.bucket,
            v2=cfg.api == "v2",
            org=cfg.org,
            token=cfg.secret(cfg.token_env),
            user=cfg.secret(cfg.username_env) or url.username,
            password=cfg.secret(cfg.password_env) or url.password,
            timeout_s=cfg.timeout_s,
            display=redact_url(cfg.url),
        )
    )


def worker_queue(path: Path, index: int) -> Path:
    """Gateway worker `index`'s queue file beside the sink's own: ``queue.db`` → ``queue-w0.db``."""
    return path.with_name(f"{path.stem}-w{index}{path.suffix}")


Config = InfluxConfig


def create(cfg: InfluxConfig, env: SinkEnv) -> InfluxSink:
    return InfluxSink(cfg, env.data_dir, workers=env.workers)


class InfluxSink(QueuedSink):
    """With ``workers`` (N gateway worker processes), each worker writes the live samples it
    decoded through a queue file of its own (`worker_queue`, `for_worker`) and sends them from
    there; this sink keeps what the gateway writes itself (retained values it stamped, its
    `offline`). The queue's cap is shared out: N + 1 files of ``max_mb / (N + 1)`` each. At
    start it takes in every worker file's `newest` (to close gaps) and the whole of the files
    of workers that no longer run (``workers`` made smaller): nothing queued is left behind."""

    keeps = True
    store = None  # forwards to a server; the gateway reads that server through the site's store

    def __init__(self, cfg: InfluxConfig, base_dir: Path | None = None, *, workers: int = 0):
        self.cfg = cfg
        self.name = cfg.name
        self.path = _queue_path(cfg, base_dir)
        self.workers = workers
        self.queue = DurableQueue(
            self.path,
            max_bytes=int(cfg.queue.max_mb * 2**20 / (workers + 1)),
            max_age_s=cfg.queue.max_age_h * 3600 if cfg.queue.max_age_h else None,
            overflow=cfg.queue.overflow,
        )
        self._client = client_for(cfg)
        self._created = False
        self._forward = Forwarder(
            self.name,
            self.queue,
            self._send,
            redact_url(cfg.url),
            log,
            combine=cfg.batch_points,
            linger_s=cfg.flush_ms / 1000,
        )
        self._take_in_worker_queues()

    def for_worker(self, index: int) -> dict[str, Any]:
        """The config of worker `index`'s sink (its own queue file and share of the cap)."""
        queue = self.cfg.queue.model_copy(
            update={
                "path": str(worker_queue(self.path, index)),
                "max_mb": self.cfg.queue.max_mb / (self.workers + 1),
            }
        )
        return self.cfg.model_copy(update={"queue": queue}).model_dump()

    def _take_in_worker_queues(self) -> None:
        pattern = re.compile(rf"{re.escape(self.path.stem)}-w(\d+){re.escape(self.path.suffix)}")
        for file in sorted(self.path.parent.iterdir()):
            found = pattern.fullmatch(file.name)
            if found is None:
                continue
            gone = int(found.group(1)) >= self.workers
            self.queue.adopt(file, batches=gone)
            if gone:
                log.warning(
                    "%s: took in the queue of worker %s (%s), which no longer runs",
                    self.name,
                    found.group(1),
                    file.name,
                )
                for leftover in (file, Path(f"{file}-wal"), Path(f"{file}-shm")):
                    leftover.unlink(missing_ok=True)

    def accept(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        """Samples and rejected input both go through the durable queue, so the dashboard's
        data-quality page (reading InfluxDB's ``_rejected``) sees what this gateway refused."""
        batches: list[tuple[bytes, int]] = []
        if rejected:
            batches.append(
                (rejected_lines(rejected, int(time.time() * 1000)).encode(), len(rejected))
            )
        step = self.cfg.batch_points
        for i in range(0, len(samples), step):
            self._lines(samples[i : i + step], batches)
        if batches:  # one transaction for all of it (the queue's one commit per pipeline batch)
            self.queue.append_many(batches, _newest(samples) if samples else None)
            self._poke()

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        return self.queue.newest()

    def _lines(self, part: list[Sample], out: list[tuple[bytes, int]]) -> None:
        """Batches of at most a quarter of the queue's cap, so that overflow drops the oldest
        points: one batch larger than the cap (a broker's backlog after a restart arrives in
        one burst) would otherwise be dropped whole, newest points included."""
        payload = to_lines(part).encode()
        if len(payload) > self.queue.max_bytes // 4 and len(part) > 1:
            half = len(part) // 2
            self._lines(part[:half], out)
            self._lines(part[half:], out)
            return
        out.append((payload, len(part)))

    async def _send(self, batch_id: int | None, payload: bytes, points: int) -> int | None:
        """One write; 413 splits the batch, other 4xx quarantine it (see the module's text).
        Several batches in one write (``batch_id`` None) that are refused go again one by one
        (`Forwarder`): only the batch with the fault is split or quarantined."""
        try:
            await asyncio.to_thread(self._client.write, payload)
        except WriteError as exc:
            if batch_id is None and _refused(exc.status):
                return None
            if batch_id is not None and exc.status == 413 and points > 1:
                self._forward.errors += 1
                lines = payload.split(b"\n")
                half = len(lines) // 2
                await asyncio.to_thread(
                    self.queue.replace,
                    batch_id,
                    [
                        (b"\n".join(lines[:half]), half),
                        (b"\n".join(lines[half:]), len(lines) - half),
                    ],
                )
                return None
            if exc.status == 404 and "database not found" in str(exc) and not self._created:
                # InfluxDB 1.x: a fresh server has no database; made once, as Telegraf does
                # (2.x/3.x buckets are made by their admin tools and stay a 404 here)
                self._created = True
                log.warning("%s: creating database %s", self.name, self._client.target.database)
                try:
                    await asyncio.to_thread(self._client.create_database)
                except (WriteError, OSError) as made:
                    raise Retry(str(made)) from None
                return await self._send(batch_id, payload, points)
            if batch_id is not None and _refused(exc.status):
                self._forward.errors += 1
                log.error(
                    "%s: batch of %d points refused, kept as rejected: %s", self.name, points, exc
                )
                await asyncio.to_thread(self.queue.ack, batch_id, 0)
                await asyncio.to_thread(self.queue.count, "rejected_points", points)
                return None
            raise Retry(str(exc), exc.retry_after) from None
        except OSError as exc:
            raise Retry(str(getattr(exc, "reason", exc))) from None
        return points

    def stats(self) -> dict[str, float]:
        return {
            **self.queue.stats(),
            "errors": self.errors,
            "up": float(self.up),
            "writes": self._forward.writes,
        }

    def close(self) -> None:
        self._client.close()
        self.queue.close()


def _refused(status: int) -> bool:
    """A 4xx that sending again will not mend: the batch is kept aside as refused."""
    return 400 <= status < 500 and status not in (401, 403, 404, 408, 429)


def _newest(samples: list[Sample]) -> dict[str, tuple[int, int | None, str | None]]:
    """Machine → (newest ts, newest state ts, that state) of one batch."""
    out: dict[str, tuple[int, int | None, str | None]] = {}
    for s in samples:
        ts, state_ts, state = out.get(s.machine, (s.ts, None, None))
        if s.signal == "state" and (state_ts is None or s.ts >= state_ts):
            state_ts, state = s.ts, str(s.value)
        out[s.machine] = (max(ts, s.ts), state_ts, state)
    return out
