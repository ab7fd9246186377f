"""The line between the gateway and its worker processes: frames over a loopback connection.

A frame is a 4-byte length and a pickled tuple whose first item says what it is. asyncio streams
on both ends, over TCP on 127.0.0.1, work the same on Linux, macOS and Windows (a pipe cannot be
awaited on Windows). Only a peer that first sends the gateway's random token is read at all, so
nothing else on the machine can hand the gateway a pickle.

Worker → gateway: ("connected", source, session_present), ("lost", source, kind, why),
("batch", source, batch_id | None, keeps_time, packed, rejected, held), ("closed", source),
("sinks", {sink name: its queue's stats}).
Gateway → worker: ("ack", source, batch_id), ("close", source), ("stop",).
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from typing import Any

HEADER = struct.Struct("!I")
TOKEN_BYTES = 32
#: the greeting: the token and the worker's index
HELLO = struct.Struct(f"!{TOKEN_BYTES}sI")


async def read(reader: asyncio.StreamReader) -> tuple[Any, ...]:
    """The next frame; asyncio.IncompleteReadError at the end of the line."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    frame: tuple[Any, ...] = pickle.loads(await reader.readexactly(size))
    return frame


def write(writer: asyncio.StreamWriter, frame: tuple[Any, ...]) -> None:
    body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(HEADER.pack(len(body)) + body)
