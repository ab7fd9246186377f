"""Every energy rule of domain.md §8: the worked check, held power cut by `offline`, the meter as
a counter, the §7 JSON, and invariants over random histories (hypothesis)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlab.kpi.output import render_table, to_json
from tests.helpers import AMS, MIN, Machine, local, oee, site

T0 = local("2026-03-02 06:00")
PRICED = site("energy: {price_per_kwh: 0.25, currency: EUR, co2_kg_per_kwh: 0.33}")


def test_the_worked_check():
    """One planned hour; 10 kW running for 40 min, then 2 kW idle for 20 min; 100 good units."""
    m = Machine().state(T0, "running").at(T0, "power_kw", 10.0)
    m.state(T0 + 40 * MIN, "idle").at(T0 + 40 * MIN, "power_kw", 2.0)
    m.at(T0, "count_good", 0).at(T0 + 30 * MIN, "count_good", 100)
    e = oee(m, T0, T0 + 60 * MIN, PRICED).energy
    assert e is not None
    assert round(e.kwh, 3) == 7.333
    assert round(e.by_state_kwh["running"], 3) == 6.667
    assert round(e.by_state_kwh["idle"], 3) == 0.667
    assert round(e.non_productive_kwh or 0, 3) == 0.667
    assert round(e.kwh_per_good or 0, 4) == 0.0733
    assert round(e.cost or 0, 2) == 1.83 and e.currency == "EUR"
    assert round(e.co2_kg or 0, 3) == round(7.3333333 * 0.33, 3)


def test_power_holds_until_the_next_sample_or_until_offline_begins():
    m = Machine().state(T0, "running").at(T0, "power_kw", 6.0)
    m.state(T0 + 30 * MIN, "offline")  # no reading after this: nothing is held through the gap
    m.state(T0 + 50 * MIN, "running").at(T0 + 55 * MIN, "power_kw", 6.0)
    e = oee(m, T0, T0 + 60 * MIN).energy
    assert e is not None
    assert math.isclose(e.kwh, 6.0 * 0.5 + 6.0 * 5 / 60)  # nothing between 50 and 55 either
    assert e.by_state_kwh["offline"] == 0.0
    # nothing before the first sample
    late = Machine().state(T0, "running").at(T0 + 30 * MIN, "power_kw", 4.0)
    assert math.isclose(oee(late, T0, T0 + 60 * MIN).energy.kwh, 2.0)  # type: ignore[union-attr]


def test_a_meter_is_a_counter_and_power_only_splits_it():
    """`energy_kwh` deltas with ts in the window are the total (reset and wrap as §4 says);
    `power_kw` then only splits by state."""
    m = Machine().state(T0, "running").at(T0, "power_kw", 1.0)
    for i, reading in enumerate((100.0, 101.5, 103.0, 0.5, 2.0)):  # a reset after 103.0
        m.at(T0 + (i - 1) * 10 * MIN, "energy_kwh", reading)  # the first is before the window
    e = oee(m, T0, T0 + 60 * MIN).energy
    assert e is not None
    assert math.isclose(e.kwh, 1.5 + 1.5 + 0.5 + 1.5)
    assert math.isclose(e.by_state_kwh["running"], 1.0)  # the split still comes from power
    wrapped = Machine().state(T0, "running")
    for i, reading in enumerate((65530.0, 65535.0, 4.0)):
        wrapped.at(T0 + i * 10 * MIN, "energy_kwh", reading)
    cfg = site("machines: {press-1: {counters: {energy_kwh: {wrap: 65536}}}}")
    assert math.isclose(oee(wrapped, T0, T0 + 60 * MIN, cfg).energy.kwh, 5 + 5)  # type: ignore[union-attr]


def test_no_energy_signal_is_null_and_no_keys_no_money():
    plain = Machine().state(T0, "running")
    assert oee(plain, T0, T0 + 60 * MIN).energy is None
    assert to_json(oee(plain, T0, T0 + 60 * MIN), AMS)["energy"] is None
    m = Machine().state(T0, "running").at(T0, "power_kw", 3.0)
    e = oee(m, T0, T0 + 60 * MIN).energy
    assert e is not None and e.cost is None and e.co2_kg is None and e.kwh_per_good is None


def test_fieldlab_oee_json_and_table_carry_energy():
    m = Machine().state(T0, "running").at(T0, "power_kw", 10.0)
    m.state(T0 + 40 * MIN, "idle").at(T0 + 40 * MIN, "power_kw", 2.0)
    m.at(T0, "count_good", 0).at(T0 + 30 * MIN, "count_good", 100)
    r = oee(m, T0, T0 + 60 * MIN, PRICED)
    obj = json.loads(json.dumps(to_json(r, AMS)))
    assert obj["energy"]["kwh"] == 7.333 and obj["energy"]["cost"] == 1.83
    assert obj["energy"]["by_state_kwh"]["running"] == 6.667
    assert obj["energy"]["non_productive_kwh"] == 0.667 and obj["energy"]["kwh_per_good"] == 0.0733
    assert obj["energy"]["currency"] == "EUR"
    table = render_table([r], AMS, "nl")
    assert "energie: 7,333 kWh (draait 6,667, wacht 0,667)" in table, table
    assert "0,0733 kWh/goed stuk · 1,83 EUR" in table, table


STATES = st.sampled_from(["running", "idle", "fault", "setup", "offline", "planned_stop"])


@st.composite
def histories(draw):
    m = Machine()
    t = T0 - draw(st.integers(0, 30)) * MIN
    for _ in range(draw(st.integers(1, 12))):
        m.state(t, draw(STATES))
        if draw(st.booleans()):
            m.at(t + draw(st.integers(0, 5)) * MIN, "power_kw", draw(st.floats(0, 50)))
        t += draw(st.integers(1, 40)) * MIN
    m.at(T0 - 60 * MIN, "power_kw", draw(st.floats(0, 50)))
    return m, draw(st.integers(1, 179))


@settings(max_examples=150, deadline=None)
@given(histories())
def test_energy_by_state_adds_up_and_window_splits_keep_the_sums(case):
    m, cut = case
    end = T0 + 180 * MIN
    whole = oee(m, T0, end, now=end).energy
    a = oee(m, T0, T0 + cut * MIN, now=end).energy
    b = oee(m, T0 + cut * MIN, end, now=end).energy
    assert whole is not None and a is not None and b is not None
    assert math.isclose(sum(whole.by_state_kwh.values()), whole.kwh, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(a.kwh + b.kwh, whole.kwh, rel_tol=1e-9, abs_tol=1e-9)
    for state, kwh in whole.by_state_kwh.items():
        both = a.by_state_kwh[state] + b.by_state_kwh[state]
        assert math.isclose(both, kwh, rel_tol=1e-9, abs_tol=1e-9), state
    assert whole.by_state_kwh["offline"] >= 0 and whole.kwh >= 0


def test_the_store_path_gives_the_same_energy(tmp_path):
    """`fieldlab oee` reads power with the reading before the window (it holds into it) and the
    meter's baseline from the store: the same figures as the in-memory history."""
    from fieldlab.kpi.query import store_oee
    from fieldlab.store import SqliteStore

    m = Machine().state(T0 - 90 * MIN, "running").at(T0 - 90 * MIN, "power_kw", 8.0)
    m.at(T0 - 5 * MIN, "energy_kwh", 500.0).at(T0 + 30 * MIN, "energy_kwh", 504.0)
    m.state(T0 + 40 * MIN, "idle").at(T0 + 40 * MIN, "power_kw", 1.0)
    with SqliteStore(tmp_path / "f.db") as store:
        store.write(m.samples)
        got = store_oee(store, PRICED, "press-1", T0, T0 + 60 * MIN, now=T0 + 60 * MIN).energy
    want = oee(m, T0, T0 + 60 * MIN, PRICED).energy
    assert got == want and got is not None
    assert math.isclose(got.kwh, 4.0) and math.isclose(got.by_state_kwh["running"], 8 * 40 / 60)


