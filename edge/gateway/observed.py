"""Until when each machine was observed, kept in a small file beside the gateway's queues.

A machine that holds its state and counts (idle for an hour, a deadband that filters every
process value) produces no samples while the gateway watches it. After a crash the store's last
sample would then put the start of the gap an hour too early. Every few seconds the gateway
writes here, per machine it is in contact with, the source's time of that moment; at the next
start the gap closes from the later of this and the last sample (domain.md §3). It is also the
gateway's memory of which machines it answered for: one learned from an MQTT topic is not in
the config, and without the file a restart would not close its gap. The file is the gateway's
own and only it reads it; losing it loses only that precision and that memory.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


class ObservedFile:
    def __init__(self, path: Path):
        self.path = path

    def read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(m): int(ts) for m, ts in data.get("observed_until", {}).items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def write(self, observed: dict[str, int]) -> None:
        """Replace the file atomically: a crash mid-write leaves the previous one."""
        tmp = self.path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"observed_until": observed}), encoding="utf-8")
            os.replace(tmp, self.path)
