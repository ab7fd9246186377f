"""`fieldlab discover modbus`: read a range of registers and show each pair in every type and
word order, so a value's address and type can be found by eye."""

from __future__ import annotations

import argparse
import asyncio
import sys

from fieldlab.discovery import host_port
from fieldlab.i18n import detect_lang, t

HELP = "read registers; show each pair in every type and order"
EXAMPLES = ["fieldlab discover modbus 192.168.0.20:502 --unit 1 --from 0 --count 16"]


def add_arguments(m: argparse.ArgumentParser) -> None:
    m.add_argument("address", metavar="HOST[:PORT]")
    m.add_argument("--unit", type=int, default=1)
    m.add_argument("--from", dest="start", type=int, default=0, help="first address (0-based)")
    m.add_argument("--count", type=int, default=16)
    m.add_argument("--table", choices=("holding", "input"), default="holding")


def run(args: argparse.Namespace) -> int:
    from fieldlab.connectors.modbus.discover_registers import decode_table, read_range

    host, port = host_port(args.address, 502)
    try:
        words = asyncio.run(read_range(host, port, args.unit, args.start, args.count, args.table))
    except (OSError, ConnectionError) as exc:
        print(f"fieldlab discover: {exc}", file=sys.stderr)
        return 2
    lang = detect_lang()
    last = args.start + args.count - 1
    where = t("disc.registers", lang, unit=args.unit, table=args.table, first=args.start, last=last)
    print(f"{host}:{port} {where}\n")
    print("\n".join(decode_table(args.start, words)))
    print(f"\n{t('disc.pick_modbus', lang)}")
    return 0
