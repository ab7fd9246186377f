"""One translation table for every word the kit shows a person, in English and Dutch."""

from __future__ import annotations

import os
from typing import Literal

Lang = Literal["en", "nl"]
LANGS: tuple[Lang, ...] = ("en", "nl")

TEXT: dict[str, dict[Lang, str]] = {
    "machine": {"en": "machine", "nl": "machine"},
    "oee": {"en": "OEE", "nl": "OEE"},
    "availability": {"en": "availability", "nl": "beschikbaarheid"},
    "performance": {"en": "performance", "nl": "prestatie"},
    "effectiveness": {"en": "effectiveness", "nl": "effectiviteit"},
    "quality": {"en": "quality", "nl": "kwaliteit"},
    "planned": {"en": "planned", "nl": "gepland"},
    "run": {"en": "run", "nl": "looptijd"},
    "downtime": {"en": "downtime", "nl": "stilstand"},
    "small_stops": {"en": "small stops", "nl": "korte stops"},
    "total": {"en": "total", "nl": "totaal"},
    "good": {"en": "good", "nl": "goed"},
    "scrap": {"en": "scrap", "nl": "afkeur"},
    "losses": {"en": "downtime by category", "nl": "stilstand per categorie"},
    "reasons": {"en": "stop reasons", "nl": "stopredenen"},
    "flags": {"en": "notes", "nl": "opmerkingen"},
    "unexplained": {"en": "(unexplained)", "nl": "(onverklaard)"},
    "episodes": {"en": "stops", "nl": "stops"},
    "window": {"en": "window", "nl": "periode"},
    "no_data": {"en": "no data", "nl": "geen data"},
    "state.running": {"en": "running", "nl": "draait"},
    "state.idle": {"en": "idle", "nl": "wacht"},
    "state.starved": {"en": "starved", "nl": "materiaaltekort"},
    "state.blocked": {"en": "blocked", "nl": "geblokkeerd"},
    "state.fault": {"en": "fault", "nl": "storing"},
    "state.setup": {"en": "setup", "nl": "omstellen"},
    "state.planned_stop": {"en": "planned stop", "nl": "geplande stop"},
    "state.offline": {"en": "offline", "nl": "offline"},
    "ingest.progress": {
        "en": "{file}: {lines:,} lines ({pct}%), {rate:,.0f} lines/s",
        "nl": "{file}: {lines:,} regels ({pct}%), {rate:,.0f} regels/s",
    },
    "ingest.summary": {
        "en": "{file}: {kept:,} samples stored, {rejected:,} lines rejected",
        "nl": "{file}: {kept:,} samples opgeslagen, {rejected:,} regels afgewezen",
    },
    "ingest.bad_line": {"en": "{file}:{line}: {reason}", "nl": "{file}:{line}: {reason}"},
    "ingest.more_bad": {
        "en": "… and {n:,} more rejected lines (all kept in the store's rejected table)",
        "nl": "… en nog {n:,} afgewezen regels (alle bewaard in de tabel rejected van de store)",
    },
    "ingest.unknown_state": {
        "en": "{file}: note: state values that map to no DOMAIN state were stored as received: "
        "{values}",
        "nl": "{file}: let op: toestanden die bij geen DOMAIN-toestand horen zijn opgeslagen "
        "zoals ontvangen: {values}",
    },
}


def detect_lang(explicit: str | None = None) -> Lang:
    """``--lang`` first, then FIELDLAB_LANG, then the locale (LANG=nl_NL… gives Dutch)."""
    for candidate in (explicit, os.environ.get("FIELDLAB_LANG"), os.environ.get("LANG")):
        if candidate:
            code = candidate[:2].lower()
            return "nl" if code == "nl" else "en"
    return "en"


def t(key: str, lang: Lang = "en", **kwargs: object) -> str:
    entry = TEXT.get(key)
    text = key if entry is None else entry.get(lang) or entry["en"]
    return text.format(**kwargs) if kwargs else text
