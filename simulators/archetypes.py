"""Defaults that make each archetype behave like its kind on a Dutch SME shop floor.

Numbers are typical, not measured at a customer: long cycles and tool breaks on a CNC centre,
short multi-cavity cycles with start-up scrap and temperature drift on an injection moulding
machine, fast cycles with many micro-stops and starved/blocked states on a filler, batches with
changeovers on a press or laser, and an old lathe seen only through an energy meter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

from fieldlab.simulators.scenario import Behaviour


@dataclass(frozen=True)
class Power:
    """Electrical draw by state, as a sub-meter on the machine's supply would see it.

    Running draws its mean with load noise; idle, starved and blocked keep drives, hydraulics,
    heaters and chillers on; a fault or a setup switches the process off but not the machine;
    a planned stop leaves the control in standby. An injection moulding machine heats its barrel
    again after a planned stop: a peak on top of the state's draw that fades over `warmup_min`,
    full after a stop of `cooled_after_min` or more (a night), smaller after a break.
    """

    kw: dict[str, float] = field(default_factory=dict)
    running_spread: float = 0.08
    warmup_kw: float = 0.0
    warmup_min: float = 0.0
    cooled_after_min: float = 120.0

    def draw(self, state: str) -> float:
        return self.kw.get(
            state, self.kw.get("idle", 0.0) if state in ("starved", "blocked") else 0.0
        )


def _power(
    running: float, idle: float, setup: float, fault: float, standby: float, **kw: float
) -> Power:
    return Power(
        {"running": running, "idle": idle, "setup": setup, "fault": fault, "planned_stop": standby},
        **kw,
    )


@dataclass(frozen=True)
class Params:
    cycle_spread: float = 0.05
    speed_loss: float = 0.08
    mtbf_min: float = 120.0
    mttr_min: float = 15.0
    micro_stops_per_hour: float = 2.0
    micro_stop_s: tuple[float, float] = (10.0, 90.0)
    starved_per_hour: float = 0.0
    blocked_per_hour: float = 0.0
    external_stop_min: float = 3.0
    scrap_rate: float = 0.01
    setup_min: float = 20.0
    startup_scrap_cycles: int = 0
    cavities: int = 1
    order_quantity: int = 500
    temp_drift_c_per_h: float = 0.0
    process_interval_s: float = 10.0
    fault_reasons: tuple[str, ...] = ("jam", "sensor", "hydraulics")
    micro_state: str = "idle"
    process: tuple[str, ...] = ()
    #: what its Modbus face shows (register_map.py): the controller's state and counters, or
    #: only an energy meter and a pulse counter
    modbus_map: Literal["machine", "energy_meter"] = "machine"
    #: counters that tell good from bad; a pulse counter only counts
    quality_counters: bool = True
    #: the supply's power meter (`power_kw`, and the cumulative `energy_kwh`)
    power: Power = field(default_factory=Power)

    @property
    def values(self) -> tuple[str, ...]:
        """Every value a face shows besides states and counters: process values, then the
        power meter."""
        return self.process + tuple(v for v in ("power_kw", "energy_kwh") if v not in self.process)


ARCHETYPES: dict[str, Params] = {
    "cnc": Params(
        cycle_spread=0.02,
        speed_loss=0.05,
        mtbf_min=240,
        mttr_min=25,
        micro_stops_per_hour=0.5,
        scrap_rate=0.015,
        setup_min=45,
        order_quantity=60,
        fault_reasons=("tool_break", "coolant", "spindle_alarm", "door_interlock"),
        process=("spindle_load_pct",),
        power=_power(10.0, 2.2, 1.8, 1.5, 0.6),
    ),
    "injection_moulding": Params(
        cycle_spread=0.03,
        speed_loss=0.06,
        mtbf_min=180,
        mttr_min=15,
        micro_stops_per_hour=3,
        scrap_rate=0.01,
        setup_min=35,
        startup_scrap_cycles=12,
        cavities=4,
        order_quantity=4000,
        temp_drift_c_per_h=1.0,
        fault_reasons=("mould_stuck", "heater_band", "hydraulics", "material"),
        process=("barrel_temp_c", "injection_pressure_bar"),
        power=_power(16.0, 7.5, 5.0, 6.0, 0.9, warmup_kw=22.0, warmup_min=25.0),
    ),
    "filler": Params(
        cycle_spread=0.05,
        speed_loss=0.1,
        mtbf_min=150,
        mttr_min=10,
        micro_stops_per_hour=25,
        micro_stop_s=(5, 60),
        starved_per_hour=3,
        blocked_per_hour=2,
        external_stop_min=2.5,
        scrap_rate=0.005,
        setup_min=25,
        order_quantity=6000,
        fault_reasons=("jam", "cap_feeder", "label_sensor", "bottle_fallen"),
        micro_state="idle",
        process=("speed_bpm", "line_pressure_bar"),
        power=_power(7.5, 3.2, 1.6, 2.0, 0.4, running_spread=0.05),
    ),
    "press": Params(
        cycle_spread=0.02,
        speed_loss=0.07,
        mtbf_min=200,
        mttr_min=20,
        micro_stops_per_hour=4,
        scrap_rate=0.01,
        setup_min=30,
        order_quantity=1200,
        fault_reasons=("die_crack", "misfeed", "hydraulics", "light_curtain"),
        process=("stroke_rate_spm", "tonnage_t"),
        power=_power(21.0, 6.5, 2.5, 3.0, 0.5),
    ),
    "laser": Params(
        cycle_spread=0.1,
        speed_loss=0.05,
        mtbf_min=300,
        mttr_min=20,
        micro_stops_per_hour=1,
        scrap_rate=0.008,
        setup_min=15,
        order_quantity=150,
        fault_reasons=("nozzle", "collision", "gas_pressure", "sheet_jam"),
        process=("laser_power_kw", "gas_pressure_bar"),
        power=_power(24.0, 6.0, 4.0, 5.0, 0.8),
    ),
    "legacy_lathe": Params(
        cycle_spread=0.1,
        speed_loss=0.12,
        mtbf_min=300,
        mttr_min=30,
        micro_stops_per_hour=1,
        scrap_rate=0.0,
        setup_min=40,
        order_quantity=40,
        fault_reasons=("belt", "chuck", "motor_overload"),
        modbus_map="energy_meter",
        quality_counters=False,
        power=_power(4.5, 0.35, 0.8, 0.05, 0.05, running_spread=0.13),
    ),
}


def resolve(archetype: str, overrides: Behaviour) -> Params:
    """The archetype's defaults with the scenario's overrides applied."""
    base = ARCHETYPES[archetype]
    given = {
        f.name: getattr(overrides, f.name)
        for f in fields(Params)
        if f.name in Behaviour.model_fields and getattr(overrides, f.name) is not None
    }
    return replace(base, **given)
