"""S7 data-block addresses as TIA Portal and STEP 7 write them, and their values as the CPU
stores them (big-endian, the S7 byte order): `DB10.DBX0.1` a bit, `DB10.DBB2` a byte,
`DB10.DBW4` a word (INT unless typed), `DB10.DBD8:REAL` a double word (DINT unless typed),
`DB10.DBB20:STRING[16]` an S7 string (two header bytes, then the characters)."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Literal, cast

S7Type = Literal[
    "BOOL", "BYTE", "SINT", "USINT", "CHAR", "WORD", "INT", "UINT",
    "DWORD", "DINT", "UDINT", "REAL", "LREAL", "STRING",
]  # fmt: skip
_SIZE = {
    "BOOL": 1, "BYTE": 1, "SINT": 1, "USINT": 1, "CHAR": 1, "WORD": 2, "INT": 2, "UINT": 2,
    "DWORD": 4, "DINT": 4, "UDINT": 4, "REAL": 4, "LREAL": 8,
}  # fmt: skip
_STRUCT = {
    "BYTE": ">B", "USINT": ">B", "SINT": ">b", "WORD": ">H", "UINT": ">H", "INT": ">h",
    "DWORD": ">I", "UDINT": ">I", "DINT": ">i", "REAL": ">f", "LREAL": ">d",
}  # fmt: skip
#: The width letter and the types that fit it; the first is the default.
_WIDTH = {
    "X": ("BOOL",),
    "B": ("BYTE", "USINT", "SINT", "CHAR", "STRING"),
    "W": ("INT", "UINT", "WORD"),
    "D": ("DINT", "UDINT", "DWORD", "REAL"),
}
_RE = re.compile(
    r"^DB(?P<db>\d+)\.DB(?P<w>[XBWD])(?P<offset>\d+)(?:\.(?P<bit>[0-7]))?"
    r"(?::(?P<type>[A-Z]+)(?:\[(?P<len>\d+)\])?)?$"
)


class AddressError(ValueError):
    pass


@dataclass(frozen=True)
class Address:
    db: int
    offset: int  # byte offset in the data block
    type: S7Type
    bit: int | None = None
    length: int | None = None  # STRING: characters

    @property
    def size(self) -> int:
        """Bytes this value takes in the data block."""
        if self.type == "STRING":
            assert self.length is not None
            return self.length + 2
        return 8 if self.type == "LREAL" else _SIZE[self.type]

    def __str__(self) -> str:
        width = {1: "B", 2: "W", 4: "D"}.get(self.size, "B") if self.bit is None else "X"
        bit = "" if self.bit is None else f".{self.bit}"
        typ = f"[{self.length}]" if self.type == "STRING" else ""
        return f"DB{self.db}.DB{width}{self.offset}{bit}:{self.type}{typ}"


def parse_address(text: str) -> Address:
    m = _RE.match(text.strip().upper())
    if not m:
        raise AddressError(
            f'"{text}" is not a data-block address like DB10.DBW4, DB10.DBD8:REAL or DB10.DBX0.1 '
            "(markers and I/O are not read: copy them into a DB)"
        )
    width, bit = m.group("w"), m.group("bit")
    typ = m.group("type") or _WIDTH[width][0]
    if typ not in _WIDTH[width] and not (typ == "LREAL" and width == "B"):
        fits = ", ".join(_WIDTH[width])
        raise AddressError(f'"{text}": DB{width} holds {fits}, not {typ}')
    if (width == "X") != (bit is not None):
        raise AddressError(f'"{text}": a bit address is DBX<byte>.<bit>, and only DBX has a bit')
    length = int(m.group("len")) if m.group("len") else None
    if typ == "STRING" and not length:
        raise AddressError(f'"{text}": a STRING needs its length, e.g. :STRING[16]')
    if length is not None and not 1 <= length <= 254:
        raise AddressError(f'"{text}": an S7 STRING holds 1 to 254 characters')
    return Address(
        int(m.group("db")),
        int(m.group("offset")),
        cast(S7Type, typ),
        int(bit) if bit else None,
        length,
    )


def decode(addr: Address, data: bytes) -> bool | int | float | str:
    """The value at the start of ``data`` (the address's own bytes)."""
    if addr.type == "BOOL":
        assert addr.bit is not None
        return bool(data[0] >> addr.bit & 1)
    if addr.type == "CHAR":
        return data[:1].decode("latin-1")
    if addr.type == "STRING":
        used = min(data[1], data[0], len(data) - 2)
        return data[2 : 2 + used].decode("latin-1")
    value: int | float = struct.unpack(_STRUCT[addr.type], data[: addr.size])[0]
    return value


def encode(addr: Address, value: bool | int | float | str) -> bytes:
    """The bytes a CPU stores for ``value`` (the simulator's face writes with it)."""
    if addr.type == "BOOL":
        raise AddressError("bits are set in their byte, not encoded alone")
    if addr.type == "STRING":
        assert addr.length is not None
        raw = str(value).encode("latin-1", "replace")[: addr.length]
        return bytes([addr.length, len(raw)]) + raw.ljust(addr.length, b"\0")
    if addr.type == "CHAR":
        return str(value).encode("latin-1", "replace")[:1].ljust(1, b"\0")
    fmt = _STRUCT[addr.type]
    return struct.pack(fmt, float(value) if fmt[-1] in "fd" else int(value))
