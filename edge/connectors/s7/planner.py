"""The read planner: neighbouring values of one data block merged into one read, gaps of up to
`max_gap` unused bytes read along, and no read longer than the connection's PDU allows. The
plan is logged at start so an engineer can see how many requests a poll costs."""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldlab.connectors.s7.address import Address


@dataclass
class Read:
    db: int
    start: int
    size: int
    keys: list[tuple[str, Address]] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"DB{self.db} bytes {self.start}–{self.start + self.size - 1} ({len(self.keys)} values)"
        )


def plan(values: dict[str, Address], max_gap: int = 16, max_bytes: int = 200) -> list[Read]:
    reads: list[Read] = []
    for db in sorted({a.db for a in values.values()}):
        current: Read | None = None
        for key, a in sorted(
            ((k, a) for k, a in values.items() if a.db == db), key=lambda kv: kv[1].offset
        ):
            end = a.offset + a.size
            if current is not None:
                gap = a.offset - (current.start + current.size)
                if gap <= max_gap and end - current.start <= max_bytes:
                    current.size = max(current.size, end - current.start)
                    current.keys.append((key, a))
                    continue
            current = Read(db, a.offset, a.size, [(key, a)])
            reads.append(current)
    return reads
