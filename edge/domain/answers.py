"""People's answers to alerts (#29): an open alert acknowledged (who, when, a note) is not
repeated, and an alert shelved for a while is silent until then; its clear is always sent. An
answer is kept as a hand entry, so both stores hold it with who gave it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.entries import Entry

SIGNAL = "alert_ack"


@dataclass(frozen=True)
class AlertAnswer:
    rule: str
    subject: str
    since: int  # the firing it answers: when its condition began (epoch ms)
    by: str
    at: int  # when it was given (epoch ms)
    note: str = ""
    shelved_until: int | None = None  # silent until then, whatever fires

    def silences(self, event: AlertEvent) -> bool:
        """Whether ``event`` is kept from the channels: a repeat of the firing it acknowledged,
        anything but a clear while shelved."""
        if event.event == "cleared" or (event.rule, event.subject) != (self.rule, self.subject):
            return False
        if self.shelved_until is not None and event.ts < self.shelved_until:
            return True
        return event.event == "repeated" and event.since == self.since

    def entry(self) -> Entry:
        value = {"rule": self.rule, "since": self.since, "note": self.note}
        if self.shelved_until is not None:
            value["until"] = self.shelved_until
        return Entry(self.at, self.subject, SIGNAL, json.dumps(value), self.by, self.at)

    @classmethod
    def from_entry(cls, e: Entry) -> AlertAnswer | None:
        """None for an entry that is no answer or that nothing can read (never an error: a
        bad record must not stop the alerts)."""
        if e.signal != SIGNAL:
            return None
        try:
            v = json.loads(e.value)
            until = v.get("until")
            return cls(
                str(v["rule"]),
                e.machine,
                int(v["since"]),
                e.by,
                e.entered,
                str(v.get("note", "")),
                None if until is None else int(until),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def latest_answers(entries: list[Entry]) -> dict[tuple[str, str], AlertAnswer]:
    """The newest answer per (rule, subject), from entries newest first."""
    out: dict[tuple[str, str], AlertAnswer] = {}
    for e in entries:
        a = AlertAnswer.from_entry(e)
        if a is not None:
            out.setdefault((a.rule, a.subject), a)
    return out
