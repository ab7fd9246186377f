"""The one interface every connector implements, and what the gateway hands it.

A connector module (like a Telegraf plugin) holds its config model (`Config`, with a `type`
literal), its reader (`create(config, site, data_dir) -> Connector`; relative paths such as
certificate folders are under `data_dir`), and a sample config in its docstring. It sends what
it reads through its `ConnectorContext`; it never knows the pipeline, the sinks or the other
connectors.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from fieldlab.domain.rejected import Rejected, RejectionThrottle
from fieldlab.domain.samples import Sample


class Emit(Protocol):
    """Where a context hands what its connector read: the gateway (gateway/batch.py)."""

    def __call__(
        self,
        samples: list[Sample],
        rejected: list[Rejected],
        /,
        *,
        source: str,
        now: int | None = None,
        on_commit: Callable[[], None] | None = None,
        keeps_time: bool = False,
        in_order: bool = False,
        resent: bool = False,
        gateway: bool = False,
    ) -> Awaitable[None]: ...


class SourceState(StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass
class SourceHealth:
    """What /health and /metrics say about one connector. Connectors do not write it: they
    report events to their ConnectorContext (`send`, `error`, `failed`, `lost`, `back`), which
    keeps it."""

    name: str
    type: str
    state: SourceState = SourceState.STARTING
    samples: int = 0
    rejected: int = 0
    #: of those, repeats not (yet) kept as records of their own (domain.md §10)
    rejected_repeats: int = 0
    errors: int = 0
    reconnects: int = 0
    last_error: str = ""
    last_sample_wall: float | None = None
    machines_offline: set[str] = field(default_factory=set)
    #: what a protocol counts of its own (a Sparkplug host: seq gaps, data before a birth)
    events: collections.Counter[str] = field(default_factory=collections.Counter)
    _detail: str = ""

    def set_state(self, state: SourceState, log: logging.Logger, detail: str = "") -> None:
        """One log line per connector state change (or change of reason), never per sample."""
        if state != self.state or detail != self._detail:
            self.state = state
            self._detail = detail
            log.warning("%s: %s%s", self.name, state.value, f" ({detail})" if detail else "")


#: macOS 15 asks before an app may reach the local network; until it is allowed (or after it
#: was refused, or when the prompt never showed for a terminal) a PLC on the LAN is "No route
#: to host" (EHOSTUNREACH, errno 65 there), which says nothing about where to look.
LOCAL_NETWORK_HINT = (
    " (macOS: allow Local Network access for this terminal or Python in System Settings > "
    "Privacy & Security > Local Network)"
)


def with_hint(why: str) -> str:
    """A connection error as reported, with where to look when the OS is the cause."""
    if sys.platform == "darwin" and ("No route to host" in why or "Errno 65" in why):
        return why + LOCAL_NETWORK_HINT
    return why


class SourceClock:
    """The source's notion of now, for stamping `offline` when a source goes silent.

    Sources may run in simulated time (our simulators) or on a skewed PLC clock: the gateway
    follows the source's own timestamps and their rate against the wall clock."""

    def __init__(self) -> None:
        self._anchor: tuple[float, int] | None = None  # (wall s, source ms)
        self._rate = 1.0
        self.last_ts: int | None = None
        #: the source's clock is off (domain.md §9): the gateway's clock stands in for it
        self.off = False

    def set_off(self, off: bool) -> None:
        if off != self.off:
            self.off = off
            self._anchor, self._rate = None, 1.0
            if off:
                self.last_ts = int(time.time() * 1000)

    def observe(self, ts: int, wall: float | None = None) -> None:
        """A time the source stamped just now (a live change, a read's time, the server's
        clock). A value stamped with its last change (a state unchanged for an hour) says
        nothing about the source's now: times not newer than the newest seen are ignored, so
        connectors observe the source's clock first when they read current values."""
        if self.off:
            ts = int(time.time() * 1000)
        if self.last_ts is not None and ts <= self.last_ts:
            return
        wall = time.monotonic() if wall is None else wall
        if self._anchor is not None and wall - self._anchor[0] >= 2.0:
            rate = (ts - self._anchor[1]) / 1000 / (wall - self._anchor[0])
            if 0.01 <= rate <= 100_000:
                self._rate = rate
            self._anchor = (wall, ts)
        elif self._anchor is None:
            self._anchor = (wall, ts)
        self.last_ts = ts

    def now(self, wall: float | None = None) -> int:
        wall = time.monotonic() if wall is None else wall
        if self._anchor is None:
            return int(time.time() * 1000)
        estimate = self._anchor[1] + int((wall - self._anchor[0]) * 1000 * self._rate)
        return max(estimate, (self.last_ts or 0) + 1)


class Backoff:
    """Capped exponential backoff: 0.25, 0.5, 1, 2, 2, … seconds. A device that returns is read
    again within the cap (REFERENCE.md: never give up, never hammer)."""

    def __init__(self, first: float = 0.25, cap: float = 2.0):
        self.first, self.cap = first, cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self.cap, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


