"""What a participant typed, read as they write it, and judged against the answer: right
(within the tolerance), close (within three times it, or 2 % of the answer), or wrong."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fieldlab.domain.learning import Verdict
from fieldlab.domain.samples import from_ms
from fieldlab.learning.questions import Form

#: attempts after which the explanation (with the answer) is shown anyway
MAX_ATTEMPTS = 3


class Unreadable(ValueError):
    """The input is not a number, a time or one of the choices; the message says what is."""


def read_number(text: str, form: Form) -> float:
    """`70,3`, `70.3`, `70,3 %`, `2.522` (a count in Dutch) or `2,522` (in English): one
    separator in a percentage or minutes is the decimal one; in a count, separators group."""
    t = text.strip().replace("%", "").replace("min", "").replace("\u202f", "").replace(" ", "")
    t = t.replace("\u2212", "-")
    if not re.fullmatch(r"-?[0-9][0-9.,]*", t):
        raise Unreadable("number")
    if form == "count":
        return float(t.replace(".", "").replace(",", ""))
    if t.count(",") + t.count(".") > 1:  # 1.234,5 or 1,234.5: the last one is the decimal
        last = max(t.rfind(","), t.rfind("."))
        t = t[:last].replace(",", "").replace(".", "") + "." + t[last + 1 :]
    return float(t.replace(",", "."))


def read_time(text: str) -> int:
    """`9:05`, `09.05` or `0905` → minutes after midnight."""
    m = re.fullmatch(r"\s*([0-2]?[0-9])[:.h]?([0-5][0-9])\s*", text)
    if not m or int(m.group(1)) > 23:
        raise Unreadable("time")
    return int(m.group(1)) * 60 + int(m.group(2))


def minutes_of_day(ms: int, tz: ZoneInfo) -> int:
    local = from_ms(ms).astimezone(tz)
    return local.hour * 60 + local.minute


def grade(
    form: Form, answer: float | int | str, given: str, tolerance: float, tz: ZoneInfo
) -> Verdict:
    """Raises Unreadable for input that is not of the question's form."""
    if form == "choice":
        return "right" if given.strip() == str(answer) else "wrong"
    if form == "time":
        if not isinstance(answer, int | float):
            raise TypeError("a time answer is an instant")
        apart = abs(read_time(given) - minutes_of_day(int(answer), tz))
        diff: float = min(apart, 1440 - apart)
        close = 3 * max(tolerance, 1)
    else:
        if not isinstance(answer, int | float):
            raise TypeError("a number answer is a number")
        diff = abs(read_number(given, form) - float(answer))
        close = 3 * tolerance + 0.02 * abs(float(answer))
    if diff <= tolerance + 1e-9:
        return "right"
    return "close" if diff <= close else "wrong"
