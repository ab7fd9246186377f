"""The SQLite sink: the embedded historian, written through the store interface, and the
retention that thins its old process values (`retention:` in the site file)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.config.site import SiteConfig
from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.sinks.base import SinkEnv
from fieldlab.store.sqlite import SqliteStore

TYPE = "sqlite"
log = logging.getLogger("fieldlab.sink.sqlite")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["sqlite"] = "sqlite"
    name: str = "sqlite"
    path: str | None = Field(None, description="default: the site's `store:`")


def path_of(cfg: Config, site: SiteConfig, base_dir: Path) -> Path:
    """The file a sink writes: its `path:`, else the site's `store:`, from the site's folder."""
    path = Path(cfg.path or site.store.removeprefix("sqlite:///"))
    return path if path.is_absolute() else (base_dir / path).resolve()


def create(cfg: Config, env: SinkEnv) -> SqliteSink:
    return SqliteSink(SqliteStore(path_of(cfg, env.site, env.base_dir)), cfg.name, env.site)


class SqliteSink:
    keeps = True

    def __init__(self, store: SqliteStore, name: str = "sqlite", site: SiteConfig | None = None):
        self.name = name
        self.store: SqliteStore = store
        self.site = site
        self.written = 0

    def accept(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        if rejected:
            self.store.write_rejected(rejected)
        if samples:
            self.written += self.store.write(samples)

    def accept_packed(
        self, samples: list[Sample], rejected: list[Rejected], packed: list[Packed]
    ) -> None:
        if rejected:
            self.store.write_rejected(rejected)
        self.written += self.store.write(samples, packed)

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        return {}

    async def run(self) -> None:
        """The site's retention, at start and hourly; nothing else to forward."""
        retention = self.site.retention if self.site is not None else None
        if retention is None or retention.process_values_raw_days is None:
            return
        await self.thin(retention.process_values_raw_days, retention.aggregate_minutes * 60_000)

    async def thin(self, days: int, period_ms: int, every_s: float = 3600.0) -> None:
        """Thin process values older than `days` (SqliteStore.thin: a few series a
        transaction, so commits go on in between)."""
        while True:
            until = int(time.time() * 1000) - days * 86_400_000
            try:
                stats = await asyncio.to_thread(self.store.thin, until, period_ms=period_ms)
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop ingest
                log.error("retention on %s failed: %s", self.store.path, exc)
            else:
                if stats.removed:
                    log.info(
                        "retention: %d periods of %d series aggregated, %d samples removed",
                        stats.periods,
                        stats.series,
                        stats.removed,
                    )
            await asyncio.sleep(every_s)

    def stats(self) -> dict[str, float]:
        return {"written": self.written}

    def close(self) -> None:
        self.store.close()