@dataclass
class ConnectorContext:
    name: str
    emit: Emit
    health: SourceHealth
    log: logging.Logger
    clock: SourceClock = field(default_factory=SourceClock)
    #: The connection's backoff: the gateway's, one rule for every connector. `retry` waits
    #: it out after `failed`; `back` with the source up resets it.
    backoff: Backoff = field(default_factory=Backoff)
    #: domain.md §10: the same rejection again and again is kept once an hour, with a count
    rejections: RejectionThrottle = field(default_factory=RejectionThrottle)

    async def send(
        self,
        samples: list[Sample],
        rejected: list[Rejected] | None = None,
        *,
        now: int | None = None,
        on_commit: Callable[[], None] | None = None,
        keeps_time: bool = False,
        in_order: bool = False,
        resent: bool = False,
    ) -> None:
        """Samples and rejections read from the source: counted, then emitted. ``now`` is the
        source's time when it read them (domain.md §3); ``on_commit`` runs once they are
        committed (MQTT acknowledges then); ``keeps_time`` for values a source replays in order
        (an MQTT persistent session), which keep their time after an `offline`; ``in_order``
        when the source's order is each series' order, ``resent`` for what it sends again
        (gateway/batch.py)."""
        rejected = rejected or []
        if not samples and not rejected and on_commit is None:
            return
        kept = self.tally(len(samples), rejected)
        await self.emit(
            samples,
            kept,
            source=self.name,
            now=now,
            on_commit=on_commit,
            keeps_time=keeps_time,
            in_order=in_order,
            resent=resent,
        )

    def tally(self, n: int, rejected: list[Rejected]) -> list[Rejected]:
        """Count ``n`` samples and the rejections on /health; the rejections to keep (a repeat
        is kept once an hour with its count, domain.md §10)."""
        self.health.samples += n
        if rejected:
            self.health.rejected += sum(1 + r.repeats for r in rejected)
            rejected = self.rejections.keep(rejected)
            self.health.rejected_repeats = self.rejections.repeats
        if n:
            self.health.last_sample_wall = time.time()
        return rejected

    async def flush_rejected(self) -> None:
        """Keep the repeats still counted (at a stop), so the records add up to every one."""
        kept = self.rejections.flush()
        self.health.rejected_repeats = 0
        if kept:
            await self.emit([], kept, source=self.name)

    def count(self, event: str, n: int = 1) -> None:
        """Something of the protocol's worth counting on /health (`events`)."""
        self.health.events[event] += n

    def error(self, why: str) -> None:
        """A failure that did not cost the connection (an exception reply, a refused login)."""
        self.health.errors += 1
        self.health.last_error = with_hint(why)

    async def failed(self, machines: list[str], why: str) -> None:
        """The connection failed or was lost: counted (a reconnect if it was up), the
        machines written `offline` and the source marked reconnecting."""
        if self.health.state == SourceState.CONNECTED:
            self.health.reconnects += 1
        self.error(why)
        await self.lost(machines, why)

    async def retry(self, at_least: float = 0.0) -> float:
        """Wait before connecting again (after `failed` or `lost`): never give up, never hammer.
        ``at_least`` for failures only a person can fix (an untrusted certificate). Returns the
        wait, for the log and tests."""
        delay = max(at_least, self.backoff.next())
        await asyncio.sleep(delay)
        return delay

    async def lost(self, machines: list[str], why: str, *, source_down: bool = True) -> None:
        """Machines gone from view: write `offline` at the source's now (once per gap)."""
        fresh = [m for m in machines if m not in self.health.machines_offline]
        self.health.machines_offline.update(machines)
        if fresh and self.clock.last_ts is not None:
            # Nothing observed yet means nothing to close: before its first state sample a
            # machine counts as offline anyway, and the source's time base is still unknown.
            ts = self.clock.now()
            offline = [Sample(ts, m, "state", "offline") for m in fresh]
            await self.emit(offline, [], source=self.name, gateway=True)
            if not source_down:
                self.log.warning("%s: %s offline (%s)", self.name, ", ".join(fresh), why)
        if source_down:
            self.health.set_state(SourceState.RECONNECTING, self.log, with_hint(why))

    def gone(self, machines: list[str]) -> None:
        """Machines the connector wrote `offline` for itself, at a time the source gave (a
        Sparkplug death): offline from now on, so the gateway writes no second one."""
        self.health.machines_offline.update(machines)

    def back(self, machines: list[str], *, source_up: bool = True) -> None:
        returning = [m for m in machines if m in self.health.machines_offline]
        self.health.machines_offline.difference_update(machines)
        if returning and not source_up:
            self.log.warning("%s: %s back", self.name, ", ".join(returning))
        if source_up:
            self.backoff.reset()
            self.health.set_state(SourceState.CONNECTED, self.log)


class Connector(Protocol):
    name: str
    url: str  # where it reads, for /health (redacted there)
    machines: list[str]
    #: its values carry a clock of the source's (OPC UA SourceTimestamp, a Modbus/S7 device's
    #: time registers, an MQTT payload's `ts`), not the gateway's: a step of the gateway's
    #: clock does not move them (domain.md §9)
    own_clock: bool
    #: each value carries the time it last *changed* (OPC UA SourceTimestamp), so one older
    #: than a gap held through it (domain.md §3); a read time (a device's time registers) or a
    #: retained MQTT message (its publisher may be long gone) says no such thing
    change_times: bool

    async def run(self, ctx: ConnectorContext) -> None:
        """Read until cancelled; reconnects by itself and reports events through ctx."""

    async def close(self) -> None:
        """After the gateway committed everything (MQTT sends its last acknowledgements)."""
