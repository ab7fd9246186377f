"""`fieldlab sim`: simulated machines on the kit's protocols, with a ground-truth log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from fieldlab.cli.common import parse_time_arg, speed_arg, subcommand
from fieldlab.connectors import protocol
from fieldlab.domain.durations import duration_arg
from fieldlab.domain.samples import format_ts, from_ms, to_ms
from fieldlab.i18n import detect_lang, t
from fieldlab.process import on_stop_signals
from fieldlab.simulators.faces import face_names

HELP = "Run simulated machines on OPC UA, Modbus TCP, S7, MQTT and Sparkplug (seeded, scriptable)."
DESCRIPTION = """\
Run the machines of a scenario (default: six machines of an SME) in simulated time and serve
each on the protocols its scenario names (--faces chooses among them). Everything that really
happened is written to --truth as docs/domain.md samples, so `fieldlab ingest` + `fieldlab oee`
on it give the true OEE.

Servers bind 127.0.0.1 unless --host says otherwise. Ctrl-C or SIGTERM stops cleanly;
SIGUSR1 pauses and resumes the simulated clock."""
EPILOG = """\
examples:
  fieldlab sim                                         # default scenario, real time
  fieldlab sim --speed 600 --duration 8h --truth truth.jsonl --site-out site.yaml
  fieldlab sim --scenario my-site.yaml --seed 7 --mqtt mqtt://127.0.0.1:1883
  fieldlab sim --no-mqtt --opcua-port 4841 --opcua-security encrypt --opcua-require-trust
  fieldlab sim --speed max --duration 8h --faces none --truth truth.jsonl   # truth only

