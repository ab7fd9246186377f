"""The simulator's Modbus register map, written once: the Modbus face encodes a machine's values
into it (with the gateway's own codec) and `gateway_site.py` turns the same registers into the
gateway's field config, so the two cannot disagree. Which map a machine has is its archetype's
`modbus_map` (`machine`, or `energy_meter` for the legacy lathe); the maps are documented for
people in simulators/README.md ("Modbus TCP")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fieldlab.connectors.modbus.codec import WORDS, DataType, Order, encode
from fieldlab.domain.samples import Value
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.scenario import Scenario

BLOCK = 32  # registers per device
TIME_SECONDS, TIME_MS = 8, 10
#: when the state last changed (as a PLC program that stamps its state changes keeps it)
STATE_SINCE_SECONDS, STATE_SINCE_MS = 20, 22

STATE_CODES = {
    "offline": 0,
    "running": 1,
    "idle": 2,
    "starved": 3,
    "blocked": 4,
    "fault": 5,
    "setup": 6,
    "planned_stop": 7,
}


@dataclass(frozen=True)
class Register:
    """One value in the block: where, how it is encoded, and how the gateway reads it."""

    signal: str
    address: int
    type: DataType
    order: Order = "ABCD"
    #: register = value / scale (energy in Wh for a value in kWh: scale 0.001)
    scale: float = 1.0
    #: text values as codes (states, reasons, products); a value not listed is `unknown`
    codes: dict[str, int] | None = None
    unknown: int = 0
    #: the gateway reads it (the 16-bit count_total copy is for people with mbpoll)
    read: bool = True
    #: more keys for the gateway's field (derive_state)
    extra: dict[str, Any] = field(default_factory=dict)

    def words(self, value: Value | None) -> list[int]:
        if self.codes is not None:
            return [self.codes.get(str(value or ""), self.unknown)]
        if self.type == "FLOAT32":
            return encode(float(value or 0.0), "FLOAT32", self.order)
        raw = int(round(float(value or 0) / self.scale))
        return encode(raw & (1 << (16 * WORDS[self.type])) - 1, self.type, self.order)

    def gateway_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "type": self.type}
        if self.order != "ABCD":
            out["order"] = self.order
        if self.scale != 1.0:
            out["scale"] = self.scale
        if self.codes is not None:
            out["map"] = {str(code): text for text, code in self.codes.items()}
        return out | self.extra


def unit_ids(scenario: Scenario, machines: list[str]) -> dict[str, int]:
    """Each machine's unit id on the face: its `modbus_unit`, else the next one nobody uses."""
    units: dict[str, int] = {}
    wanted = {scenario.machines[m].modbus_unit for m in machines}
    for m in machines:
        unit = scenario.machines[m].modbus_unit
        if unit is None or unit in units.values():
            unit = next(u for u in range(1, 248) if u not in units.values() and u not in wanted)
        units[m] = unit
    return units


def registers(scenario: Scenario, machine: str) -> list[Register]:
    """The machine's registers, by its archetype's `modbus_map`."""
    spec = scenario.machines[machine]
    params = resolve(spec.archetype, spec.behaviour)
    if params.modbus_map == "energy_meter":
        return [
            Register(
                "power_kw",
                0,
                "FLOAT32",
                "CDAB",
                extra={"derive_state": {"running_above": 2.0, "idle_below": 1.0}},
            ),
            Register("energy_kwh", 2, "UINT32", "CDAB", scale=0.001),
            Register("count_total", 4, "UINT16"),
        ]
    reasons = {"": 0} | {r: i + 1 for i, r in enumerate(scenario.reasons)}
    regs = [
        Register("state", 0, "UINT16", codes=STATE_CODES),
        Register("reason", 1, "UINT16", codes=reasons, unknown=0xFFFF),
        Register("count_total", 2, "UINT16", read=False),
        Register("count_good", 3, "UINT16"),
        Register("count_scrap", 4, "UINT16"),
        Register("count_total", 6, "UINT32"),
    ]
    if spec.products:
        products = {p: j + 1 for j, p in enumerate(spec.products)}
        regs.append(Register("product", 5, "UINT16", codes=products))
    for j, name in enumerate(params.process[:2]):
        regs.append(Register(name, 12 + 2 * j, "FLOAT32"))
    if params.power.kw:  # the supply's meter, as a controller reads its own sub-meter
        regs.append(Register("power_kw", 16, "FLOAT32"))
        regs.append(Register("energy_kwh", 18, "UINT32", scale=0.001))
    return regs


def block(
    regs: list[Register], values: dict[str, Value], sim_now: int, state_since: int | None = None
) -> list[int]:
    """The device's 32 words for these values at simulated time ``sim_now`` (ms), with the
    time its state last changed where the map has a state."""
    words = [0] * BLOCK
    for reg in regs:
        enc = reg.words(values.get(reg.signal))
        words[reg.address : reg.address + len(enc)] = enc
    words[TIME_SECONDS : TIME_SECONDS + 2] = encode(sim_now // 1000, "UINT32")
    words[TIME_MS] = sim_now % 1000
    if state_since is not None and any(r.signal == "state" for r in regs):
        words[STATE_SINCE_SECONDS : STATE_SINCE_SECONDS + 2] = encode(state_since // 1000, "UINT32")
        words[STATE_SINCE_MS] = state_since % 1000
    return words


def gateway_fields(regs: list[Register]) -> dict[str, dict[str, Any]]:
    """The gateway's `fields:` for a device with these registers; the state says where its
    change time is (domain.md §3)."""
    fields = {reg.signal: reg.gateway_field() for reg in regs if reg.read}
    if "state" in fields:
        fields["state"]["changed"] = {"address": STATE_SINCE_SECONDS, "ms_address": STATE_SINCE_MS}
    return fields


#: The gateway's `timestamp:` for every device: the simulated time registers.
GATEWAY_TIMESTAMP = {"address": TIME_SECONDS, "ms_address": TIME_MS}
