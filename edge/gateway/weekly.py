"""The owner's weekly report, sent by the gateway through the alert channels (`reports:
{weekly: {to: [...], day: mon, at: "07:00"}}`): once the moment of a week has passed, last
week's report is made as PDF and sent; the week sent is noted in the data folder, so a restart
neither skips nor repeats it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path

from fieldlab.alerts.channels import Notifier
from fieldlab.config.site import SiteConfig
from fieldlab.i18n import t
from fieldlab.kpi.query import store_now
from fieldlab.reports.build import build_report
from fieldlab.reports.render import to_pdf
from fieldlab.reports.week import Week
from fieldlab.store import Store

log = logging.getLogger("fieldlab.reports")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def week_due(site: SiteConfig, now: dt.datetime, sent: str | None) -> Week | None:
    """Last week, if this week's sending moment has passed and it was not sent yet."""
    weekly = site.reports.weekly
    if weekly is None:
        return None
    this = Week.of(now.date())
    moment = dt.datetime.combine(
        this.monday + dt.timedelta(days=DAYS.index(weekly.day)),
        dt.time.fromisoformat(weekly.at),
        site.tz,
    )
    last = this.shifted(-1)
    return last if now >= moment and sent != str(last) else None


class WeeklyReports:
    def __init__(
        self,
        site: SiteConfig,
        reader: Callable[[], Store | None],
        notifier: Notifier,
        data_dir: Path,
    ):
        self.site, self._reader, self.notifier = site, reader, notifier
        self._state = data_dir / "weekly-report.json"
        self.sent: list[str] = []

    def _last_sent(self) -> str | None:
        try:
            return str(json.loads(self._state.read_text())["week"])
        except (OSError, ValueError, KeyError):
            return None

    def send(self, week: Week) -> Path:
        """Make last week's PDF and hand it to the channels (in a worker thread)."""
        weekly = self.site.reports.weekly
        store = self._reader()
        assert weekly is not None and store is not None
        report = build_report(store, self.site, week, store_now(store))
        path = self._state.parent / f"report-{week}.pdf"
        to_pdf(report, weekly.lang, path)
        title = f"{t('report.title', weekly.lang, site=self.site.site)} {week}"
        self.notifier.send_file(weekly.to, title, title, path)
        self._state.write_text(json.dumps({"week": str(week)}))
        self.sent.append(str(week))
        log.warning("weekly report %s sent to %s", week, ", ".join(weekly.to))
        return path

    async def run(self, every_s: float = 30.0) -> None:
        while True:
            week = week_due(self.site, dt.datetime.now(self.site.tz), self._last_sent())
            if week is not None:
                try:
                    await asyncio.to_thread(self.send, week)
                except Exception:  # a report must not stop the gateway
                    log.exception("cannot make the weekly report %s; trying again later", week)
            await asyncio.sleep(every_s)
