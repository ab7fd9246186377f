"""`fieldlab gateway`: read the configured sources into the sinks until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from fieldlab.cli.common import subcommand
from fieldlab.i18n import detect_lang, t
from fieldlab.process import on_stop_signals

HELP = "Run the gateway: OPC UA, Modbus TCP and MQTT into SQLite and/or InfluxDB."
DESCRIPTION = """\
Read the sources of a site file into its sinks until Ctrl-C or SIGTERM, then flush and exit.
Logs one line per connector state change, never per sample. /health and /metrics are served on
127.0.0.1:8787 unless `gateway: {http: …}` says otherwise."""
EPILOG = """\
examples:
  fieldlab config check site.yaml        # first: validate and see what will run
  fieldlab gateway --config site.yaml
  fieldlab discover opcua opc.tcp://192.168.0.10:4840   # find the tags of a new machine

minimal site.yaml:
  store: sqlite:///fieldlab.db
  machines: {press-1: {ideal_cycle_time_s: 6}}
  sources:
    - {type: mqtt, name: broker, url: "mqtt://127.0.0.1:1883"}"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "gateway", HELP, EPILOG, DESCRIPTION)
    p.add_argument(
        "--config",
        "-c",
        type=Path,
        metavar="FILE",
        default=Path("site.yaml"),
        help="site file with sources: and sinks: (default ./site.yaml)",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="log more (not per sample)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fieldlab.gateway.config import load_gateway_config, missing_secrets
    from fieldlab.gateway.run import Gateway

    site, cfg = load_gateway_config(args.config)
    for problem in missing_secrets(cfg):
        warning = t("check.warning", detect_lang(), problem=f"{args.config}: {problem}")
        print(f"fieldlab gateway: {warning}", file=sys.stderr)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    # asyncua logs its own reconnect noise with tracebacks; the connector reports state changes.
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    gw = Gateway(site, cfg, args.config.resolve().parent)
    return asyncio.run(_serve(gw))


async def _serve(gw) -> int:
    loop = asyncio.get_running_loop()
    on_stop_signals(loop, gw.request_stop)
    lang = detect_lang()
    sinks = ", ".join(s.type for s in gw.cfg.sinks) or "sqlite"
    print(
        f"fieldlab gateway: {t('gw.start', lang, n=len(gw.cfg.sources), sinks=sinks)}", flush=True
    )
    try:
        await gw.run()
    finally:  # also on Windows' Ctrl-C, a KeyboardInterrupt that cancels this task
        taken = gw.pipeline.stats.samples if gw.pipeline is not None else 0
        print(f"fieldlab gateway: {t('gw.stopped', lang, n=taken)}", flush=True)
    return 0
