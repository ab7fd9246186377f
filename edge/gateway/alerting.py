"""The gateway's alerts: the rules see what the pipeline committed (so an alert is never about
a sample the store lacks), run on each source's clock, write their events to the site's store
and hand them to the channels' workers. Nothing here can hold up ingest: the rules are dict
updates, sending happens in the channels' own tasks, and a store that refuses the events keeps
them for the next round."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldlab.alerts.channels import Notifier
from fieldlab.alerts.engine import AlertEngine
from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import Connector, ConnectorContext
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import SIGNAL as ANSWER_SIGNAL
from fieldlab.domain.answers import AlertAnswer, latest_answers
from fieldlab.domain.samples import Sample
from fieldlab.gateway.weekly import WeeklyReports
from fieldlab.kpi.query import store_oee
from fieldlab.store import Store, StoreError

log = logging.getLogger("fieldlab.alerts")
#: rule rounds between two reads of people's answers (at 0.5 s a round: every 2 s)
ANSWERS_EVERY = 4


class GatewayAlerts:
    def __init__(
        self,
        site: SiteConfig,
        reader: Callable[[], Store | None],
        sources: list[tuple[Connector, ConnectorContext]],
        first_retry_s: float = 1.0,
        data_dir: Path | None = None,
    ):
        self.site, self._reader, self._sources = site, reader, sources
        self.engine = AlertEngine(site, site.alerts, self._oee_at)
        self.notifier = Notifier(site, first_retry_s)
        self.weekly = (
            WeeklyReports(site, reader, self.notifier, data_dir)
            if site.reports.weekly and data_dir is not None
            else None
        )
        self._unstored: list[AlertEvent] = []
        self.counts = {"fired": 0, "repeated": 0, "cleared": 0, "silenced": 0}
        self.answers: dict[tuple[str, str], AlertAnswer] = {}
        self.open: dict[tuple[str, str], AlertEvent] = {}
        self._clock_of = {m: ctx for c, ctx in sources for m in c.machines}
        self._clock_of |= {ctx.name: ctx for _, ctx in sources}

    def _oee_at(self, machine: str, start: int, moment: int) -> float | None:
        store = self._reader()
        if store is None:
            return None
        return store_oee(store, self.site, machine, start, moment, now=moment).oee

    def _now(self, subject: str) -> int | None:
        ctx = self._clock_of.get(subject)
        return None if ctx is None or ctx.clock.last_ts is None else ctx.clock.now()

    def stored(self, samples: list[Sample]) -> None:
        """The pipeline committed these samples."""
        self.handle(self.engine.observe(samples))

    def handle(self, events: list[AlertEvent]) -> None:
        """Events the rules made: answered ones silenced, the rest sent and kept."""
        for e in events:
            answer = self.answers.get((e.rule, e.subject))
            if answer is not None and answer.silences(e):
                self.counts["silenced"] += 1
                if e.event == "repeated":
                    continue  # acknowledged or shelved: no repeat, and none to remember
                self._track(e)
                self._unstored.append(e)  # a firing while shelved is kept, not sent
                continue
            self.counts[e.event] += 1
            self._track(e)
            log.warning("alert %s: %s %s (%s)", e.event, e.rule, e.subject, e.detail)
            self.notifier.send(e)
            self._unstored.append(e)

    def _track(self, e: AlertEvent) -> None:
        key = (e.rule, e.subject)
        if e.event == "cleared":
            self.open.pop(key, None)
        else:
            self.open[key] = e

    def read_answers(self) -> None:
        """What people answered on the dashboards (acknowledged, shelved): from the store."""
        store = self._reader()
        if store is None:
            return
        try:
            entries = store.entries(limit=500, signal=ANSWER_SIGNAL)
        except (StoreError, OSError) as exc:
            log.debug("alert answers not read: %s", exc)
            return
        self.answers = latest_answers(entries)

    def tick(self) -> None:
        states = {ctx.name: str(ctx.health.state) for _, ctx in self._sources}
        for name, state in states.items():  # a source never reached is on the wall clock
            self.handle(self.engine.sources({name: state}, self._clock_of[name].clock.now()))
        self.handle(self.engine.advance(self._now))

    async def run(self, every_s: float = 0.5) -> None:
        self.notifier.start()
        weekly = asyncio.create_task(self.weekly.run()) if self.weekly else None
        try:
            await self._rules(every_s)
        finally:
            if weekly is not None:
                weekly.cancel()

    async def _rules(self, every_s: float) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(every_s)
            if rounds % ANSWERS_EVERY == 0:
                await asyncio.to_thread(self.read_answers)
            rounds += 1
            self.tick()
            await self.save()

    async def save(self) -> None:
        store = self._reader()
        if not self._unstored or store is None:
            return
        batch, self._unstored = self._unstored, []
        try:
            await asyncio.to_thread(store.write_alerts, batch)
        except (StoreError, OSError) as exc:
            log.warning("cannot store %d alert events yet: %s", len(batch), exc)
            self._unstored = batch + self._unstored

    async def stop(self) -> None:
        await self.save()
        await self.notifier.stop()

    def report(self) -> dict[str, Any]:
        return {
            "open": [f"{rule} {subject}" for rule, subject in sorted(self.open)],
            "events": dict(self.counts),
            "channels": self.notifier.stats(),
        }
