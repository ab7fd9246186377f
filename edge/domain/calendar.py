"""The shift calendar (domain.md §5): which instants are planned production time.

Shifts and breaks are written in local wall-clock time and converted per date, so DST is handled
by the time zone database: a night shift across the spring-forward night is an hour shorter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from fieldlab.domain.intervals import IntervalSet
from fieldlab.domain.samples import from_ms, to_ms
from fieldlab.domain.shifts import DAYS, CalendarConfig, ExceptionShift, Shift


@dataclass(frozen=True)
class ShiftOccurrence:
    """One shift on one date, e.g. the night shift that starts on Monday 2026-03-02."""

    name: str
    date: dt.date
    start: int  # epoch ms
    end: int


class Calendar:
    def __init__(self, config: CalendarConfig | None, tz: ZoneInfo | str = "Europe/Amsterdam"):
        self.config = config
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._exceptions = {e.date: e for e in config.exceptions} if config else {}
        self._planned: dict[tuple[int, int], IntervalSet] = {}

    def _local_ms(self, day: dt.date, minutes: int) -> int:
        naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
        return to_ms(naive.replace(tzinfo=self.tz))

    def _dates(self, start_ms: int, end_ms: int) -> list[dt.date]:
        # Start a day early: a shift that began yesterday evening may reach into the window.
        first = from_ms(start_ms).astimezone(self.tz).date() - dt.timedelta(days=1)
        last = from_ms(max(start_ms, end_ms - 1)).astimezone(self.tz).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def shifts(self, start_ms: int, end_ms: int) -> list[ShiftOccurrence]:
        """Shift occurrences overlapping ``[start_ms, end_ms)``, in time order."""
        if self.config is None:
            return [
                ShiftOccurrence("", from_ms(start_ms).astimezone(self.tz).date(), start_ms, end_ms)
            ]
        out = []
        for day in self._dates(start_ms, end_ms):
            weekday = DAYS[day.weekday()]
            exc = self._exceptions.get(day)
            spans: list[tuple[str, Shift | ExceptionShift | None]]
            if exc is not None:
                spans = [(s.name or f"{s.start}-{s.end}", s) for s in exc.shifts]
            elif self.config.shifts:
                spans = [
                    (s.name or f"{s.start}-{s.end}", s)
                    for s in self.config.shifts
                    if weekday in s.days
                ]
            else:
                spans = [("", None)]  # no weekly shifts: the whole day is planned
            for name, span in spans:
                lo, hi = (span.start_min, span.end_min) if span else (0, 24 * 60)
                s, e = self._local_ms(day, lo), self._local_ms(day, hi)
                if e > start_ms and s < end_ms and e > s:
                    out.append(ShiftOccurrence(name, day, s, e))
        out.sort(key=lambda o: o.start)
        return out

    def breaks(self, start_ms: int, end_ms: int) -> IntervalSet:
        if self.config is None or not self.config.breaks:
            return IntervalSet.empty()
        starts, ends = [], []
        for day in self._dates(start_ms, end_ms):
            weekday = DAYS[day.weekday()]
            for b in self.config.breaks:
                if weekday in b.days:
                    starts.append(self._local_ms(day, b.start_min))
                    ends.append(self._local_ms(day, b.end_min))
        return IntervalSet.union_of(np.array(starts), np.array(ends)).clip(start_ms, end_ms)

    def planned(self, start_ms: int, end_ms: int) -> IntervalSet:
        """Instants of ``[start_ms, end_ms)`` inside a shift and outside breaks; remembered
        for the last windows asked (every machine of a site asks for the same one)."""
        if end_ms <= start_ms:
            return IntervalSet.empty()
        key = (start_ms, end_ms)
        hit = self._planned.get(key)
        if hit is not None:
            return hit
        occ = self.shifts(start_ms, end_ms)
        shifts = IntervalSet.union_of(
            np.array([o.start for o in occ], dtype=np.int64),
            np.array([o.end for o in occ], dtype=np.int64),
        ).clip(start_ms, end_ms)
        planned = shifts.subtract(self.breaks(start_ms, end_ms))
        if len(self._planned) >= 64:
            self._planned.clear()
        self._planned[key] = planned
        return planned
