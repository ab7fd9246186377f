"""When contact returns, the state is now (DOMAIN.md §3), in one place for every connector.

A PLC stamps a value with the time it last *changed*. After a reconnect or a gateway start, a
machine that has run steadily for an hour reports a state an hour old; written with that time it
would land before the `offline` that closed the gap, and the machine would read `offline` until
its state next changes. Every batch a connector emits passes through `ContactGuard.stamp` on its
way to the pipeline, and every `offline` the gateway writes through `ContactGuard.offline`, so no
connector has to remember the rule.

The rule, per machine: once the gateway has written `offline` at ``O``, the first batch carrying
the machine sets the contact instant ``C`` = the source's time when it read the values
(`Batch.now`: the OPC UA server's CurrentTime, the Modbus time registers, the gateway's clock);
every later sample older than ``C`` is written at ``C``. ``C`` is never before ``O``; when the
source's clock has not moved past ``O`` (a simulator paused while the gateway connected, a
restart within the same millisecond) ``C = O`` and the state read replaces the `offline` at the
same instant, as it should: there was no gap. Samples replayed in order by a buffering source
(`Batch.keeps_time`: MQTT's persistent session) keep their own time.
"""

from __future__ import annotations

from collections.abc import Iterable

from fieldlab.connectors.base import Batch
from fieldlab.domain.samples import Sample


class ContactGuard:
    def __init__(self) -> None:
        self._floor: dict[str, int] = {}  # machine → newest `offline` the gateway wrote
        self._contact: dict[str, int] = {}  # machine → instant contact returned

    def offline(self, samples: Iterable[Sample]) -> None:
        """Note the gateway's own `offline` samples: contact has to return after each."""
        for s in samples:
            if s.signal == "state" and s.value == "offline":
                if s.ts >= self._floor.get(s.machine, s.ts):
                    self._floor[s.machine] = s.ts
                self._contact.pop(s.machine, None)

    def contact_at(self, machine: str) -> int | None:
        """The instant contact returned after the last `offline`, once it has."""
        return self._contact.get(machine)

    def stamp(self, batch: Batch) -> Batch:
        if batch.gateway:
            self.offline(batch.samples)
            return batch
        if not self._floor or batch.keeps_time:
            return batch
        batch.unpack()
        floor, contact = self._floor, self._contact
        out: list[Sample] | None = None
        for i, s in enumerate(batch.samples):
            if s.machine not in floor:
                continue
            c = contact.get(s.machine)
            if c is None:
                c = self._returned(s.machine, batch)
            if s.ts < c:
                if out is None:
                    out = list(batch.samples)
                out[i] = Sample(c, s.machine, s.signal, s.value)
        if out is not None:
            batch.samples = out
        return batch

    def _returned(self, machine: str, batch: Batch) -> int:
        now = batch.now
        if now is None:  # the source did not say: its newest value for the machine
            now = max(s.ts for s in batch.samples if s.machine == machine)
        c = max(self._floor[machine], now)
        self._contact[machine] = c
        return c
