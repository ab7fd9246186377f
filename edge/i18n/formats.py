"""Numbers, percentages, durations, dates and times as the reader writes them, through Babel.

A Dutch reader takes `2,522` for two and a half: every figure a person reads goes through here.
Dutch is `nl_NL` (2.522, 42,5 %, maandag 2 maart); English is `en_GB` (2,522, 42.5 %), so both
read a 24-hour clock. The percent sign keeps a space in both (`42,5 %`), as the kit always wrote
it. Machine-readable output (`--json`, the store, CSV for tools) never goes through here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_day_names, get_month_names
from babel.numbers import format_currency, format_decimal, get_decimal_symbol, get_group_symbol

from fieldlab.i18n import Lang

LOCALES: dict[Lang, str] = {"nl": "nl_NL", "en": "en_GB"}
NONE = "–"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def locale(lang: Lang) -> str:
    return LOCALES.get(lang, "en_GB")


def number(x: float | None, lang: Lang, digits: int = 0) -> str:
    """2.522 (nl) / 2,522 (en); ``digits`` decimals, always shown. A missing figure (None, or
    NaN from a table column) is `–`, never `NaN`."""
    if x is None or x != x:
        return NONE
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(x, format=pattern, locale=locale(lang))


def percent(ratio: float | None, lang: Lang, digits: int = 1) -> str:
    """A ratio as a percentage: 0.425 → `42,5 %` (nl) / `42.5 %` (en)."""
    return NONE if ratio is None or ratio != ratio else f"{number(100 * ratio, lang, digits)} %"


def money(x: float | None, currency: str, lang: Lang) -> str:
    """`€ 1.234,50` (nl) / `€1,234.50` (en): the reader's way with the site's currency."""
    return NONE if x is None else format_currency(x, currency, locale=locale(lang))


def duration(seconds: float | None, lang: Lang = "en") -> str:
    """1 h 05 min, 4 min 03 s, 12 s: short, the same words in both languages (SI symbols)."""
    if seconds is None:
        return NONE
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{number(h, lang)} h {m:02d} min"
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


def when(ms: int | None, tz: ZoneInfo, lang: Lang, pattern: str = "d MMM y HH:mm") -> str:
    """An instant in the site's timezone: `2 mrt 2026 07:00` (nl), `2 Mar 2026 07:00` (en)."""
    if ms is None:
        return NONE
    # not fromtimestamp: Windows refuses times before 1970 (a PLC clock never set)
    moment = (_EPOCH + dt.timedelta(milliseconds=int(ms))).astimezone(tz)
    return format_datetime(moment, pattern, tzinfo=tz, locale=locale(lang))


def day(date: dt.date, lang: Lang) -> str:
    """`maandag 2 maart 2026` / `Monday 2 March 2026`."""
    moment = dt.datetime.combine(date, dt.time(12))
    return format_datetime(moment, "EEEE d MMMM y", locale=locale(lang))


def decimal_sign(lang: Lang) -> str:
    return get_decimal_symbol(locale(lang))


def csv_options(lang: Lang) -> dict[str, str]:
    """pandas `to_csv` settings that Excel in the reader's locale opens as columns: Dutch Excel
    splits on `;` and reads a decimal comma; the BOM tells it the file is UTF-8."""
    if decimal_sign(lang) == ",":
        return {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"}
    return {"sep": ",", "decimal": ".", "encoding": "utf-8-sig"}


def vega_locales(lang: Lang) -> dict[str, dict[str, object]]:
    """The d3 number and time locales for Altair/Vega-Lite charts (`alt.Chart.configure(...)`)
    from the same CLDR data: month and day names on time axes, `,` or `.` in numbers."""
    loc = locale(lang)
    days = get_day_names("wide", locale=loc)
    short_days = get_day_names("abbreviated", locale=loc)
    months = get_month_names("wide", locale=loc)
    short_months = get_month_names("abbreviated", locale=loc)
    # CLDR counts weekdays from Monday (0); d3 lists them from Sunday.
    order = [6, 0, 1, 2, 3, 4, 5]
    return {
        "numberFormatLocale": {
            "decimal": decimal_sign(lang),
            "thousands": get_group_symbol(loc),
            "grouping": [3],
            "currency": ["€ ", ""],
            # axes as the text: 80 %, not d3's 80%
            "percent": " %",
        },
        "timeFormatLocale": {
            "dateTime": "%a %e %b %Y %H:%M:%S",
            "date": "%d-%m-%Y" if lang == "nl" else "%d/%m/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [str(days[i]) for i in order],
            "shortDays": [str(short_days[i]).rstrip(".") for i in order],
            "months": [str(months[i]) for i in range(1, 13)],
            "shortMonths": [str(short_months[i]).rstrip(".") for i in range(1, 13)],
        },
    }


#: Time axes in every chart: 24-hour clock, day and month where the range spans days.
AXIS_TIME_FORMAT = "%H:%M"
AXIS_DAY_FORMAT = "%a %e %b"
