"""The alert rules over the samples the gateway stored, on the sources' clocks.

Each (rule, machine) pair is a small state machine fed with the instants its condition starts
and ends. Before a change at `ts` is applied, the pair is first advanced to `ts`, so a firing
that fell due earlier happens at its own instant: the events are the same however the samples
are batched and however often the gateway calls `advance` (a property test holds it so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fieldlab.config.alerts import AlertRule, AlertsConfig
from fieldlab.config.site import SiteConfig
from fieldlab.domain.alerts import AlertEvent, AlertEventKind
from fieldlab.domain.samples import Sample, from_ms

_MIN = 60_000
#: (machine, shift start, moment) → the shift's OEE up to the moment, or None (no data)
OeeAt = Callable[[str, int, int], float | None]


@dataclass
class _Track:
    """One rule on one subject: its condition and whether it has fired."""

    rule: AlertRule
    subject: str
    active: bool = False
    since: int = 0  # when the condition began
    false_since: int | None = None  # when it ended (clearing waits `clear_min`)
    firing: bool = False
    notified: int = 0
    detail: str = ""
    value: float | None = None

    def _event(self, ts: int, what: AlertEventKind) -> AlertEvent:
        r = self.rule
        return AlertEvent(
            ts, r.name, self.subject, what, r.when, self.since, self.detail, self.value
        )

    def advance(self, now: int) -> list[AlertEvent]:
        """What fell due before `now`; what falls due at `now` itself waits: a sample at that
        very instant may change the condition, and it wins however the engine is advanced
        (a fault of exactly `for_min` that ends then never fires)."""
        r, out = self.rule, []
        if self.active and not self.firing and now > self.since + r.for_min * _MIN:
            self.firing = True
            self.notified = self.since + int(r.for_min * _MIN)
            out.append(self._event(self.notified, "fired"))
        if self.firing and self.active and r.renotify_min:
            every = int(r.renotify_min * _MIN)
            while now > self.notified + every:  # each at its own instant, however advanced
                self.notified += every
                out.append(self._event(self.notified, "repeated"))
        ended = self.false_since
        # cleared once gone for clear_min: it will not flap back
        if (
            self.firing
            and not self.active
            and ended is not None
            and now >= ended + r.clear_min * _MIN
        ):
            self.firing = False
            out.append(self._event(ended, "cleared"))
        return out

    def set(
        self, active: bool, ts: int, detail: str = "", value: float | None = None
    ) -> list[AlertEvent]:
        """The condition at `ts`; what fell due before `ts` first (a change at the very instant
        a repeat falls due wins)."""
        out = self.advance(ts)
        if active:
            if not self.active:
                if not (self.firing and self.false_since is not None):
                    self.since = ts  # a new episode; else a flap inside the clear delay
                self.active = True
            self.false_since = None
            self.detail, self.value = detail or self.detail, value
            out += self.advance(ts)
        elif self.active:
            self.active, self.false_since = False, ts
            out += self.advance(ts)
        return out


class AlertEngine:
    def __init__(self, site: SiteConfig, config: AlertsConfig, oee_at: OeeAt | None = None):
        self.site, self.rules, self._oee_at = site, config.rules, oee_at
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._state: dict[str, tuple[str, int]] = {}  # machine → (state, since)
        self._reason: dict[str, str] = {}
        self._values = {r.signal for r in self.rules if r.when == "value_outside"}
        self._cal = site.shift_calendar()
        self._checked: dict[tuple[str, str], int] = {}  # (rule, machine) → last moment checked

    def _applies(self, rule: AlertRule, machine: str) -> bool:
        return rule.machines is None or machine in rule.machines

    def _track(self, rule: AlertRule, subject: str) -> _Track:
        key = (rule.name, subject)
        if key not in self._tracks:
            self._tracks[key] = _Track(rule, subject)
        return self._tracks[key]

    def observe(self, samples: Iterable[Sample]) -> list[AlertEvent]:
        """Samples as stored (in time order per machine): conditions start and end."""
        out: list[AlertEvent] = []
        for s in samples:
            if s.signal == "state":
                self._state[s.machine] = (str(s.value), s.ts)
                self._reason.pop(s.machine, None)
                out += self._stops(s.machine, s.ts)
            elif s.signal == "reason":
                self._reason[s.machine] = str(s.value)
                out += self._stops(s.machine, s.ts)
            elif s.signal in self._values:
                out += self._value(s)
        return out

    def _stops(self, machine: str, ts: int) -> list[AlertEvent]:
        state, _ = self._state[machine]
        reason = self._reason.get(machine, "")
        out = []
        for rule in self.rules:
            if rule.when not in ("stop", "offline") or not self._applies(rule, machine):
                continue
            active = state in rule.stop_states() and (
                rule.reasons is None or reason in rule.reasons
            )
            detail = f"{state}:{reason}" if reason else state
            out += self._track(rule, machine).set(active, ts, detail)
        return out

    def _value(self, s: Sample) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        try:
            v = float(s.value)
        except (TypeError, ValueError):
            return out
        for rule in self.rules:
            if rule.when != "value_outside" or rule.signal != s.signal:
                continue
            if not self._applies(rule, s.machine):
                continue
            track = self._track(rule, s.machine)
            h = rule.hysteresis if track.active else 0.0
            low = rule.min is not None and v < rule.min + h
            high = rule.max is not None and v > rule.max - h
            out += track.set(low or high, s.ts, str(s.signal), v)
        return out

    def sources(self, states: dict[str, str], now: int) -> list[AlertEvent]:
        """The gateway's sources as /health shows them: not `connected` is degraded."""
        out = []
        for rule in self.rules:
            if rule.when != "source_degraded":
                continue
            for name, state in states.items():
                if rule.source in (None, name):
                    out += self._track(rule, name).set(state != "connected", now, state)
        return out

    def advance(self, now_of: Callable[[str], int | None]) -> list[AlertEvent]:
        """OEE rules checked at the moments passed, then every pair up to its subject's now."""
        out: list[AlertEvent] = []
        for rule in self.rules:
            if rule.when == "oee_below" and self._oee_at is not None:
                for m in rule.machines or list(self.site.machines):
                    now = now_of(m)
                    if now is not None:
                        out += self._oee(rule, m, now)
        for track in self._tracks.values():
            now = now_of(track.subject)
            if now is not None:
                out += track.advance(now)
        return out

    def _moments(self, rule: AlertRule, start: int, end: int) -> list[int]:
        """The rule's `at` times of day with start < moment <= end, in the site's zone."""
        tz = self.site.tz
        day = from_ms(start).astimezone(tz).date()
        last = from_ms(end).astimezone(tz).date()
        out = []
        while day <= last:
            for hhmm in rule.at:
                local = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tz)
                ms = int(local.timestamp() * 1000)
                if start < ms <= end:
                    out.append(ms)
            day += dt.timedelta(days=1)
        return sorted(out)

    def _oee(self, rule: AlertRule, machine: str, now: int) -> list[AlertEvent]:
        assert self._oee_at is not None
        key = (rule.name, machine)
        last = self._checked.get(key)
        self._checked[key] = now
        if last is None:
            return []  # the first call only marks where checking starts
        out = []
        target = rule.target or self.site.targets_for(machine)["oee"]
        track = self._track(rule, machine)
        for moment in self._moments(rule, last, now):
            shifts = self._cal.shifts(moment - 1, moment)
            if not shifts:
                out += track.set(False, moment)
                continue
            oee = self._oee_at(machine, shifts[0].start, moment)
            if oee is None:
                continue
            bar = target + (rule.hysteresis_pp / 100 if track.active else 0.0)
            out += track.set(oee < bar, moment, f"{target:.4f}", oee)
        return out
