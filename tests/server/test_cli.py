"""The `fieldlab` command line as a user runs it: a real process, files, a SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldlab.config import load_site_config
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.history import histories_from_samples
from fieldlab.domain.samples import Sample, format_ts
from fieldlab.kpi.oee import compute_oee
from fieldlab.kpi.output import to_json
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore
from fieldlab.store.files import write_jsonl
from tests.helpers import local

SITE = """\
timezone: Europe/Amsterdam
store: sqlite:///fieldlab.db
calendar:
  shifts:
    - {days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}
    - {days: [mon, tue, wed, thu], start: "22:00", end: "06:00"}
  breaks:
    - {days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}
machines:
  press-1:
    ideal_cycle_time_s: 20
    products: {A-100: {ideal_cycle_time_s: 15}, B-200: {ideal_cycle_time_s: 30}}
  cnc-1: {ideal_cycle_time_s: 120}
"""


def fieldlab(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "fieldlab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FIELDLAB_LANG": "en", **(env or {})},
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "site.yaml").write_text(SITE)
    return tmp_path


def three_days(workdir: Path) -> list[Sample]:
    cfg = load_site_config(workdir / "site.yaml")
    start, end = local("2026-03-02 00:00"), local("2026-03-05 00:00")
    planned = Calendar(cfg.calendar, cfg.tz).planned(start, end)
    return synthetic_samples(
        "press-1", Profile(20, products=("A-100", "B-200")), start, end, 7, planned
    ) + synthetic_samples("cnc-1", Profile(120), start, end, 8)


def test_help_teaches_and_version_answers(tmp_path):
    out = fieldlab("--help", cwd=tmp_path)
    assert out.returncode == 0 and "fieldlab demo" in out.stdout and "ingest" in out.stdout
    out = fieldlab("oee", "--help", cwd=tmp_path)
    assert "examples:" in out.stdout and "--dialect" in out.stdout
    assert fieldlab("--version", cwd=tmp_path).stdout.startswith("fieldlab-kit ")


def test_ingest_then_oee_agrees_with_the_engine_in_memory(workdir):
    samples = three_days(workdir)
    with (workdir / "truth.jsonl").open("w") as fh:
        write_jsonl(samples, fh)
    out = fieldlab("ingest", "truth.jsonl", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert f"{len(samples):,} samples stored, 0 lines rejected" in out.stdout

    cfg = load_site_config(workdir / "site.yaml")
    histories = histories_from_samples(samples)
    now = max(s.ts for s in samples) + 1
    windows = [
        ("2026-03-02T06:00", "2026-03-02T14:00"),
        ("2026-03-03T22:00", "2026-03-04T06:00"),
        ("2026-03-02", "2026-03-05"),
        ("2026-03-03T09:13", "2026-03-03T11:07"),
    ]
    for start_text, end_text in windows:
        out = fieldlab(
            "oee", "--from", start_text, "--to", end_text, "--now", str(now), "--json", cwd=workdir
        )
        assert out.returncode == 0, out.stderr
        got = {o["machine"]: o for o in json.loads(out.stdout)}
        for machine in ("press-1", "cnc-1"):
            start, end = local(start_text.replace("T", " ")), local(end_text.replace("T", " "))
            r = compute_oee(
                histories[machine],
                start,
                end,
                now=now,
                calendar=Calendar(cfg.calendar, cfg.tz),
                machine=cfg.machine(machine),
            )
            assert got[machine] == to_json(r, cfg.tz), (machine, start_text)
            assert got[machine]["total"] > 0


def test_oee_table_and_single_machine_json(workdir):
    with (workdir / "truth.jsonl").open("w") as fh:
        write_jsonl(three_days(workdir), fh)
    fieldlab("ingest", "truth.jsonl", cwd=workdir)
    out = fieldlab(
        "oee", "-m", "press-1", "--from", "2026-03-02", "--to", "2026-03-03", "--json", cwd=workdir
    )
    obj = json.loads(out.stdout)
    assert obj["machine"] == "press-1" and obj["from"] == "2026-03-02T00:00:00.000+01:00"
    assert list(obj)[:17] == [
        "machine",
        "from",
        "to",
        "planned_s",
        "run_s",
        "downtime_s",
        "small_stop_s",
        "availability",
        "performance",
        "quality",
        "oee",
        "total",
        "good",
        "scrap",
        "ideal_s",
        "losses_s",
        "reasons",
    ]
    assert list(obj)[17:] == ["coverage", "energy", "flags"]  # domain.md §7, second version
    assert 0 <= obj["coverage"] <= 1 and obj["energy"] is None
    table = fieldlab("oee", "--from", "2026-03-02", "--to", "2026-03-03", cwd=workdir)
    assert table.returncode == 0
    assert "press-1" in table.stdout and "cnc-1" in table.stdout and "OEE" in table.stdout
    header = next(line for line in table.stdout.splitlines() if line.startswith("machine"))
    assert header.split()[-1] == "observed"  # the coverage column
    dutch = fieldlab(
        "oee", "--from", "2026-03-02", "--to", "2026-03-03", "--lang", "nl", cwd=workdir
    )
    assert "beschikbaarheid" in dutch.stdout and "stilstand" in dutch.stdout
    iso = fieldlab(
        "oee",
        "-m",
        "press-1",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--dialect",
        "iso",
        "--json",
        cwd=workdir,
    )
    iso_obj = json.loads(iso.stdout)
    assert iso_obj["dialect"] == "iso" and "effectiveness" in iso_obj
    assert iso_obj["oee"] == obj["oee"]


def test_ingest_keeps_good_lines_and_reports_bad_ones(workdir):
    ts = format_ts(local("2026-03-02 06:00"))
    lines = [
        json.dumps({"ts": ts, "machine": "press-1", "signal": "state", "value": "running"}),
        "{not json",
        json.dumps({"ts": ts, "machine": "Press 1", "signal": "state", "value": "idle"}),
        "",
        json.dumps({"ts": ts, "machine": "press-1", "signal": "count_total", "value": -3}),
        json.dumps({"ts": ts, "machine": "press-1", "signal": "count_total", "value": 5}),
        json.dumps({"ts": "2026-03-02T06:00", "machine": "press-1", "signal": "x", "value": 1}),
    ]
    (workdir / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    out = fieldlab("ingest", "mixed.jsonl", cwd=workdir)
    assert out.returncode == 1
    assert "2 samples stored, 4 lines rejected" in out.stdout
    assert "mixed.jsonl:2: not valid JSON" in out.stderr
    assert "mixed.jsonl:3: machine: 'Press 1'" in out.stderr
    assert "mixed.jsonl:5: value: count_total must be a whole number >= 0" in out.stderr
    assert "mixed.jsonl:7: ts: '2026-03-02T06:00' has no UTC offset" in out.stderr
    with SqliteStore(workdir / "fieldlab.db", readonly=True) as store:
        assert store.rejected_count() == 4
        sources = sorted(r.source for r in store.rejected())
        assert sources == [f"ingest:mixed.jsonl:{n}" for n in (2, 3, 5, 7)]
        assert len(store.read("press-1", "state", 0, 2**62)) == 1


def test_ingest_csv_with_progress_and_unknown_states(workdir):
    rows = ["ts,machine,signal,value"]
    base = local("2026-03-02 06:00")
    rows += [f"{base + i * 1000},press-1,count_total,{i}" for i in range(60_000)]
    rows += [
        f"{base},press-1,state,PACKML_6",
        f"{base},press-1,temperature,hot",
        "1,2,3",
        f"{base},press-1,temperature,21.5",
    ]
    (workdir / "big.csv").write_text("\n".join(rows) + "\n")
    out = fieldlab("ingest", "big.csv", cwd=workdir)
    assert out.returncode == 1
    assert "60,002 samples stored, 2 lines rejected" in out.stdout
    assert "big.csv:60003: value: temperature must be a number, got 'hot'" in out.stderr
    assert "big.csv:60004: expected 4 columns, got 3" in out.stderr
    assert "stored as received: PACKML_6" in out.stderr


def test_errors_are_one_clear_line_not_a_traceback(workdir):
    (workdir / "bad.yaml").write_text(
        'calendar:\n  shifts:\n    - {days: [mon], start: "06:00", end: "14:00"}\n'
        '    - {days: [mon], start: "25:00", end: "06:00"}\n'
    )
    out = fieldlab("oee", "--config", "bad.yaml", cwd=workdir)
    assert out.returncode == 2
    assert (
        out.stderr.strip() == 'fieldlab: bad.yaml: calendar.shifts[1].start: "25:00" is not '
        "a time (HH:MM)"
    )
    out = fieldlab("oee", cwd=workdir)  # no store yet
    assert out.returncode == 2 and "no store here yet" in out.stderr
    assert "Traceback" not in out.stderr
    out = fieldlab("ingest", "nothere.jsonl", cwd=workdir)
    assert out.returncode == 2 and "nothere.jsonl: file not found" in out.stderr
    (workdir / "x.jsonl").write_text("")
    fieldlab("ingest", "x.jsonl", cwd=workdir)
    out = fieldlab("oee", "--from", "last tuesday", cwd=workdir)
    assert out.returncode == 2 and "--from 'last tuesday': expected a time" in out.stderr


def test_config_check_and_schema(workdir):
    out = fieldlab("config", "check", "site.yaml", cwd=workdir)
    assert out.returncode == 0 and "site.yaml: OK" in out.stdout and "press-1" in out.stdout
    schema = json.loads(fieldlab("config", "schema", cwd=workdir).stdout)
    assert "machines" in schema["properties"] and "calendar" in schema["properties"]
    assert "retention" in schema["properties"]
    site = workdir / "site.yaml"
    site.write_text(
        site.read_text()
        + "sources: [{type: mqtt, name: broker}]\ngateway: {workers: 3}\n"
        + "retention: {process_values_raw_days: 30, aggregate_minutes: 15}\n"
    )
    out = fieldlab("config", "check", "site.yaml", cwd=workdir)
    assert "workers: 3 processes read the MQTT sources through $share" in out.stdout
    assert "process values as read for 30 days, then 15-minute aggregates" in out.stdout


@pytest.mark.slow
def test_bench_lists_runs_and_reports_json(tmp_path):
    """`fieldlab bench` works end to end (the Modbus one takes a few seconds); its figures are
    not judged here: benchmarks are never timed in tests."""
    out = fieldlab("bench", "--help", cwd=tmp_path)
    assert "examples:" in out.stdout and "ingest-mqtt" in out.stdout
    out = fieldlab("bench", "list", cwd=tmp_path)
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == [
        "ingest-mqtt",
        "modbus",
        "opcua",
        "oee",
        "dashboard",
        "memory",
        "alerts",
        "sparkplug",
        "outage",
        "nodered",
        "year",
    ]
    out = fieldlab("bench", "modbus", "--json", cwd=tmp_path)
    result = json.loads(out.stdout)
    assert result["bench"] == "modbus" and result["requests_per_poll"] == 50
    assert {"goals", "met", "per_field_poll_s", "poll_s"} <= set(result)
    assert out.returncode == (0 if result["met"] else 1)
    assert "modbus" in out.stderr  # progress goes to stderr, so the JSON can be piped
    out = fieldlab("bench", "nonsense", cwd=tmp_path)
    assert out.returncode == 2 and "invalid choice" in out.stderr
