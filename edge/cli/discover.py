"""`fieldlab discover opcua|modbus|s7|mqtt`: find out what a new machine offers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import yaml

from fieldlab.cli.common import UsageError, duration_arg, subcommand
from fieldlab.i18n import detect_lang, t

HELP = "Find what a machine offers: OPC UA nodes, Modbus registers, S7 data blocks, MQTT topics."
EPILOG = """\
examples:
  fieldlab discover opcua opc.tcp://192.168.0.10:4840 --depth 3
  fieldlab discover opcua opc.tcp://127.0.0.1:4840/fieldlab/ --machine cnc-1 --write-config src.yaml
  fieldlab discover modbus 192.168.0.20:502 --unit 1 --from 0 --count 16
  fieldlab discover s7 192.168.0.30 --slot 1 --db 10 --from 0 --count 42
  fieldlab discover mqtt mqtt://127.0.0.1:1883 --topic '#' --for 30s"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "discover", HELP, EPILOG)
    kinds = p.add_subparsers(dest="kind", required=True, metavar="PROTOCOL")
    o = kinds.add_parser("opcua", help="browse the address space: node ids, types, values")
    o.add_argument("url")
    o.add_argument("--root", default="i=85", help="node to start from (default Objects)")
    o.add_argument("--depth", type=int, default=4)
    o.add_argument("--machine", default="machine-1", help="machine id for --write-config")
    o.add_argument(
        "--write-config",
        type=Path,
        metavar="FILE",
        help="write a sources: snippet mapping every variable to a signal",
    )
    o.set_defaults(run=run_opcua)
    m = kinds.add_parser("modbus", help="read registers; show each pair in every type and order")
    m.add_argument("address", metavar="HOST[:PORT]")
    m.add_argument("--unit", type=int, default=1)
    m.add_argument("--from", dest="start", type=int, default=0, help="first address (0-based)")
    m.add_argument("--count", type=int, default=16)
    m.add_argument("--table", choices=("holding", "input"), default="holding")
    m.set_defaults(run=run_modbus)
    s = kinds.add_parser("s7", help="read a data block; show each offset in every type")
    s.add_argument("address", metavar="HOST[:PORT]")
    s.add_argument("--rack", type=int, default=0)
    s.add_argument("--slot", type=int, default=1, help="S7-1200/1500: 1; S7-300: 2")
    s.add_argument("--db", type=int, required=True, help="data block number")
    s.add_argument("--from", dest="start", type=int, default=0, help="first byte")
    s.add_argument("--count", type=int, default=32, help="bytes")
    s.set_defaults(run=run_s7)
    q = kinds.add_parser("mqtt", help="listen: which topics arrive and their payload shapes")
    q.add_argument("url", help="mqtt://host:port")
    q.add_argument("--topic", default="#")
    q.add_argument("--for", dest="seconds", type=duration_arg, default=duration_arg("10s"))
    q.add_argument("--username-env", help="environment variable with the user name")
    q.add_argument("--password-env", help="environment variable with the password")
    q.set_defaults(run=run_mqtt)


def run_opcua(args: argparse.Namespace) -> int:
    import logging

    from fieldlab.discovery.opcua import browse, config_snippet, machinery_snippet

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    _url(args.url, ("opc.tcp",), "opc.tcp://192.168.0.10:4840")
    try:
        found, namespaces = asyncio.run(browse(args.url, args.root, args.depth))
    except (OSError, TimeoutError, ConnectionError, ValueError) as exc:
        why = exc or t("disc.no_answer", detect_lang())
        print(f"fieldlab discover: {args.url}: {why}", file=sys.stderr)
        return 2
    lang = detect_lang()
    print(f"{args.url}: {t('disc.nodes', lang, n=len(found), root=args.root)}")
    for i, ns in enumerate(namespaces):
        print(f"  ns={i}  {ns}")
    print()
    for f in found:
        value = "" if f.node_class == "Object" else f"{f.data_type:<10} {f.value!r}"[:70]
        print(f"{'  ' * f.depth}{f.browse_name:<32} {f.nodeid:<36} {value}")
    if args.write_config:
        machinery = machinery_snippet(args.url, found, namespaces)
        if machinery is not None:
            found_words = t("disc.machinery", lang, n=len(machinery["machines"]))
            print(f"\nOPC 40001-1 Machinery: {found_words}")
        source = machinery or config_snippet(args.url, args.machine, found, namespaces)
        snippet = {"sources": [source]}
        args.write_config.write_text(yaml.safe_dump(snippet, sort_keys=False))
        print(f"\n{t('disc.wrote', lang, file=args.write_config)}")
    return 0


def run_modbus(args: argparse.Namespace) -> int:
    from fieldlab.discovery.modbus import decode_table, read_range

    host, port = _host_port(args.address, 502)
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


def run_s7(args: argparse.Namespace) -> int:
    from fieldlab.discovery.s7 import decode_table, read_db

    host, port = _host_port(args.address, 102)
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


def run_mqtt(args: argparse.Namespace) -> int:
    from fieldlab.discovery.mqtt import listen, suggest_template

    user = os.environ.get(args.username_env) if args.username_env else None
    password = os.environ.get(args.password_env) if args.password_env else None
    _url(args.url, ("mqtt", "mqtts", "tcp", "ssl"), "mqtt://192.168.0.10:1883")
    try:
        stats = listen(args.url, args.topic, args.seconds / 1000, user, password)
    except (OSError, ConnectionError) as exc:
        print(f"fieldlab discover: {exc}", file=sys.stderr)
        return 2
    lang = detect_lang()
    print(f"{args.url}: {t('disc.topics', lang, n=len(stats), s=f'{args.seconds / 1000:g}')}\n")
    for topic, st in sorted(stats.items()):
        keys = f" keys {','.join(sorted(st.keys))}" if st.keys else ""
        print(f"{topic:<60} {st.count:>6}×  {st.shape}{keys}  last: {st.last}")
    guess = suggest_template(sorted(stats))
    if guess:
        print(f"\n{t('disc.template', lang, guess=guess)}")
    return 0


def _url(url: str, schemes: tuple[str, ...], example: str) -> None:
    """The address as `config check` checks it: a usage error, not a library's traceback."""
    from fieldlab.config.addresses import check_url

    try:
        check_url(url, schemes, example)
    except ValueError as exc:
        raise UsageError(f"discover: {exc}") from None


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    from fieldlab.config.addresses import check_host

    host, sep, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    try:
        number = int(port) if sep else default_port
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"discover: expected HOST or HOST:PORT with a port 1-65535, got {address!r}"
        ) from None
    try:
        return check_host(host), number
    except ValueError as exc:
        raise UsageError(f"discover: {exc}") from None
