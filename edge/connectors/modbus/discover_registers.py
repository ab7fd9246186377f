"""Read a register range and show every register pair in every type and byte order, so the
right interpretation can be recognised by eye (the word-order problem, made visible)."""

from __future__ import annotations

from pymodbus.client import AsyncModbusTcpClient

from fieldlab.connectors.modbus.codec import Order, decode

ORDERS: tuple[Order, ...] = ("ABCD", "CDAB", "BADC", "DCBA")


async def read_range(
    host: str,
    port: int,
    unit: int,
    start: int,
    count: int,
    table: str = "holding",
    timeout: float = 3.0,
) -> list[int]:
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)
    try:
        if not await client.connect():
            raise ConnectionError(f"no Modbus TCP server answers at {host}:{port}")
        words: list[int] = []
        for addr in range(start, start + count, 125):
            n = min(125, start + count - addr)
            call = (
                client.read_input_registers if table == "input" else client.read_holding_registers
            )
            rr = await call(addr, count=n, device_id=unit)
            if rr.isError():
                raise ConnectionError(
                    f"unit {unit} answered exception "
                    f"{getattr(rr, 'exception_code', '?')} for {table} "
                    f"{addr}–{addr + n - 1}"
                )
            words += rr.registers
        return words
    finally:
        client.close()


def decode_table(start: int, words: list[int]) -> list[str]:
    """Lines: address, raw, INT16/UINT16, then per order UINT32/INT32/FLOAT32 of the pair."""
    head = f"{'addr':>6} {'hex':>6} {'uint16':>7} {'int16':>7}  " + "  ".join(
        f"{o + ' u32/i32/f32':^38}" for o in ORDERS
    )
    lines = [head, "-" * len(head)]
    for i, w in enumerate(words):
        cells = [f"{start + i:>6} {w:>#6x} {w:>7} {decode([w], 'INT16'):>7} "]
        if i + 1 < len(words):
            pair = words[i : i + 2]
            for o in ORDERS:
                u = decode(pair, "UINT32", o)
                s = decode(pair, "INT32", o)
                f = decode(pair, "FLOAT32", o)
                cells.append(f"{u:>11} {s:>11} {f:>14.6g}")
        lines.append("  ".join(cells))
    return lines
