"""Time in one place (domain.md §3 and §9): contact, gaps, clocks and the order of a series.

Every batch a connector emits passes `ContactGuard.stamp` on its way to the pipeline, and every
`offline` the gateway writes passes `ContactGuard.offline`, so no connector has to remember these
rules:

- **Contact returns now.** A PLC stamps a value with the time it last *changed*. Once the
  gateway has written `offline` at ``O``, the first batch carrying the machine sets the contact
  instant ``C`` = the source's time when it read the values (`Batch.now`), never before ``O``;
  a later sample older than ``C`` is written at ``C``.
- **Held through the gap.** A value from a source that stamps values with their change time
  (OPC UA SourceTimestamp; `Connector.change_times`) whose time is before ``O`` did not change
  during the gap: it is written at ``O``, replacing the `offline`, so a restart or a network
  cut beside a machine that ran on unchanged costs it nothing.
- **Time runs forward in a series.** A live value whose time is not after the newest of its
  series is written 1 ms after it (`clock_behind`, counted per source); the same value at the
  same instant again is a re-delivery and dropped. Samples a buffering source replays in order
  (`Batch.keeps_time`: MQTT's persistent session, Sparkplug) keep their time; where the
  source's order is each series' order (`Batch.in_order`: an MQTT subscription read by one
  process) the same rule holds for them, so a publisher whose clock steps back makes no
  counter reading look older than the one before it.
- **The gateway's clock is behind what it wrote** (a clock stepped back, a Raspberry Pi booted
  with the time it last saved): values of a gateway-stamped source older than the machine's
  ``O`` are held back, not written, until its clock passes ``O``; then the machine's current
  values are written at that instant (`release`). Counters are cumulative: no unit is lost.
- **A clock step** (`gap`, from the gateway's clock watch) closes the machines of
  gateway-stamped sources with `offline` 1 ms after their newest sample, and writes their
  current values again at the new instant (forward) or once the clock has passed it (backward).
- **A source clock that is off.** A source whose clock is more than ``max_skew_ms`` from the
  gateway's at contact is stamped by the gateway's clock until it agrees again. Sources whose
  values keep their time (MQTT, Sparkplug) show their clock in every live batch: a value
  further ahead of the gateway's clock than that is no replay, so the clock is off; one
  within it agrees; one far behind says nothing (a persistent session's backlog looks so).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fieldlab.domain.samples import Sample, Value
from fieldlab.gateway.batch import Batch

log = logging.getLogger("fieldlab.gateway")

#: Signals that are events, not values that hold: never written again after a gap.
_EVENTS = frozenset({"reason", "scrap_entry"})


@dataclass
class SourceClockStatus:
    """What /health, /metrics and the data-quality page say of one source's clock."""

    offset_ms: int | None = None  # source time − gateway time, last measured (contact, live)
    skewed: bool = False
    behind: int = 0  # live values not after their series' newest (§9 `clock_behind`)
    #: the skew was seen in the source's own live values: only they can say it agrees again
    #: (the time a connector gives at contact is then the gateway's own)
    live: bool = False


@dataclass
class _Machine:
    series: dict[str, tuple[int, Value]] = field(default_factory=dict)  # signal → newest
    floor: int | None = None  # newest `offline` the gateway wrote
    contact: int | None = None  # instant contact returned after it
    held: dict[str, Value] | None = None  # values held back while the clock is behind
    #: signal → newest written of the values that came in the series' order (`in_order`);
    #: apart from `series`, which also holds what was written at contact and the `offline`s
    ordered: dict[str, tuple[int, Value]] = field(default_factory=dict)

    @property
    def newest(self) -> int | None:
        return max((ts for ts, _ in self.series.values()), default=None)


