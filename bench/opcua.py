"""Benchmark: OPC UA subscriptions. 10,000 monitored items (100 machines × 100 values changing
at 1 Hz) served by several simulator processes (one asyncua server saturates near 5k changes/s),
read by a `fieldlab gateway` process into SQLite: notifications/s and the gateway's CPU share of
one core, against a bare asyncua client subscribed to the same items in the same run.

CPU shares come from /proc (Linux). On a machine with few cores the servers compete with the
gateway for CPU, so the delivered rate can fall short of 10k/s for the servers' sake; the
figure to judge the gateway by is then its CPU per 1,000 notifications/s, printed as well.

    fieldlab bench opcua [--json]
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.services import free_port, wait_port
from fieldlab.simulators.load import LoadSpec, start_load, stop_load

MACHINES, VALUES, SERVERS = 100, 100, 4
WARMUP_S, WINDOW_S = 8.0, 15.0
NS = "urn:fieldlab-kit:simulator"


def _partition() -> list[range]:
    per = MACHINES // SERVERS
    return [range(i * per, (i + 1) * per) for i in range(SERVERS)]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bare_client(port: int, out: mp.Queue) -> None:
    """A plain asyncua client: one subscription per server, a handler that only counts."""

    async def main() -> None:
        from asyncua import Client

        logging.getLogger("asyncua").setLevel(logging.ERROR)
        count = 0

        class Handler:
            def datachange_notification(self, node, val, data) -> None:
                nonlocal count
                count += 1

            def status_change_notification(self, status) -> None:
                pass

        clients = []
        for i, machines in enumerate(_partition()):
            client = Client(f"opc.tcp://127.0.0.1:{port + i}/fieldlab/", timeout=10)
            await client.connect()
            ns = await client.get_namespace_index(NS)
            nodes = [
                client.get_node(f"ns={ns};s=load-{n}.v{v}") for n in machines for v in range(VALUES)
            ]
            sub = await client.create_subscription(500, Handler())
            for k in range(0, len(nodes), 500):
                await sub.subscribe_data_change(nodes[k : k + 500], queuesize=10)
            clients.append(client)
        await asyncio.sleep(WARMUP_S)
        c0, t0, n0 = time.process_time(), time.monotonic(), count
        await asyncio.sleep(WINDOW_S)
        c1, t1, n1 = time.process_time(), time.monotonic(), count
        for client in clients:
            await client.disconnect()
        out.put({"rate": (n1 - n0) / (t1 - t0), "cpu_share": (c1 - c0) / (t1 - t0)})

    asyncio.run(main())


def _site(port: int, http: int) -> dict:
    return {
        "store": "sqlite:///opcua-bench.db",
        "gateway": {"http": {"port": http}},
        "sources": [
            {
                "type": "opcua",
                "name": f"load{i}",
                "url": f"opc.tcp://127.0.0.1:{port + i}/fieldlab/",
                "timeout_s": 10,
                "machines": {
                    f"load-{n}": {
                        f"v{v}": {"node": f"nsu={NS};s=load-{n}.v{v}"} for v in range(VALUES)
                    }
                    for n in machines
                },
            }
            for i, machines in enumerate(_partition())
        ],
    }


def _samples(http: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=10) as r:
            report = json.load(r)
    except urllib.error.HTTPError as exc:  # 503 while a source is still connecting
        report = json.load(exc)
    return sum(int(s["samples"]) for s in report["sources"])


def _gateway(port: int, tmp: Path, progress: Progress) -> dict[str, float]:
    http = free_port()
    site = tmp / "site.yaml"
    site.write_text(json.dumps(_site(port, http)))
    gw = subprocess.Popen(
        [sys.executable, "-m", "fieldlab", "gateway", "-c", str(site)],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(http, 60)
        deadline = time.monotonic() + 60
        while _samples(http) < MACHINES * VALUES and time.monotonic() < deadline:
            time.sleep(0.5)  # the first full read of every item, then subscriptions
        time.sleep(WARMUP_S)
        progress(f"gateway: measuring {WINDOW_S:.0f} s")
        c0, t0, n0 = _cpu_s(gw.pid), time.monotonic(), _samples(http)
        time.sleep(WINDOW_S)
        c1, t1, n1 = _cpu_s(gw.pid), time.monotonic(), _samples(http)
    finally:
        gw.terminate()
        try:
            gw.wait(30)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait()
    return {"rate": (n1 - n0) / (t1 - t0), "cpu_share": (c1 - c0) / (t1 - t0)}


def run(progress: Progress) -> Result:
    port = free_port()
    spec = LoadSpec(MACHINES, VALUES, 1.0)
    progress(f"{SERVERS} asyncua load servers, {MACHINES} machines × {VALUES} values at 1 Hz")
    procs = start_load("opcua", spec, port=port, processes=SERVERS)
    server_cpu = 0.0
    try:
        for i in range(SERVERS):
            wait_port(port + i, 120)
        progress(f"baseline: a bare asyncua client, warm-up {WARMUP_S:.0f} s + {WINDOW_S:.0f} s")
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()
        bare_proc = ctx.Process(target=_bare_client, args=(port, out), daemon=True)
        bare_proc.start()
        bare = out.get(timeout=180)
        bare_proc.join(30)
        progress("the gateway into SQLite, same servers")
        s0 = sum(_cpu_s(p.pid) for p in procs if p.pid)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            gw = _gateway(port, Path(tmp), progress)
        server_cpu = (sum(_cpu_s(p.pid) for p in procs if p.pid) - s0) / (time.monotonic() - t0)
    finally:
        stop_load(procs)
    per_k = gw["cpu_share"] / (gw["rate"] / 1000) if gw["rate"] else float("inf")
    return {
        "monitored_items": MACHINES * VALUES,
        "server_processes": SERVERS,
        "changes_per_s_offered": spec.changes_per_s,
        "cores": os.cpu_count(),
        "gateway_notifications_per_s": round(gw["rate"]),
        "gateway_cpu_share": round(gw["cpu_share"], 3),
        "gateway_cpu_share_per_1k_per_s": round(per_k, 4),
        "gateway_cpu_share_at_10k_per_s": round(per_k * 10, 3),
        "bare_client_notifications_per_s": round(bare["rate"]),
        "bare_client_cpu_share": round(bare["cpu_share"], 3),
        "ratio_cpu_vs_bare_at_same_rate": round(
            per_k / (bare["cpu_share"] / (bare["rate"] / 1000)), 2
        )
        if bare["rate"]
        else None,
        "servers_cpu_share_total": round(server_cpu, 2),
        "goals": {"gateway_notifications_per_s": ">= 10000", "gateway_cpu_share": "< 0.6"},
        "met": gw["rate"] >= 0.97 * MACHINES * VALUES and gw["cpu_share"] < 0.6,
    }


def report(r: Result) -> list[str]:
    return [
        f"opcua: {r['monitored_items']:,} monitored items on {r['server_processes']} asyncua "
        f"server processes ({r['changes_per_s_offered']:,.0f} changes/s offered, "
        f"{r['cores']} cores)",
        f"gateway → SQLite: {r['gateway_notifications_per_s']:,} notifications/s at "
        f"{r['gateway_cpu_share']:.0%} of a core (goal 10,000/s at < 60 %); "
        f"{r['gateway_cpu_share_per_1k_per_s']:.1%} per 1,000/s, so "
        f"{r['gateway_cpu_share_at_10k_per_s']:.0%} at 10,000/s",
        f"baseline, a bare asyncua client on the same items: "
        f"{r['bare_client_notifications_per_s']:,}/s at {r['bare_client_cpu_share']:.0%} of a "
        f"core; the gateway costs {r['ratio_cpu_vs_bare_at_same_rate']}× its CPU per "
        "notification",
        f"the servers took {r['servers_cpu_share_total']:.2f} cores meanwhile",
    ]