def test_machine_page_and_overview_show_energy_in_the_readers_words(tmp_path, monkeypatch):
    from fieldlab.store import SqliteStore
    from tests.pages import SITE, page

    (tmp_path / "site.yaml").write_text(SITE + "energy: {price_per_kwh: 0.25}\n")
    m = Machine().state(T0, "running").at(T0, "power_kw", 10.0)
    m.state(T0 + 40 * MIN, "idle").at(T0 + 40 * MIN, "power_kw", 2.0)
    m.at(T0, "count_good", 0).at(T0 + 30 * MIN, "count_good", 100)
    m.state(T0 + 60 * MIN, "planned_stop").at(T0 + 60 * MIN, "power_kw", 0.0)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(m.samples)
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "nl")
    at = page("machine", "nl")
    at.selectbox(key="machine").set_value("press-1").run()
    assert "Energie" in [s.value for s in at.subheader]
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["kWh"] == "7,3" and metrics["kWh/goed stuk"] == "0,073", metrics
    assert metrics["zonder productie"] == "0,7 kWh", metrics
    assert any("energiekosten: 1,83 EUR" in c.value for c in at.caption)
    overview = page("overview", "nl")
    assert any(
        "Energie van de site deze periode: 7,3 kWh · 1,83 EUR" in c.value for c in overview.caption
    )
