"""The operator terminal (#29) in Streamlit's AppTest, on a store with a machine standing still
right now: a tap on a reason stores it for that stop, scrap and orders are stored as the
samples domain.md §2 names, each confirmed once stored."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fieldlab.domain.samples import Sample
from fieldlab.store import SqliteStore
from tests.pages import PAGES

SITE = """\
timezone: Europe/Amsterdam
store: sqlite:///fieldlab.db
machines:
  press-1:
    name: {en: Press, nl: Pers}
    ideal_cycle_time_s: 20
    products: {A: {ideal_cycle_time_s: 20}, B: {ideal_cycle_time_s: 25}}
reasons:
  jam: {en: Jam, nl: Vastloper}
  changeover: {en: Changeover, nl: Omstellen, category: setup}
  material: {en: No material, nl: Geen materiaal}
"""


@pytest.fixture
def stopped(tmp_path, monkeypatch) -> tuple[Path, int]:
    """press-1 ran for two hours and has stood idle for ten minutes, nobody said why."""
    (tmp_path / "site.yaml").write_text(SITE)
    now = int(time.time() * 1000)
    idle = now - 600_000
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(
            [
                Sample(now - 7_200_000, "press-1", "state", "running"),
                Sample(now - 7_200_000, "press-1", "count_total", 0),
                Sample(idle - 1, "press-1", "count_total", 300),
                Sample(idle, "press-1", "state", "idle"),
            ]
        )
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    return tmp_path / "fieldlab.db", idle


def box(at: AppTest, label: str):
    return next(b for b in at.selectbox if b.label == label)


def terminal() -> AppTest:
    at = AppTest.from_file(str(PAGES / "terminal.py"), default_timeout=60)
    at.query_params["machine"] = "press-1"
    return at.run()


def test_a_tap_on_a_reason_stores_it_for_the_stop_going_on(stopped):
    db, idle = stopped
    at = terminal()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "idle" in text and "Press" in at.header[0].value
    labels = [b.label for b in at.button]
    assert {"Jam", "Changeover", "No material"} <= set(labels)
    at.button(key="reason-changeover").click().run()
    assert any("Saved: Changeover" in s.value for s in at.success)
    with SqliteStore(db, readonly=True) as store:
        reasons = store.read("press-1", "reason", 0, 2**62)
        entries = store.entries()
    assert reasons.ts.tolist() == [idle] and reasons.values.tolist() == ["changeover"]
    assert (entries[0].signal, entries[0].by, entries[0].source) == ("reason", "terminal", "manual")


def test_scrap_and_an_order_are_stored_as_their_samples(stopped):
    db, _ = stopped
    at = terminal()
    at.number_input[0].set_value(3)
    at.button(key="FormSubmitter:scrap-Book as scrap").click().run()
    assert any("Choose why" in w.value for w in at.warning)  # a number alone: not stored
    at.number_input[0].set_value(3)
    box(at, "Why scrap").set_value("burr")
    at.button(key="FormSubmitter:scrap-Book as scrap").click().run()
    assert any("3 units scrap (Burr)" in s.value for s in at.success), [s.value for s in at.success]
    # good units now count the scrap found by a person (domain.md §2)
    assert "good 297" in " ".join(m.value for m in terminal().markdown)
    at.text_input[0].set_value("4711")
    at.number_input[1].set_value(500)
    box(at, "Product").set_value("B")
    at.button(key="FormSubmitter:order-Start order").click().run()
    assert any("order 4711 started" in s.value for s in at.success)
    with SqliteStore(db, readonly=True) as store:
        assert store.read("press-1", "scrap_entry", 0, 2**62).values.tolist() == [3]
        assert store.read("press-1", "order", 0, 2**62).values.tolist() == ["4711"]
        assert store.read("press-1", "product", 0, 2**62).values.tolist() == ["B"]
        assert store.read("press-1", "order_target", 0, 2**62).values.tolist() == [500]
        why = [(e.value, e.by) for e in store.entries(signal="scrap_reason")]
    assert why == [("burr", "terminal")]
    # the order's own good units against its target: none yet, it has just begun
    assert "order 4711 · B · good 0 of 500" in " ".join(m.value for m in terminal().markdown)


def test_a_handover_note_is_shown_to_the_next_shift_at_the_machine_and_on_the_overview(stopped):
    db, _ = stopped
    at = terminal()
    at.text_area[0].set_value("Matrijs 2 loopt warm; na 10:00 controleren.")
    at.button(key="FormSubmitter:handover-Save note").click().run()
    assert any("note for the next shift" in s.value for s in at.success)
    again = terminal()
    assert any("Matrijs 2 loopt warm" in i.value for i in again.info)
    overview = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    assert any("Matrijs 2 loopt warm" in m.value for m in overview.markdown)
    # the stop reasons page lists reasons people entered, not notes, scrap or orders
    reasons = AppTest.from_file(str(PAGES / "reasons.py"), default_timeout=60).run()
    assert not any("Matrijs" in str(df.value) for df in reasons.dataframe)


def test_the_orders_page_shows_each_order_with_its_figures(stopped):
    """domain.md §5 per order, as `fieldlab oee --by order` computes it."""
    db, idle = stopped
    with SqliteStore(db) as store:
        store.write(
            [
                Sample(idle - 7_000_000, "press-1", "order", "4711"),
                Sample(idle - 7_000_000, "press-1", "product", "A"),
                Sample(idle - 6_600_000, "press-1", "count_good", 0),
                Sample(idle - 1, "press-1", "count_good", 290),
            ]
        )
    at = AppTest.from_file(str(PAGES / "orders.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table["Order"].tolist() == ["4711"] and table["Product"].tolist() == ["A"]
    assert table["machine"].tolist() == ["Press"] and table["good"].tolist() == ["290"]
    assert table["OEE"].tolist()[0].endswith("%")


def test_the_state_says_the_reason_of_this_stop_never_of_one_that_is_over(stopped):
    """A jam explained an hour ago, running since, idle now and unexplained: neither the
    terminal nor the overview's tile says "jam" (domain.md §2: a reason is its episode's)."""
    db, idle = stopped
    with SqliteStore(db) as store:
        store.write([Sample(idle - 3_000_000, "press-1", "state", "fault")])
        store.write([Sample(idle - 3_000_000, "press-1", "reason", "jam")])
        store.write([Sample(idle - 2_400_000, "press-1", "state", "running")])
    at = terminal()
    line = next(m.value for m in at.markdown if "class='term-state'" in m.value)
    assert "idle" in line and "Jam" not in line, line
    assert any("Why did it stop" in h.value for h in at.subheader)
    tiles = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    states = [m.value for m in tiles.markdown if "border-radius:4px" in m.value]
    assert states and not any("Jam" in s for s in states), states
    # a corrected reason is the episode's: the terminal says it, and asks for another one
    at.button(key="reason-material").click().run()
    line = next(m.value for m in terminal().markdown if "class='term-state'" in m.value)
    assert "No material" in line, line


def test_after_a_restart_it_asks_for_the_downtime_stop_nobody_explained_not_for_small_ones(
    tmp_path, monkeypatch
):
    (tmp_path / "site.yaml").write_text(SITE)
    now = int(time.time() * 1000)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(
            [
                Sample(now - 1_800_000, "press-1", "state", "running"),
                Sample(now - 1_200_000, "press-1", "state", "fault"),  # 5 min: downtime
                Sample(now - 900_000, "press-1", "state", "running"),
                Sample(now - 300_000, "press-1", "state", "idle"),  # 1 min: a small stop
                Sample(now - 240_000, "press-1", "state", "running"),
            ]
        )
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    at = terminal()
    asked = [h.value for h in at.subheader if "nobody said why" in h.value]
    assert len(asked) == 1 and "(5 min 00 s)" in asked[0], [h.value for h in at.subheader]
    at.button(key="reason-jam").click().run()
    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
        reasons = store.read("press-1", "reason", 0, 2**62)
    assert reasons.ts.tolist() == [now - 1_200_000] and reasons.values.tolist() == ["jam"]
    assert not [h.value for h in terminal().subheader if "nobody said why" in h.value]


def test_a_viewer_gets_nothing_to_enter_and_a_station_only_its_machine(stopped):
    from fieldlab.dashboards.auth import User

    at = AppTest.from_file(str(PAGES / "terminal.py"), default_timeout=60)
    at.session_state["fieldlab_user"] = User("vera", "Vera", "viewer")
    at.run()
    assert [e.value for e in at.error] == [
        "This terminal is for operators: your login may read the figures but enter nothing here."
    ]
    assert not at.button and not at.number_input and not at.text_input
    station = AppTest.from_file(str(PAGES / "terminal.py"), default_timeout=60)
    station.session_state["fieldlab_user"] = User(
        "station:press-1", "press-1", "station", "press-1"
    )
    station.query_params["machine"] = "other-9"  # a typed address changes nothing
    station.run()
    assert station.header[0].value == "Press" and station.button(key="reason-jam")


def test_the_reasons_most_used_at_this_machine_come_first(stopped):
    from fieldlab.domain.entries import Entry

    db, idle = stopped
    with SqliteStore(db) as store:
        store.write_entries(
            [
                Entry(idle - k * 60_000, "press-1", "reason", "material", "olga", idle)
                for k in (1, 2)
            ]
            + [Entry(idle - 3 * 60_000, "press-1", "reason", "jam", "olga", idle)]
        )
    labels = [b.label for b in terminal().button if b.key and b.key.startswith("reason-")]
    # the setup group (Changeover) first, then the rest most used first: No material (2), Jam (1)
    assert labels == ["Changeover", "No material", "Jam"], labels
