"""ISO weeks in the site's time zone: `2026-W09` is Monday 00:00 to the next Monday 00:00."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        m = _WEEK.match(text.strip().upper())
        if not m:
            raise ValueError(f'"{text}" is not an ISO week like 2026-W09')
        year, number = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {number}") from None
        return cls(year, number)

    @classmethod
    def of(cls, day: dt.date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    def bounds(self, tz: ZoneInfo) -> tuple[int, int]:
        """(start, end) in epoch ms: local midnights, so a DST week is 167 or 169 hours."""
        start = dt.datetime.combine(self.monday, dt.time(), tz)
        end = dt.datetime.combine(self.monday + dt.timedelta(days=7), dt.time(), tz)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def shifted(self, weeks: int) -> Week:
        return Week.of(self.monday + dt.timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"