class ContactGuard:
    def __init__(
        self,
        gateway_clocked: Iterable[str] = (),
        change_times: Iterable[str] = (),
        max_skew_ms: int | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        #: sources whose values carry the gateway's clock (no clock of their own)
        self.gateway_clocked = set(gateway_clocked)
        #: sources whose values carry the time they last changed (OPC UA SourceTimestamp)
        self.change_times = set(change_times)
        self.max_skew_ms = max_skew_ms
        self.clocks: dict[str, SourceClockStatus] = collections.defaultdict(SourceClockStatus)
        #: (source, what, offset ms) when a source's clock goes off or comes back: the
        #: gateway keeps them as data-quality records
        self.skew_changes: list[tuple[str, bool, int]] = []
        self._wall = wall
        self._m: dict[str, _Machine] = collections.defaultdict(_Machine)

    # -- what the gateway tells it -------------------------------------------------------------

    def seed(self, latest: Iterable[Sample]) -> None:
        """The newest sample of every series in the store, at start."""
        for s in latest:
            m = self._m[s.machine]
            old = m.series.get(s.signal)
            if old is None or s.ts >= old[0]:
                m.series[s.signal] = (s.ts, s.value)

    def offline(self, samples: Iterable[Sample]) -> None:
        """Note the gateway's own `offline` samples: contact has to return after each."""
        for s in samples:
            if s.signal == "state" and s.value == "offline":
                m = self._m[s.machine]
                if m.floor is None or s.ts >= m.floor:
                    m.floor = s.ts
                m.contact = None
                old = m.series.get("state")
                if old is None or s.ts >= old[0]:
                    m.series["state"] = (s.ts, s.value)

    def contact_at(self, machine: str) -> int | None:
        """The instant contact returned after the last `offline`, once it has."""
        m = self._m.get(machine)
        return None if m is None else m.contact

    def newest(self, machine: str) -> int | None:
        m = self._m.get(machine)
        return None if m is None else m.newest

    # -- batches -------------------------------------------------------------------------------

    def stamp(self, batch: Batch) -> Batch:
        if batch.gateway:
            self.offline(batch.samples)
            return batch
        restamped = False
        if batch.keeps_time:
            if not self._live_clock(batch):
                if batch.source in self.change_times and batch.samples:
                    # a source that writes its own `offline` (a Sparkplug death): a gap too
                    self.offline([s for s in batch.samples if s.signal == "state"])
                if batch.in_order:
                    batch.samples = self._forward(batch)
                return batch
            # its clock is off: written as any value stamped by the gateway's clock (its own
            # `offline` too, noted below at the instant it is written)
            batch.keeps_time = batch.in_order = False
            restamped = True
        samples = batch.unpack()
        if not samples:
            return batch
        source = batch.source
        wall = int(self._wall() * 1000)
        gateway_clock = source in self.gateway_clocked
        held_through = source in self.change_times
        clock = self.clocks[source]
        if not gateway_clock:
            # a time the connector gave cannot clear a skew the source's live values showed
            if (
                not (clock.live and clock.skewed)
                and batch.now is not None
                and (clock.offset_ms is None or self._contact_in(samples))
            ):
                self._measure(source, clock, batch.now - wall)
            if clock.skewed:  # §9: numbers a poll late beat numbers in a wrong hour
                samples = [Sample(wall, s.machine, s.signal, s.value) for s in samples]
                batch.now, gateway_clock, held_through = wall, True, False
        out: list[Sample] = []
        released: set[str] = set()
        for s in samples:
            m = self._m[s.machine]
            ts = s.ts
            if m.floor is not None and m.contact is None:
                if gateway_clock and ts <= m.floor:
                    # the gateway's clock is behind what it wrote: hold the value back
                    if s.signal not in _EVENTS:
                        if m.held is None:
                            m.held = {}
                        m.held[s.signal] = s.value
                    continue
                now = batch.now
                if now is None:  # the source did not say: its newest value for the machine
                    now = max(x.ts for x in samples if x.machine == s.machine)
                m.contact = max(m.floor, now)
                if m.held is not None:
                    released.add(s.machine)
            if m.contact is not None and ts < m.contact:
                ts = m.floor if (held_through and m.floor and ts < m.floor) else m.contact
            if restamped and (prior := m.ordered.get(s.signal)) is not None and ts <= prior[0]:
                # its own times, written while they agreed, may lie ahead of ours (up to the
                # limit): ours go on after them, or a counter would look reset
                ts = prior[0] + 1
            last = m.series.get(s.signal)
            if last is not None and ts <= last[0]:
                if ts == last[0] and s.value == last[1]:
                    continue  # the same value at the same instant: a re-delivery
                if not (ts == last[0] and last[1] == "offline"):  # else it replaces `offline`
                    ts = last[0] + 1
                    clock.behind += 1
            m.series[s.signal] = (ts, s.value)
            out.append(s if ts == s.ts else Sample(ts, s.machine, s.signal, s.value))
        for name in released:
            out += self._current(name, self._m[name].contact or wall, skip=out)
        if restamped:  # in order: once its clock agrees, its own times go on after these
            for s in out:
                self._m[s.machine].ordered[s.signal] = (s.ts, s.value)
            if source in self.change_times:
                self.offline(out)
        batch.samples = out
        return batch

    def _live_clock(self, batch: Batch) -> bool:
        """Whether a batch of values that keep their time must be stamped by the gateway's
        clock (domain.md §9), measured by its newest value: further ahead of the gateway's clock
        than ``max_skew_ms`` (a PLC gateway publishing local time as UTC) is a clock that is
        off, since no replay comes from the future; within it, the clock agrees; further
        behind says nothing, as a persistent session's backlog is old by the time it comes."""
        if self.max_skew_ms is None or batch.from_worker() or not batch.samples:
            return False  # a worker's values may be in a sink's queue already, as they came
        newest = max(s.ts for s in batch.samples)
        clock = self.clocks[batch.source]
        offset = newest - int(self._wall() * 1000)
        if offset >= -self.max_skew_ms:  # ahead of ours, or within the limit
            self._measure(batch.source, clock, offset, live=True)
        # a skew found at contact only (by a time the connector estimated) leaves these alone
        return clock.live and clock.skewed

    def _forward(self, batch: Batch) -> list[Sample]:
        """Time runs forward in each series of a source whose order is the series' order
        (`Batch.in_order`, domain.md §9): a value not after its series' newest is written 1 ms
        after it (`clock_behind`: a publisher whose clock stepped back, which must not make a
        counter's later reading look older and so a reset); the same value at the same
        instant, or one the broker re-sent (`resent`), was written before and is dropped. Only
        the values that came in order count as the newest: a replay from before the gateway's
        own `offline`, or before a retained value written at the instant contact returned,
        keeps its time (§3)."""
        clock = self.clocks[batch.source]
        machines = self._m
        out: list[Sample] = []
        for s in batch.unpack():
            if s.signal in _EVENTS:  # a reason may explain an earlier stop: its time is its own
                out.append(s)
                continue
            ordered = machines[s.machine].ordered
            last = ordered.get(s.signal)
            if last is None or s.ts > last[0]:
                ordered[s.signal] = (s.ts, s.value)
                out.append(s)
            elif batch.resent or (s.ts == last[0] and s.value == last[1]):
                continue
            else:
                ts = last[0] + 1
                clock.behind += 1
                ordered[s.signal] = (ts, s.value)
                out.append(Sample(ts, s.machine, s.signal, s.value))
        return out

    def _contact_in(self, samples: list[Sample]) -> bool:
        return any(
            (m := self._m.get(s.machine)) is not None and m.floor is not None and m.contact is None
            for s in samples
        )

    def _measure(
        self, source: str, clock: SourceClockStatus, offset: int, live: bool = False
    ) -> None:
        clock.offset_ms, clock.live = offset, live
        if self.max_skew_ms is None:
            return
        skewed = abs(offset) > self.max_skew_ms
        if skewed != clock.skewed:
            clock.skewed = skewed
            self.skew_changes.append((source, skewed, offset))
            if skewed:
                log.warning(
                    "%s: its clock is %+.0f s from the gateway's (more than %.0f s): its values "
                    "are stamped with the gateway's clock until it agrees (domain.md §9)",
                    source,
                    offset / 1000,
                    self.max_skew_ms / 1000,
                )
            else:
                log.warning("%s: its clock agrees with the gateway's again", source)

    # -- clock steps ---------------------------------------------------------------------------

    def gap(self, machines: Iterable[str], now: int) -> tuple[list[Sample], list[Sample]]:
        """The gateway's clock stepped to ``now``: `offline` 1 ms after each machine's newest
        sample, and (if ``now`` is past it) the current values at ``now``; otherwise they wait
        for `release`. Returns (offline samples, values)."""
        offline: list[Sample] = []
        values: list[Sample] = []
        for name in machines:
            m = self._m.get(name)
            newest = None if m is None else m.newest
            if m is None or newest is None:
                continue
            if m.series.get("state", (0, None))[1] == "offline" and m.contact is None:
                continue  # already out of contact: its gap is open
            o = Sample(newest + 1, name, "state", "offline")
            offline.append(o)
            current = {sig: v for sig, (_, v) in m.series.items() if sig not in _EVENTS}
            self.offline([o])
            m.held = {k: v for k, v in current.items() if not (k == "state" and v == "offline")}
            if now > o.ts:
                values += self.release(now, only=name)
        return offline, values

    def release(self, now: int, only: str | None = None) -> list[Sample]:
        """Machines whose values were held back while the clock was behind, once ``now`` has
        passed their `offline`: contact returns, their current values are written at ``now``."""
        out: list[Sample] = []
        for name, m in self._m.items():
            if only is not None and name != only:
                continue
            if m.held is None or m.floor is None or m.contact is not None or now <= m.floor:
                continue
            m.contact = now
            out += self._current(name, now)
        return out

    def _current(self, name: str, ts: int, skip: Iterable[Sample] = ()) -> list[Sample]:
        m = self._m[name]
        held, m.held = m.held or {}, None
        written = {s.signal for s in skip if s.machine == name}
        out = []
        for sig, (last_ts, value) in list(m.series.items()):
            if sig in _EVENTS or sig in written:
                continue
            value = held.pop(sig, value)
            if sig == "state" and value == "offline":
                continue
            at = ts if ts > last_ts else last_ts + 1
            m.series[sig] = (at, value)
            out.append(Sample(at, name, sig, value))
        for sig, value in held.items():
            if sig not in written:
                m.series[sig] = (ts, value)
                out.append(Sample(ts, name, sig, value))
        return out
