"""The simulator's Modbus register map is written once (simulators/register_map.py): whatever the
face writes, the gateway's field config for it reads back, for every machine of the scenario."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlab.connectors.modbus.codec import WORDS, decode
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.register_map import STATE_CODES, block, gateway_fields, registers
from fieldlab.simulators.scenario import load_scenario

SCENARIO = load_scenario()


def read_back(fields: dict, words: list[int]) -> dict:
    """What the gateway's codec makes of the words, field by field (before mapping to samples)."""
    out = {}
    for signal, f in fields.items():
        raw = decode(
            words[f["address"] : f["address"] + WORDS[f["type"]]], f["type"], f.get("order", "ABCD")
        )
        if "map" in f:
            out[signal] = f["map"].get(str(raw), raw)
        else:
            out[signal] = raw * f.get("scale", 1.0)
    return out


@settings(max_examples=60, deadline=None)
@given(
    machine=st.sampled_from(sorted(SCENARIO.machines)),
    state=st.sampled_from(sorted(STATE_CODES)),
    reason=st.sampled_from(["", *SCENARIO.reasons]),
    total=st.integers(0, 2**32 - 1),
    good=st.integers(0, 2**16 - 1),
    power=st.floats(0, 100, allow_nan=False, width=32),
    wh=st.integers(0, 2**32 - 1),
    sim_now=st.integers(0, (2**32 - 1) * 1000),  # the time registers hold UINT32 seconds: to 2106
)
def test_the_gateway_reads_back_what_the_face_writes(
    machine, state, reason, total, good, power, wh, sim_now
):
    spec = SCENARIO.machines[machine]
    values = {
        "state": state,
        "reason": reason,
        "count_total": total,
        "count_good": good,
        "count_scrap": 0,
        "power_kw": power,
        "energy_kwh": wh / 1000,
    }
    if spec.products:
        values["product"] = sorted(spec.products)[0]
    for pv in resolve(spec.archetype, spec.behaviour).values:
        values.setdefault(pv, power)
    regs = registers(SCENARIO, machine)
    words = block(regs, values, sim_now)
    assert len(words) == 32 and all(0 <= w < 65536 for w in words)
    got = read_back(gateway_fields(regs), words)
    assert got, machine
    for signal, value in got.items():
        want = values[signal]
        if signal == "count_total" and "state" not in got:
            want = total % 65536  # the lathe's 16-bit pulse counter wraps
        if isinstance(want, float):
            assert math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-3), (signal, value, want)
        else:
            assert value == want, (machine, signal, value, want)
    assert decode(words[8:10], "UINT32", "ABCD") * 1000 + words[10] == sim_now
