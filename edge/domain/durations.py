"""Durations as people write them: ``90s``, ``14 min``, ``2h``, ``7d`` (or plain seconds)."""

from __future__ import annotations

import argparse
import re

_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>ms|s|sec|m|min|h|d)?")
_UNIT_MS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    None: 1000,
}


def parse_duration_ms(text: str) -> int:
    m = _DURATION.fullmatch(text.strip().lower())
    if not m:
        raise ValueError(f'"{text}" is not a duration like 90s, 14 min, 8h or 7d')
    return int(float(m["n"]) * _UNIT_MS[m["u"]])


def duration_arg(text: str) -> int:
    """argparse type for durations (``90s``, ``15m``, ``8h``, ``7d``), in milliseconds."""
    try:
        return parse_duration_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
