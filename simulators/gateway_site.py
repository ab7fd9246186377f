"""The gateway config that reads a scenario's machines from their faces.

The simulators know their own register maps, node ids and topics, so they can write the
`sources:` a fieldlab engineer would otherwise type: the demo, the recipes and the end-to-end
tests use it, and it doubles as a worked example of a gateway config.
"""

from __future__ import annotations

from typing import Any

import yaml

from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.faces.mqtt import TERMINAL_AREA
from fieldlab.simulators.faces.opcua import NAMESPACE, VARIABLES
from fieldlab.simulators.faces.s7 import db_numbers, s7_fields
from fieldlab.simulators.faces.sparkplug import sparkplug_source
from fieldlab.simulators.register_map import (
    GATEWAY_TIMESTAMP,
    gateway_fields,
    registers,
    unit_ids,
)
from fieldlab.simulators.scenario import Scenario


def gateway_sources(
    scenario: Scenario,
    *,
    host: str = "127.0.0.1",
    opcua_port: int = 4840,
    modbus_port: int = 5020,
    mqtt_url: str = "mqtt://127.0.0.1:1883",
    poll_ms: int = 250,
    mqtt_protocol: str = "auto",
    s7_port: int = 1102,
) -> list[dict[str, Any]]:
    by_face: dict[str, list[str]] = {}
    for mid, spec in scenario.machines.items():
        by_face.setdefault(spec.faces[0], []).append(mid)  # each machine read once
    sources: list[dict[str, Any]] = []
    if "opcua" in by_face:
        machines = {}
        for mid in by_face["opcua"]:
            spec = scenario.machines[mid]
            signals = {
                sig: {"node": f"ns=sim;s={mid}.{browse}"} for sig, (browse, _) in VARIABLES.items()
            }
            for pv in resolve(spec.archetype, spec.behaviour).values:
                signals[pv] = {"node": f"ns=sim;s={mid}.{pv}"}
            machines[mid] = signals
        sources.append(
            {
                "type": "opcua",
                "name": "sim-opcua",
                "url": f"opc.tcp://{host}:{opcua_port}/fieldlab/",
                "namespaces": {"sim": NAMESPACE},
                "publishing_interval_ms": 100,
                "sampling_interval_ms": 0,
                "queue_size": 1000,
                "machines": machines,
            }
        )
    if "modbus" in by_face:
        devices = [
            {
                "unit": unit,
                "machine": mid,
                "timestamp": dict(GATEWAY_TIMESTAMP),
                "fields": gateway_fields(registers(scenario, mid)),
            }
            for mid, unit in unit_ids(scenario, by_face["modbus"]).items()
        ]
        sources.append(
            {
                "type": "modbus",
                "name": "sim-modbus",
                "host": host,
                "port": modbus_port,
                "poll_interval_ms": poll_ms,
                "devices": devices,
            }
        )
    if "s7" in by_face:
        dbs = db_numbers(by_face["s7"])
        sources.append(
            {
                "type": "s7",
                "name": "sim-s7",
                "host": host,
                "port": s7_port,
                "rack": 0,
                "slot": 1,
                "poll_interval_ms": poll_ms,
                "machines": {m: s7_fields(scenario, m, db) for m, db in dbs.items()},
            }
        )
    if "sparkplug" in by_face:
        sources.append(sparkplug_source(scenario, by_face["sparkplug"], mqtt_url))
    if "mqtt" in by_face:
        sources.append(
            {
                "type": "mqtt",
                "name": "sim-mqtt",
                "url": mqtt_url,
                "client_id": f"fieldlab-gateway-{scenario.site}",
                "protocol": mqtt_protocol,
                "topics": [
                    {"template": f"fieldlab/{scenario.site}/{{area}}/{{machine}}/{{signal}}"}
                ],
            }
        )
    if scenario.operators:
        # the simulated operators' tablets (simulators/operators.py): orders, reasons, scrap
        sources.append(
            {
                "type": "mqtt",
                "name": "sim-terminals",
                "url": mqtt_url,
                "client_id": f"fieldlab-gateway-{scenario.site}-terminals",
                "protocol": mqtt_protocol,
                # a tablet is not how the gateway sees a machine: its loss is no machine's
                "machine_contact": False,
                "topics": [
                    {"template": f"fieldlab/{scenario.site}/{TERMINAL_AREA}/{{machine}}/{{signal}}"}
                ],
            }
        )
    return sources


def gateway_site_yaml(
    scenario: Scenario, extra: dict[str, Any] | None = None, **kwargs: Any
) -> str:
    """The scenario's site config plus its `sources:`, ready for `fieldlab gateway`."""
    site = scenario.site_config().model_dump(
        mode="json", exclude_none=True, exclude={"sources", "sinks", "gateway"}
    )
    site["sources"] = gateway_sources(scenario, **kwargs)
    # the simulators' clocks run in simulated time (a past start, 60x): not a clock that is off
    site["max_clock_skew_s"] = None
    site.update(extra or {})
    return yaml.safe_dump(site, sort_keys=False, allow_unicode=True)
