"""The shift calendar as data: weekly shifts and breaks, dated exceptions (domain.md §5, §6).

The site file's `calendar:` key is read into these models; `calendar.py` turns them into
planned time. They live in the domain, below the configuration that reads them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time_of_day(value: object) -> str:
    # YAML 1.1 reads an unquoted 06:00 as the sexagesimal integer 360: accept it as minutes.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time (HH:MM)")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not m or int(m[2]) > 59 or int(m[1]) > 24 or (int(m[1]) == 24 and int(m[2]) != 0):
        raise ValueError(f'"{value}" is not a time (HH:MM)')
    return f"{int(m[1]):02d}:{m[2]}"


TimeOfDay = Annotated[str, Field(description="Local time HH:MM; 24:00 ends a day")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Span(_Strict):
    start: TimeOfDay
    end: TimeOfDay

    _check_times = field_validator("start", "end", mode="before")(_time_of_day)

    @property
    def start_min(self) -> int:
        return _minutes(self.start)

    @property
    def end_min(self) -> int:
        """End in minutes after the start day's midnight; an end at or before the start is
        the next day (a shift across midnight)."""
        end = _minutes(self.end)
        return end + 24 * 60 if end <= self.start_min else end


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _unique_days(days: list[str]) -> list[str]:
    if len(set(days)) != len(days):
        raise ValueError("a day is listed twice")
    return days


class Shift(_Span):
    """A weekly shift; ``days`` are the days it starts on."""

    days: Annotated[list[Day], AfterValidator(_unique_days)] = Field(min_length=1)
    name: str | None = None


class Break(_Span):
    """A weekly break; ``days`` are the days it starts on."""

    days: Annotated[list[Day], AfterValidator(_unique_days)] = Field(min_length=1)


class ExceptionShift(_Span):
    name: str | None = None


class CalendarException(_Strict):
    """A dated exception: the shifts of that date (``[]`` for no production)."""

    date: dt.date
    shifts: list[ExceptionShift] = Field(default_factory=list)


class CalendarConfig(_Strict):
    shifts: list[Shift] = Field(default_factory=list)
    breaks: list[Break] = Field(default_factory=list)
    exceptions: list[CalendarException] = Field(default_factory=list)

    @field_validator("exceptions")
    @classmethod
    def _one_exception_per_date(cls, v: list[CalendarException]) -> list[CalendarException]:
        dates = [e.date for e in v]
        dup = {d for d in dates if dates.count(d) > 1}
        if dup:
            raise ValueError(f"date {min(dup)} has more than one exception")
        return v