a scenario is a site config (domain.md §6) plus per machine: archetype (cnc,
injection_moulding, filler, press, laser, legacy_lathe), faces, behaviour; orders; events
such as "10:12 press-1 fault tool_break 14 min". See simulators/README.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "sim", HELP, EPILOG, DESCRIPTION)
    p.add_argument(
        "--scenario", type=Path, metavar="FILE", help="scenario YAML (default: built in)"
    )
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument(
        "--speed",
        type=speed_arg,
        default=1.0,
        help="simulated seconds per wall second: 1 (real time), 60, 600, or max",
    )
    p.add_argument("--start", metavar="TS", help="simulated start (default: the scenario's)")
    p.add_argument(
        "--duration",
        type=duration_arg,
        metavar="D",
        help="stop after this much simulated time (e.g. 8h)",
    )
    p.add_argument(
        "--for",
        dest="wall",
        type=duration_arg,
        metavar="D",
        help="stop after this much wall-clock time",
    )
    p.add_argument(
        "--history",
        type=duration_arg,
        metavar="D",
        help="simulate this much time before --start at full speed first (truth included), "
        "so the faces serve values as old as a real PLC's: a state unchanged for an hour "
        "carries an hour-old timestamp",
    )
    p.add_argument(
        "--paused",
        action="store_true",
        help="start with the clock paused (SIGUSR1 starts it): lets a gateway "
        "connect before anything happens",
    )
    p.add_argument(
        "--linger",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="after --duration, keep serving the final values this long (default 2)",
    )
    p.add_argument("--truth", type=Path, metavar="FILE", help="write the ground truth (JSONL)")
    p.add_argument(
        "--site-out",
        type=Path,
        metavar="FILE",
        help="write the scenario's site config (for fieldlab oee / the gateway)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address the servers bind (127.0.0.1)")
    faces = face_names()
    for name in faces:
        if hasattr(protocol(name), "FACE_PORT"):
            port = protocol(name).FACE_PORT
            p.add_argument(
                f"--{name}-port",
                type=int,
                default=port,
                metavar="PORT",
                help=f"the {name} face's port ({port})",
            )
    p.add_argument(
        "--mqtt",
        metavar="URL",
        default="mqtt://127.0.0.1:1883",
        help="broker to publish to (mqtt://[user:pass@]host:port)",
    )
    p.add_argument(
        "--faces",
        default=",".join(faces),
        help=f"faces to serve, comma-separated ({', '.join(faces)}), or none (default all)",
    )
    p.add_argument("--opcua-security", choices=("none", "sign", "encrypt", "all"), default="none")
    p.add_argument(
        "--opcua-pki",
        type=Path,
        metavar="DIR",
        help="server certificate and trusted/ client certificates",
    )
    p.add_argument(
        "--opcua-require-trust",
        action="store_true",
        help="refuse client certificates not in <pki>/trusted",
    )
    p.add_argument(
        "--opcua-user",
        metavar="NAME",
        help="require this user; password from FIELDLAB_SIM_OPCUA_PASSWORD",
    )
    p.add_argument(
        "--load",
        metavar="NxM@R",
        help="load mode for benchmarks: N machines x M values at R Hz on the one "
        "face given by --faces (e.g. --load 100x10@1 --faces opcua)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="load mode: spread the machines over this many processes",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no status lines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.load:
        return run_load(args)
    from fieldlab.simulators.faces.base import FaceSettings
    from fieldlab.simulators.runner import Simulation
    from fieldlab.simulators.scenario import load_scenario, site_yaml

    scenario = load_scenario(args.scenario)
    tz = scenario.site_config().tz
    start_ms = None
    if args.start:
        start_ms = parse_time_arg(args.start, tz, to_ms(scenario.start_datetime()), "--start")
    faces = None
    if args.faces.strip().lower() != "none":
        faces = FaceSettings(
            host=args.host,
            ports={
                name: getattr(args, f"{name}_port")
                for name in face_names()
                if hasattr(args, f"{name}_port")
            },
            mqtt_url=args.mqtt,
            opcua_security=args.opcua_security,
            opcua_pki=args.opcua_pki,
            opcua_require_trust=args.opcua_require_trust,
            opcua_user=args.opcua_user,
            opcua_password=os.environ.get("FIELDLAB_SIM_OPCUA_PASSWORD"),
            enabled={f.strip() for f in args.faces.split(",")},
        )
    live_start = start_ms if start_ms is not None else to_ms(scenario.start_datetime())
    history = args.history or 0
    sim = Simulation(
        scenario,
        seed=args.seed,
        speed=math.inf if history else args.speed,
        start_ms=live_start - history,
        truth=args.truth,
        faces=faces,
        step_ms=600_000 if history else 10_000,
    )
    if args.site_out:
        args.site_out.write_text(site_yaml(scenario), encoding="utf-8")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # its notes on security are not ours
    return asyncio.run(_serve(sim, args))


async def _serve(sim, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    if on_stop_signals(loop, sim.request_stop) and hasattr(signal, "SIGUSR1"):
        loop.add_signal_handler(
            signal.SIGUSR1, lambda: sim.resume() if sim.clock.paused else sim.pause()
        )
    elif args.paused:
        # No SIGUSR1 to start the clock (Windows): Enter does it.
        threading.Thread(target=_resume_on_enter, args=(loop, sim), daemon=True).start()
    live_start = sim.start_ms + (args.history or 0)
    if args.history:
        await sim.run(sim_until=live_start)  # before the faces start: they start primed
        sim.go_live(args.speed, paused=args.paused)  # paused: standing exactly at the seam
    elif args.paused:
        sim.pause()
    try:
        await sim.start()
    except (OSError, ConnectionError) as exc:
        await sim.stop()
        print(f"fieldlab sim: {exc}", file=sys.stderr)
        return 2
    tz = sim.site.tz
    lang = detect_lang()
    speed = "max" if math.isinf(sim.clock.speed) else f"{sim.clock.speed:g}×"
    start = from_ms(live_start).astimezone(tz).isoformat()
    head = t("sim.start", lang, n=len(sim.machines), seed=sim.seed, speed=speed, start=start)
    print(f"fieldlab sim: {head}", flush=True)
    for mid, spec in sim.scenario.machines.items():
        line = t("sim.machine", lang, id=f"{mid:10s}", kind=f"{spec.archetype:18s}", faces="")
        print(f"  {line}{', '.join(spec.faces)}")
    for endpoint in sim.endpoints():
        print(f"  {t('sim.serving', lang)} {endpoint}")
    if args.truth:
        print(f"  {t('stack.truth', lang):<7} {args.truth}")
    if args.site_out:
        print(f"  {t('stack.site', lang):<7} {args.site_out}")
    sys.stdout.flush()
    until = live_start + args.duration if args.duration else None
    status = None if args.quiet else asyncio.create_task(_status(sim))
    try:
        await sim.run(sim_until=until, wall_seconds=args.wall / 1000 if args.wall else None)
        if until is not None and sim.sim_now >= until and args.linger > 0:
            # The run is over, but a gateway polling Modbus or OPC UA has not yet read the last
            # values: hold them a moment before the faces go away.
            await sim.linger(args.linger)
    finally:
        if status is not None:
            status.cancel()
        await sim.stop()
    stopped = t("sim.stopped", lang, at=format_ts(sim.sim_now), n=sim.samples_out)
    print(f"fieldlab sim: {stopped}", flush=True)
    return 0


def _resume_on_enter(loop: asyncio.AbstractEventLoop, sim: Any) -> None:
    """Read the raw file descriptor, not sys.stdin: a daemon thread blocked in the buffered
    reader at exit makes the interpreter abort; one blocked in os.read does not."""
    print(f"fieldlab sim: {t('sim.paused', detect_lang())}", flush=True)
    with contextlib.suppress(OSError, ValueError):
        if os.read(sys.stdin.fileno(), 1024):
            loop.call_soon_threadsafe(sim.resume)


async def _status(sim) -> None:
    while True:
        await asyncio.sleep(10)
        st = sim.status()
        states = ", ".join(f"{m} {s}" for m, s in st["states"].items())
        print(f"  [{st['sim_time']}{' paused' if st['paused'] else ''}] {states}", flush=True)


def run_load(args: argparse.Namespace) -> int:
    from urllib.parse import urlparse

    from fieldlab.simulators.load import LoadSpec, start_load, stop_load

    try:
        spec = LoadSpec.parse(args.load)
    except ValueError as exc:
        print(f"fieldlab sim: --load {exc}", file=sys.stderr)
        return 2
    face = args.faces.strip()
    if face not in ("opcua", "modbus", "mqtt"):
        print(
            "fieldlab sim: --load needs exactly one face: --faces opcua|modbus|mqtt",
            file=sys.stderr,
        )
        return 2
    if face == "mqtt":
        url = urlparse(args.mqtt)
        host, port = url.hostname or "127.0.0.1", url.port or 1883
    else:
        host, port = args.host, getattr(args, f"{face}_port")
    seconds = args.wall / 1000 if args.wall else None
    procs = start_load(face, spec, host=host, port=port, processes=args.processes, seconds=seconds)
    print(
        f"fieldlab sim: load {spec.machines} machines x {spec.values} values at "
        f"{spec.rate_hz:g} Hz = {spec.changes_per_s:,.0f} changes/s on {face}, "
        f"{len(procs)} processes from {host}:{port}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: stop_load(procs))
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        stop_load(procs)
    return 0
