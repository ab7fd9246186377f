"""The periods people ask figures for (this shift, today, this week, …) as windows."""

from __future__ import annotations

import datetime as dt

from fieldlab.config import SiteConfig
from fieldlab.domain.samples import from_ms, to_ms

#: `fieldlab oee --period` names and the dashboard's
PERIOD_NAMES = {
    "shift": "current_shift",
    "today": "today",
    "yesterday": "yesterday",
    "week": "this_week",
    "month": "this_month",
}


def period_bounds(
    period: str,
    now: int,
    site: SiteConfig,
    custom: tuple[dt.date | dt.datetime, dt.date | dt.datetime] | None = None,
) -> tuple[int, int]:
    """[start, end) of a named period around `now` in the site's time zone: the dashboard's
    period choice and `fieldlab oee --period`, one definition for both. `current_shift` is the
    calendar's shift that holds `now` (the day where the site has no calendar). A `custom`
    period runs from its first day's midnight (or its first moment, when a time is given) to
    the end of its last day (or its last moment)."""
    tz = site.tz
    today = from_ms(now).astimezone(tz).date()

    def midnight(d: dt.date) -> int:
        return to_ms(dt.datetime.combine(d, dt.time()).replace(tzinfo=tz))

    if period == "current_shift":
        occ = [
            o
            for o in site.shift_calendar().shifts(now - 86_400_000, now + 1)
            if o.start <= now < o.end
        ]
        if occ and site.calendar is not None:
            return occ[-1].start, occ[-1].end
        return midnight(today), midnight(today + dt.timedelta(days=1))
    if period == "yesterday":
        return midnight(today - dt.timedelta(days=1)), midnight(today)
    if period == "this_week":
        monday = today - dt.timedelta(days=today.weekday())
        return midnight(monday), midnight(monday + dt.timedelta(days=7))
    if period == "this_month":
        first = today.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return midnight(first), midnight(following)
    if period == "custom" and custom is not None:
        first, last = custom

        def moment(d: dt.date | dt.datetime, end: bool) -> int:
            if isinstance(d, dt.datetime):
                return to_ms(d.replace(tzinfo=tz))
            return midnight(d + dt.timedelta(days=1)) if end else midnight(d)

        return moment(first, end=False), moment(last, end=True)
    return midnight(today), midnight(today + dt.timedelta(days=1))
