"""Decoding Modbus words ourselves: every type, every byte and word order.

Order letters name the value's bytes from most significant (A) down, as they appear in the
registers: ABCD big-endian, CDAB word-swapped (low word first, common in energy meters), BADC
byte-swapped, DCBA little-endian. pymodbus's own word_order reverses whole arrays
(REFERENCE.md), so it is not used.
"""

from __future__ import annotations

import struct
from typing import Literal

DataType = Literal[
    "INT16", "UINT16", "INT32", "UINT32", "INT64", "UINT64", "FLOAT32", "FLOAT64", "STRING", "BIT"
]
Order = Literal["ABCD", "CDAB", "BADC", "DCBA"]

WORDS: dict[str, int] = {
    "INT16": 1,
    "UINT16": 1,
    "BIT": 1,
    "INT32": 2,
    "UINT32": 2,
    "FLOAT32": 2,
    "INT64": 4,
    "UINT64": 4,
    "FLOAT64": 4,
}
_STRUCT = {
    "INT16": ">h",
    "UINT16": ">H",
    "INT32": ">i",
    "UINT32": ">I",
    "FLOAT32": ">f",
    "INT64": ">q",
    "UINT64": ">Q",
    "FLOAT64": ">d",
}


def to_bytes(words: list[int], order: Order) -> bytes:
    """Big-endian bytes of the value the words hold in the given order."""
    if order in ("CDAB", "DCBA"):
        words = list(reversed(words))
    raw = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in words)
    if order in ("BADC", "DCBA"):
        raw = b"".join(raw[i : i + 2][::-1] for i in range(0, len(raw), 2))
    return raw


def decode(
    words: list[int], dtype: DataType, order: Order = "ABCD", bit: int | None = None
) -> int | float | str | bool:
    if dtype == "STRING":
        raw = to_bytes(words, "BADC" if order in ("BADC", "DCBA") else "ABCD")
        return raw.split(b"\x00", 1)[0].decode("latin-1").strip()
    n = WORDS[dtype]
    if len(words) < n:
        raise ValueError(f"{dtype} needs {n} registers, got {len(words)}")
    if dtype == "BIT":
        return bool((words[0] >> (bit or 0)) & 1)
    # 16-bit values in a word-swapped order still keep their bytes: only BADC/DCBA swap them.
    value = struct.unpack(_STRUCT[dtype], to_bytes(words[:n], order))[0]
    return value


def encode(value: float | int, dtype: DataType, order: Order = "ABCD") -> list[int]:
    """The inverse of `decode` (tests and the discovery probe use it)."""
    raw = struct.pack(_STRUCT[dtype], value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if order in ("BADC", "DCBA"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    if order in ("CDAB", "DCBA"):
        words = list(reversed(words))
    return words
