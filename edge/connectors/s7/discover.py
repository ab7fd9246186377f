"""`fieldlab discover s7`: read a data block of an S7 CPU and show each offset in every type."""

from __future__ import annotations

import argparse
import asyncio
import sys

from fieldlab.discovery import host_port
from fieldlab.i18n import detect_lang, t

HELP = "read a data block; show each offset in every type"
EXAMPLES = ["fieldlab discover s7 192.168.0.30 --slot 1 --db 10 --from 0 --count 42"]


def add_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("address", metavar="HOST[:PORT]")
    s.add_argument("--rack", type=int, default=0)
    s.add_argument("--slot", type=int, default=1, help="S7-1200/1500: 1; S7-300: 2")
    s.add_argument("--db", type=int, required=True, help="data block number")
    s.add_argument("--from", dest="start", type=int, default=0, help="first byte")
    s.add_argument("--count", type=int, default=32, help="bytes")


def run(args: argparse.Namespace) -> int:
    from fieldlab.connectors.s7.discover_db import decode_table, read_db

    host, port = host_port(args.address, 102)
    try:
        data = asyncio.run(
            read_db(host, port, args.rack, args.slot, args.db, args.start, args.count)
        )
    except (OSError, ConnectionError) as exc:
        print(f"fieldlab discover: {exc}", file=sys.stderr)
        return 2
    lang = detect_lang()
    last = args.start + args.count - 1
    where = t(
        "disc.db", lang, rack=args.rack, slot=args.slot, db=args.db, first=args.start, last=last
    )
    print(f"{host}:{port} {where}\n")
    print("\n".join(decode_table(args.db, args.start, data)))
    print(f"\n{t('disc.pick_s7', lang)}")
    return 0
