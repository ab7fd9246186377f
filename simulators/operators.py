"""Simulated operators (#29): the people at a machine's terminal. They watch what the machine
does and enter what a machine cannot say: the production order (its number and target when a
changeover begins, so the changeover belongs to the order it prepares), scrap found at the end
of an order, and why the machine stands still, some time after it stopped and not always right.

An operator is a separate actor with its own seeded generator: adding one changes no value the
machine produces. What it enters is a sample like any other (domain.md §2) and goes to the truth
log; the runner publishes it on the terminals' topics, not on the machine's faces, as a tablet
at the machine would."""

from __future__ import annotations

import heapq
import random
import zlib
from dataclasses import dataclass, field

from fieldlab.domain.samples import Sample
from fieldlab.simulators.scenario import Operator

#: signals only a person enters (the machine's own `reason` codes stay the machine's)
ENTERED = frozenset({"order", "order_target", "scrap_entry"})
#: states an operator is asked about (a changeover is said by the machine; a break is planned)
ASKED = frozenset({"idle", "starved", "blocked", "fault"})


@dataclass
class OperatorModel:
    machine: str
    spec: Operator
    reasons: list[str]  # the site's list, where a wrong answer comes from
    orders: list[tuple[str, int]]  # (product, quantity), as the machine runs them, in a cycle
    numbers: list[str]  # the scenario's order numbers, in order; beyond them the operator makes one
    quality: bool  # the machine counts good units (else every unit counts as good)
    seed: int
    _rng: random.Random = field(init=False)
    _pending: list[tuple[int, int, str, object]] = field(init=False, default_factory=list)
    _n: int = field(init=False, default=0)  # orders started so far
    _stop: int | None = field(init=False, default=None)  # start of the stop being watched
    _good: int | None = field(init=False, default=None)
    _good_at_start: int | None = field(init=False, default=None)
    _seq: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        salt = zlib.crc32(self.machine.encode())
        self._rng = random.Random(self.seed * 13_000_003 + salt)

    def observe(self, samples: list[Sample], until: int) -> list[Sample]:
        """The machine's samples up to ``until`` (time order) in, what the operator entered by
        then out (time order): a reason is entered only while the stop it explains still goes
        on, so it falls in that stop's episode (domain.md §2)."""
        out: list[Sample] = []
        for s in samples:
            self._release(s.ts, out, inclusive=False)
            self._see(s)
        self._release(until, out, inclusive=True)
        return out

    # -- what the operator sees -----------------------------------------------------------------

    def _see(self, s: Sample) -> None:
        if self._n == 0:
            self._start_order(s.ts)  # the first order runs from the start
        if s.signal == ("count_good" if self.quality else "count_total"):
            self._good = int(s.value)
            if self._good_at_start is None:
                self._good_at_start = self._good
        elif s.signal == "state":
            state = str(s.value)
            self._drop_reasons()  # the stop it was about is over
            self._stop = s.ts if state in ASKED else None
            if self._stop is not None and self._rng.random() < self.spec.explain_share:
                self._push(s.ts + int(self.spec.explain_after_s * 1000), "reason", state)
        elif s.signal == "reason" and s.value == "changeover":
            # the changeover begins the instant the order's last unit is counted: that unit is
            # the old order's, the changeover the new one's (it prepares it)
            self._end_order(s.ts)
            self._start_order(s.ts + 1)
        elif s.signal == "reason" and s.value and s.ts == self._stop:
            self._drop_reasons()  # the machine said why itself (a fault code): nobody has to

    # -- what the operator enters ---------------------------------------------------------------

    def _start_order(self, ts: int) -> None:
        k = self._n % len(self.orders) if self.orders else 0
        number = self.numbers[self._n] if self._n < len(self.numbers) else ""
        self._n += 1
        self._good_at_start = self._good
        if not self.spec.orders:
            return
        quantity = self.orders[k][1] if self.orders else 0
        if quantity:
            self._push(ts, "order_target", quantity)
        self._push(ts, "order", number or f"{self.machine.upper()}-{self._n:03d}")

    def _end_order(self, ts: int) -> None:
        """Inspection at the order's end finds some good units bad: a scrap entry before the
        next order begins, so it counts against the order that made them."""
        made = (self._good or 0) - (self._good_at_start or 0)
        if self.spec.inspect_scrap > 0 and made > 0:
            found = sum(self._rng.random() < self.spec.inspect_scrap for _ in range(made))
            if found:
                self._push(ts, "scrap_entry", found)

    def _answer(self, state: str) -> str:
        """The reason the operator gives: the right one for the state with the operator's
        accuracy, else another from the site's list."""
        right = self.spec.reasons.get(state, "")
        if right and self._rng.random() < self.spec.accuracy:
            return right
        wrong = [r for r in self.reasons if r not in (right, "changeover")]
        return self._rng.choice(wrong) if wrong else right

    def _push(self, ts: int, signal: str, value: object) -> None:
        self._seq += 1
        heapq.heappush(self._pending, (ts, self._seq, signal, value))

    def _drop_reasons(self) -> None:
        self._pending = [p for p in self._pending if p[2] != "reason"]
        heapq.heapify(self._pending)

    def _release(self, t: int, out: list[Sample], inclusive: bool) -> None:
        while self._pending and (
            self._pending[0][0] <= t if inclusive else self._pending[0][0] < t
        ):
            ts, _, signal, value = heapq.heappop(self._pending)
            if signal == "reason":
                value = self._answer(str(value))  # decided when said, in time order
            out.append(Sample(ts, self.machine, signal, value))  # type: ignore[arg-type]
