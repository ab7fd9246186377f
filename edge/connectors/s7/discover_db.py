"""Read a data-block range of an S7 CPU and show every offset in every type (BYTE, INT/UINT,
DINT/UDINT, REAL, and the bits of the byte), so the address and type of a value can be found by
eye; the line to copy is the address as the connector's config writes it."""

from __future__ import annotations

import asyncio

from fieldlab.connectors.s7.address import decode, parse_address


async def read_db(
    host: str,
    port: int,
    rack: int,
    slot: int,
    db: int,
    start: int,
    count: int,
    timeout: float = 3.0,
) -> bytes:
    from snap7 import AsyncClient
    from snap7.error import S7Error

    client = AsyncClient()
    try:
        await asyncio.wait_for(client.connect(host, rack, slot, port), timeout)
        data = b""
        room = max(client.pdu_length - 18, 16)
        for at in range(start, start + count, room):
            n = min(room, start + count - at)
            data += bytes(await asyncio.wait_for(client.db_read(db, at, n), timeout))
        return data
    except S7Error as exc:
        raise ConnectionError(f"{host}:{port} rack {rack} slot {slot}, DB{db}: {exc}") from None
    except TimeoutError:
        raise ConnectionError(f"no S7 CPU answers at {host}:{port} within {timeout:g} s") from None
    finally:
        if client.get_connected():
            await client.disconnect()


def decode_table(db: int, start: int, data: bytes) -> list[str]:
    """One line per byte offset: hex, BYTE, bits, and from there INT/UINT, DINT/UDINT, REAL."""
    head = (
        f"{'address':<14} {'hex':>4} {'byte':>4} {'bits 7..0':>9} {'INT':>7} {'UINT':>6} "
        f"{'DINT':>12} {'UDINT':>11} {'REAL':>14}"
    )
    lines = [head, "-" * len(head)]
    for i in range(len(data)):
        off = start + i
        b = data[i]
        cells = [f"DB{db}.DBB{off:<6}", f"{b:>#4x}", f"{b:>4}", f"{b:08b}".rjust(9)]
        if i + 2 <= len(data):
            w = data[i : i + 2]
            cells += [
                f"{decode(parse_address(f'DB{db}.DBW{off}'), w):>7}",
                f"{decode(parse_address(f'DB{db}.DBW{off}:UINT'), w):>6}",
            ]
        if i + 4 <= len(data):
            d = data[i : i + 4]
            real = decode(parse_address(f"DB{db}.DBD{off}:REAL"), d)
            cells += [
                f"{decode(parse_address(f'DB{db}.DBD{off}'), d):>12}",
                f"{decode(parse_address(f'DB{db}.DBD{off}:UDINT'), d):>11}",
                f"{real:>14.6g}",
            ]
        lines.append(" ".join(cells))
    return lines
