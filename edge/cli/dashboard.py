"""`fieldlab dashboard`: the Streamlit app over the site's store."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from fieldlab.cli.common import subcommand
from fieldlab.dashboards.serve import command
from fieldlab.dashboards.settings import DashboardSettings
from fieldlab.errors import check_port
from fieldlab.i18n import detect_lang, t
from fieldlab.process import spawn, stop

HELP = "Open the OEE dashboard (Streamlit) on the site's store."
EPILOG = """\
examples:
  fieldlab dashboard --config site.yaml              # http://127.0.0.1:8501
  fieldlab dashboard --config site.yaml --port 8600 --lang nl
  fieldlab dashboard --config site.yaml --address 0.0.0.0   # on the shop floor network
  fieldlab dashboard --config site.yaml --andon --port 8502 # the TV: large tiles, no menus
  fieldlab dashboard -c site.yaml --terminal press-1 --address 0.0.0.0  # the tablet at press-1

The andon screen shows the current shift, refreshes itself and, when the machines do not fit,
shows them screen by screen (site file: dashboard: {andon: {columns: 3, rows: 2, cycle_s: 15}})."""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "dashboard", HELP, EPILOG)
    p.add_argument("--config", "-c", type=Path, default=Path("site.yaml"), metavar="FILE")
    p.add_argument("--store", metavar="URL", help="override the config's store")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--lang", choices=("en", "nl"), help="first language shown")
    p.add_argument(
        "--andon", action="store_true", help="the shop-floor TV screen only (large tiles)"
    )
    p.add_argument(
        "--terminal",
        metavar="MACHINE",
        help="a kiosk for the tablet at one machine: its terminal page only (reasons, scrap, "
        "orders, handover)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fieldlab.config import load_site_config

    load_site_config(args.config)  # a clear error here, not a traceback in the browser
    check_port("dashboard", args.address, args.port, "--port")
    stops = t("ctrl_c_stops", detect_lang(args.lang))
    print(f"fieldlab dashboard: http://{args.address}:{args.port}  ({stops})", flush=True)
    proc = spawn(
        command(args.config, args.port, args.address),
        env=DashboardSettings(
            args.config, args.store, args.lang, args.andon, args.terminal
        ).environ(),
    )

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does

    signal.signal(signal.SIGTERM, terminate)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop(proc)
        return 0
