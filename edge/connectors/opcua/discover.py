"""`fieldlab discover opcua`: browse a server's address space (node ids, types, values) and
write a `sources:` entry for it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import yaml

from fieldlab.discovery import check_address_url
from fieldlab.i18n import detect_lang, t

HELP = "browse the address space: node ids, types, values"
EXAMPLES = [
    "fieldlab discover opcua opc.tcp://192.168.0.10:4840 --depth 3",
    "fieldlab discover opcua opc.tcp://127.0.0.1:4840/fieldlab/ --machine cnc-1 "
    "--write-config src.yaml",
]


def add_arguments(o: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from fieldlab.connectors.opcua.discover_nodes import browse, config_snippet, machinery_snippet

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    check_address_url(args.url, ("opc.tcp",), "opc.tcp://192.168.0.10:4840")
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
