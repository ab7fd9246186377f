"""Benchmarks, run by `fieldlab bench NAME` (never timed in tests). Each prints its figure, a
baseline measured in the same process and run, the ratio, and whether its goal was met."""

from __future__ import annotations

import importlib
from types import ModuleType

# name → (module, what it measures)
BENCHES: dict[str, tuple[str, str]] = {
    "ingest-mqtt": (
        "fieldlab.bench.ingest_mqtt",
        "samples/s from a real Mosquitto into SQLite, one process and workers: auto, vs "
        "mosquitto_sub, a bare paho subscriber and a raw SQLite executemany",
    ),
    "modbus": (
        "fieldlab.bench.modbus",
        "requests per poll and poll time, 50 devices × 100 registers, vs one request per field",
    ),
    "opcua": (
        "fieldlab.bench.opcua",
        "notifications/s and CPU share for 10,000 monitored items vs a bare asyncua client",
    ),
    "oee": (
        "fieldlab.bench.oee",
        "OEE for 20 machines × 30 days from SQLite; growth from 1 to 30 days",
    ),
    "dashboard": (
        "fieldlab.bench.dashboard",
        "overview and machine page render times on that data",
    ),
    "memory": ("fieldlab.bench.memory", "gateway RSS with 100 machines × 10 values at 1 Hz"),
    "alerts": (
        "fieldlab.bench.alerts",
        "MQTT ingest with alert rules firing into a refusing and a hanging channel vs no rules",
    ),
    "sparkplug": (
        "fieldlab.bench.sparkplug",
        "Sparkplug B DDATA metrics/s into SQLite vs a bare subscriber decoding the same payloads",
    ),
    "outage": (
        "fieldlab.bench.outage",
        "MQTT ingest with InfluxDB down and 20,000 batches queued vs an empty queue",
    ),
    "nodered": (
        "fieldlab.bench.nodered",
        "MQTT → InfluxDB against a Node-RED flow: drain, live, CPU, RSS, a broker restart",
    ),
    "year": (
        "fieldlab.bench.year",
        "a year of 20 machines with 10 deadbanded process values: size, OEE for a year and a day",
    ),
}


#: left out of `fieldlab bench all`: minutes, not seconds (run them by name)
LONG: frozenset[str] = frozenset({"year", "nodered"})


def load(name: str) -> ModuleType:
    return importlib.import_module(BENCHES[name][0])
