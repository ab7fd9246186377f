"""A signal's unit from its name's suffix (`spindle_load_pct` is in %, `barrel_temp_c` in °C):
the convention the simulators and most PLC tag lists follow, so a chart says its unit without a
line in the site file (which can still give one: `signals: {x: {unit: …}}`)."""

from __future__ import annotations

#: suffix → unit, the longer suffix first where two share an ending (_kwh before _h)
SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_pct", "%"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_c", "°C"),
    ("_bar", "bar"),
    ("_rpm", "rpm"),
    ("_bpm", "/min"),
    ("_spm", "/min"),
    ("_hz", "Hz"),
    ("_mm", "mm"),
    ("_t", "t"),
    ("_a", "A"),
    ("_v", "V"),
    ("_s", "s"),
)


def unit_of(signal: str) -> str | None:
    """The unit the signal's name says, or None (a state, a counter, a name with no suffix)."""
    return next((unit for suffix, unit in SUFFIX_UNITS if signal.endswith(suffix)), None)
