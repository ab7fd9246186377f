"""Simulated operators (#29, simulators/operators.py): the people at a terminal enter orders
with their targets, scrap found at an order's end and the reasons of stops, after a delay and
not always right; deterministic, changing nothing the machine produces, and their orders split
the machine's figures exactly (domain.md §5 per order)."""

from __future__ import annotations

import json
from pathlib import Path

from fieldlab.config import SiteConfig
from fieldlab.domain.samples import sample_from_mapping
from fieldlab.kpi.orders import order_runs
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.scenario import Scenario
from fieldlab.store import SqliteStore
from fieldlab.store.ingest import ingest_file
from tests.helpers import MIN
from tests.truth import RUN_START, run_sim

HOURS = 6
END = RUN_START + HOURS * 60 * MIN
REASONS = ["die_crack", "misfeed", "hydraulics", "light_curtain", "material", "no_operator"]
REASONS += ["changeover", "downstream_full", "sensor", "jam"]


def scenario(**operator) -> Scenario:
    return Scenario.model_validate(
        {
            "site": "ops",
            "start": "2026-03-02T06:00",
            "seed": 7,
            "calendar": {
                "shifts": [{"name": "day", "days": ["mon"], "start": "06:00", "end": "22:00"}],
                "breaks": [{"days": ["mon"], "start": "10:00", "end": "10:30"}],
            },
            "machines": {
                "press-1": {
                    "archetype": "press",
                    "ideal_cycle_time_s": 6,
                    "products": {
                        "A-100": {"ideal_cycle_time_s": 5},
                        "B-200": {"ideal_cycle_time_s": 7},
                    },
                    "behaviour": {
                        "starved_per_hour": 3,
                        "blocked_per_hour": 2,
                        "external_stop_min": 5,
                        "mtbf_min": 40,
                    },
                }
            },
            "orders": [
                {"machine": "press-1", "product": "A-100", "quantity": 900, "number": "4711"},
                {"machine": "press-1", "product": "B-200", "quantity": 600},
            ],
            "operators": {"press-1": operator} if operator is not None else {},
            "reasons": REASONS,
        }
    )


def truth(path: Path) -> list:
    return [sample_from_mapping(json.loads(line)) for line in path.read_text().splitlines()]


def run(tmp: Path, name: str, **operator) -> list:
    run_sim(scenario(**operator), tmp / f"{name}.jsonl", HOURS, step_ms=7_000)
    return truth(tmp / f"{name}.jsonl")


def test_operators_add_entries_and_change_nothing_the_machine_produces(tmp_path):
    alone = set(run_sim_without_operators(tmp_path))
    samples = run(tmp_path, "with", inspect_scrap=0.01)
    added = [s for s in samples if s not in alone]
    assert alone <= set(samples)
    assert {s.signal for s in added} == {"order", "order_target", "reason", "scrap_entry"}
    # the same seed, another step: the same entries to the byte
    run_sim(scenario(inspect_scrap=0.01), tmp_path / "b.jsonl", HOURS, step_ms=60_000)
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "with.jsonl").read_bytes()


def run_sim_without_operators(tmp: Path) -> list:
    sc = scenario()
    sc.operators = {}
    run_sim(sc, tmp / "alone.jsonl", HOURS, step_ms=7_000)
    return truth(tmp / "alone.jsonl")


def test_orders_are_numbered_with_targets_and_split_the_figures_exactly(tmp_path):
    run(tmp_path, "t", inspect_scrap=0.01)
    sc = scenario(inspect_scrap=0.01)
    site: SiteConfig = sc.site_config()
    with SqliteStore(tmp_path / "t.db") as store:
        ingest_file(store, tmp_path / "t.jsonl", quiet=True)
        orders = store.read("press-1", "order", 0, END + 1)
        assert orders.values[0] == "4711" and int(orders.ts[0]) == RUN_START
        assert len(orders) >= 3, orders.values  # changeovers in six hours
        assert list(orders.values[1:3]) == ["PRESS-1-002", "PRESS-1-003"]
        targets = store.read("press-1", "order_target", 0, END + 1)
        assert targets.values.tolist()[:3] == [900, 600, 900]
        runs = order_runs(store, site, "press-1", RUN_START, END, now=END)
        whole = store_oee(store, site, "press-1", RUN_START, END, now=END)
    assert [r.order for r in runs] == list(orders.values)
    assert [r.target for r in runs][:2] == [900, 600]
    # the orders cover the whole window: their units add up to the machine's, scrap entries too
    for key in ("total", "good", "scrap"):
        assert sum(getattr(r.result, key) for r in runs) == getattr(whole, key), key
    assert sum(r.result.planned_s for r in runs) == whole.planned_s
    # a completed order made its target (the machine changes over when it has), a scrap entry
    # at its end took some back
    done = runs[0]
    assert done.result.good + done.result.scrap >= 900 and done.to_target is not None
    entries = store_scrap_entries(tmp_path / "t.jsonl")
    assert entries and all(0 < n < 50 for n in entries)


def store_scrap_entries(path: Path) -> list[int]:
    return [int(s.value) for s in truth(path) if s.signal == "scrap_entry"]


def test_reasons_come_after_the_delay_inside_the_stop_and_as_right_as_the_operator(tmp_path):
    samples = run(tmp_path, "right", explain_share=1.0, accuracy=1.0, explain_after_s=90)
    states = [(s.ts, s.value) for s in samples if s.signal == "state"]
    machine_reasons = {s.ts for s in samples if s.signal == "reason" and s.ts in dict(states)}
    said = [s for s in samples if s.signal == "reason" and s.ts not in machine_reasons]
    assert said
    expected = {"idle": "no_operator", "starved": "material", "blocked": "downstream_full"}
    expected["fault"] = "sensor"
    for s in said:
        # the state that held when the reason was said, and since when
        began, state = max((t, v) for t, v in states if t <= s.ts)
        assert s.ts - began == 90_000, (s, began, state)
        assert s.value == expected[str(state)], (s, state)
    # a stop that ended within 90 s got no reason from the operator
    short = [
        (t, v)
        for (t, v), (t2, _) in zip(states, states[1:], strict=False)
        if v in expected and t2 - t < 90_000
    ]
    assert short and not any(s.ts - 90_000 == t for t, _ in short for s in said)
    # a fault the press said itself (its code at the stop's start) is not explained again
    coded = {s.ts for s in samples if s.signal == "reason" and s.ts in machine_reasons}
    assert coded and not any(s.ts - 90_000 in coded for s in said)

    half = run(tmp_path, "half", explain_share=1.0, accuracy=0.5, explain_after_s=90)
    assert [s for s in half if s.signal == "state"] == [s for s in samples if s.signal == "state"]
    given = [s for s in half if s.signal == "reason" and s.ts not in machine_reasons]
    right = [
        s for s in given if s.value == expected[str(max(x for x in states if x[0] <= s.ts)[1])]
    ]
    assert 0.3 < len(right) / len(given) < 0.8, (len(right), len(given))


def test_an_operator_naming_a_reason_the_site_lacks_is_refused_with_its_key():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"operators.press-1.reasons: coffee"):
        scenario(reasons={"idle": "coffee"})
