"""Small builders shared by the tests: local times, sample lists, configs."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldlab.config import SiteConfig, parse_site_config
from fieldlab.domain.history import MachineHistory, histories_from_samples
from fieldlab.domain.samples import Sample, to_ms
from fieldlab.gateway.batch import Batch
from fieldlab.kpi.oee import OeeResult, site_oee

AMS = ZoneInfo("Europe/Amsterdam")
MIN = 60_000
SEC = 1000


def local(text: str, tz: ZoneInfo = AMS) -> int:
    """'2026-03-02 06:00' in the site time zone, as epoch ms."""
    return to_ms(dt.datetime.fromisoformat(text).replace(tzinfo=tz))


class Machine:
    """Write a machine's history the way one reads a worked example."""

    def __init__(self, machine: str = "press-1"):
        self.machine = machine
        self.samples: list[Sample] = []

    def at(self, ts: int, signal: str, value: object) -> Machine:
        self.samples.append(Sample(ts, self.machine, signal, value))  # type: ignore[arg-type]
        return self

    def state(self, ts: int, value: str) -> Machine:
        return self.at(ts, "state", value)

    def history(self) -> MachineHistory:
        return histories_from_samples(self.samples).get(self.machine) or MachineHistory(
            self.machine
        )


def site(yaml_text: str = "") -> SiteConfig:
    return parse_site_config(yaml_text or "{}")


def oee(
    m: Machine,
    start: int,
    end: int,
    cfg: SiteConfig | None = None,
    *,
    now: int | None = None,
    dialect: str = "classic",
    threshold: float | None = None,
) -> OeeResult:
    cfg = cfg or site()
    return site_oee(
        m.history(),
        cfg,
        start,
        end,
        now=end if now is None else now,
        micro_stop_threshold_s=threshold,
        dialect=dialect,  # type: ignore[arg-type]
    )


def stored(db: Path, signal: str = "v") -> tuple[int, int]:
    """(samples of `signal`, distinct timestamps of them) in a gateway's SQLite store: equal
    when nothing was stored twice."""
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT count(*), count(DISTINCT ts) FROM samples JOIN series "
            "ON series.id = samples.series WHERE signal = ?",
            (signal,),
        ).fetchone()
    finally:
        con.close()


def foreign_texts(text: str, lang: str) -> list[str]:
    """Catalog texts of the other language found in ``text`` (a page, a report) read in
    ``lang``: each catalog text split at its placeholders, parts of at least four letters that
    the two languages word differently, found as whole words. A Dutch page that still shows
    "Download CSV" or "no data" fails with those words."""
    import re
    import string

    from fieldlab.i18n import LANGS, catalog

    other = next(lang_ for lang_ in LANGS if lang_ != lang)
    own_words = " ".join(
        literal for text in catalog(lang).values() for literal, *_ in string.Formatter().parse(text)
    )
    found = []
    for key, theirs in catalog(other).items():  # type: ignore[arg-type]
        if theirs == catalog(lang).get(key):  # type: ignore[arg-type]
            continue
        for literal, *_ in string.Formatter().parse(theirs):
            for part in re.split(r"[\n:·(),.;!?…\"]+", literal):
                part = part.strip(" -–'")
                if len(re.sub(r"\W", "", part)) < 4:
                    continue
                word = r"(?<![\w-])" + re.escape(part) + r"(?![\w-])"
                if re.search(word, own_words, re.IGNORECASE):
                    continue  # the same word in both languages ("offline", "Excel")
                if re.search(word, text, re.IGNORECASE):
                    found.append(part)
    return sorted(set(found))


class Sent:
    """A connector context's `emit` that keeps what it is handed, as the gateway's batches."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    async def __call__(self, samples, rejected, /, **meta) -> None:  # type: ignore[no-untyped-def]
        self.batches.append(Batch(samples, rejected, **meta))
