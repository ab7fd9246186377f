"""The request planner: contiguous fields merged into as few reads as the protocol allows.

Up to 125 registers (2000 bits) per request, with gaps of up to ``max_gap`` unused registers
filled in, per unit and table. The plan is logged at start so an engineer can see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass(frozen=True)
class FieldRef:
    key: str  # the signal (or "__ts"/"__ts_ms" for timestamp registers)
    table: str  # holding | input | coil | discrete
    address: int  # 0-based
    size: int  # registers (or bits)


@dataclass
class Request:
    table: str
    address: int
    count: int
    fields: list[FieldRef] = field(default_factory=list)

    def describe(self) -> str:
        unit = "bits" if self.table in ("coil", "discrete") else "registers"
        return (
            f"{self.table} {self.address}–{self.address + self.count - 1} ({self.count} "
            f"{unit}, {len(self.fields)} fields)"
        )


def plan(fields: list[FieldRef], max_gap: int = 10) -> list[Request]:
    requests: list[Request] = []
    for table in ("holding", "input", "coil", "discrete"):
        limit = MAX_BITS if table in ("coil", "discrete") else MAX_REGISTERS
        current: Request | None = None
        for f in sorted((f for f in fields if f.table == table), key=lambda f: f.address):
            end = f.address + f.size
            if current is not None:
                gap = f.address - (current.address + current.count)
                if gap <= max_gap and end - current.address <= limit:
                    current.count = max(current.count, end - current.address)
                    current.fields.append(f)
                    continue
            current = Request(table, f.address, f.size, [f])
            requests.append(current)
    return requests
