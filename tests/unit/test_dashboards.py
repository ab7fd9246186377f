"""Dashboard pages with Streamlit's AppTest, on a store filled with known samples: the numbers a
page shows are those of `fieldlab oee --json`; the reason entry writes a sample the Pareto then
shows; an empty and an unreachable store are explained in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fieldlab.config import load_site_config
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.samples import Sample
from fieldlab.i18n import formats
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.pages import PAGES, SITE, page


def pct(ratio: float | None) -> str:
    return formats.percent(ratio, "en")


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    cfg = load_site_config(path)
    start, end = local("2026-03-02 00:00"), local("2026-03-04 00:00")
    planned = Calendar(cfg.calendar, cfg.tz).planned(start, end)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(
            synthetic_samples("press-1", Profile(20, products=("A", "B")), start, end, 1, planned)
        )
        store.write(synthetic_samples("cnc-1", Profile(90), start, end, 2, planned))
    monkeypatch.setenv("FIELDLAB_CONFIG", str(path))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    return path


def cli_oee(site: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldlab",
            "oee",
            "-c",
            str(site),
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-04",
            "--json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    return obj if isinstance(obj, list) else [obj]


def test_overview_tiles_show_what_fieldlab_oee_says(site):
    at = page("overview")
    expected = cli_oee(site)
    values = [m.value for m in at.metric]
    text = " ".join(md.value for md in at.markdown)
    for i, obj in enumerate(expected):
        assert values[i] == pct(obj["oee"])
        assert (
            f"A **{pct(obj['availability'])}** · P **{pct(obj['performance'])}** · "
            f"Q **{pct(obj['quality'])}**"
        ) in text
    assert "press-1" in text and "cnc-1" in text


def test_a_custom_period_to_the_minute_shows_what_fieldlab_oee_says(site):
    """A workshop's "first four hours" stays on screen: from 06:00 to 10:00 on one day."""
    import datetime as dt

    at = page("overview")
    at.sidebar.date_input(key="to").set_value(dt.date(2026, 3, 2))
    at.sidebar.time_input(key="from_time").set_value(dt.time(6, 0))
    at.sidebar.time_input(key="to_time").set_value(dt.time(10, 0)).run()
    expected = cli_oee(site, "--from", "2026-03-02T06:00", "--to", "2026-03-02T10:00")
    assert [m.value for m in at.metric][: len(expected)] == [pct(o["oee"]) for o in expected]
    assert "06:00 → 2 Mar 2026 10:00" in " ".join(c.value for c in at.sidebar.caption)


def test_dutch_pages_write_the_dutch_oee_letters(site):
    """B(eschikbaarheid), P(restatie), K(waliteit) on Dutch pages, as the Dutch handouts write
    them (the dashboard said A … Q)."""
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60)
    at.query_params["lang"] = "nl"
    at.run()
    text = " ".join(md.value for md in at.markdown)
    assert " · P **" in text and "B **" in text and "K **" in text and "A **" not in text
    m = AppTest.from_file(str(PAGES / "machine.py"), default_timeout=60)
    m.query_params["lang"] = "nl"
    m.run()
    assert [x.label for x in m.metric][:4] == [
        "OEE",
        "B (beschikbaarheid)",
        "P (prestatie)",
        "K (kwaliteit)",
    ]


def test_machine_page_numbers_and_charts(site):
    at = page("machine")
    at.selectbox(key="machine").set_value("cnc-1").run()
    obj = cli_oee(site, "-m", "cnc-1")[0]
    assert [m.value for m in at.metric] == [
        pct(obj[k]) for k in ("oee", "availability", "performance", "quality")
    ]
    subheaders = [s.value for s in at.subheader]
    for title in (
        "Where the time went",
        "Downtime by reason",
        "State timeline",
        "Good units against target",
        "Process values",
    ):
        assert title in subheaders or title == "Process values"


def ctx_entries(site) -> list:
    from fieldlab.store import SqliteStore

    with SqliteStore(site.parent / "fieldlab.db", readonly=True) as store:
        return store.entries(limit=5)


def test_reason_entry_writes_a_sample_the_pareto_shows(site):
    at = page("reasons")
    table = at.dataframe[0].value
    assert len(table) > 0
    first = table.iloc[0]
    # nothing is chosen for the person: saving without a reason stores nothing and says so
    assert at.selectbox(key="reason_choice_en").value is None
    at.button[0].click().run()
    assert any("Choose a reason first" in w.value for w in at.warning)
    assert not ctx_entries(site)
    at.selectbox(key="episode").set_value(0)
    at.selectbox(key="reason_choice_en").set_value("material")
    at.button[0].click().run()
    assert any("Saved: material" in s.value for s in at.success)
    # the table names machines as people call them (tests/pages.SITE): back to the id
    machine = {"Press": "press-1", "CNC": "cnc-1"}[first["machine"]]
    reasons = {r["reason"]: r for r in cli_oee(site, "-m", machine)[0]["reasons"]}
    assert "material" in reasons
    pareto = page("machine")
    pareto.selectbox(key="machine").set_value(machine).run()
    shown = pareto.dataframe[0].value
    assert "material" in shown["reason"].tolist()


def test_dutch_labels(site):
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    at.sidebar.radio(key="lang_radio").set_value("nl").run()
    assert at.title[0].value == "Overzicht"
    period = at.sidebar.selectbox(key="period_nl")
    assert period.value == "current_shift" and "Huidige ploeg" in period.options
    # the choice goes into the address, so a reload and the next page keep it
    assert at.query_params["lang"] in ("nl", ["nl"])


def test_the_address_and_the_site_say_the_language(site, monkeypatch):
    """`?lang=nl` (an andon TV's bookmark) wins; without it the site's `language:` does, where
    neither `--lang` (FIELDLAB_LANG) nor the address chose."""
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60)
    at.query_params["lang"] = "nl"
    at.run()
    assert at.title[0].value == "Overzicht" and at.sidebar.radio(key="lang_radio").value == "nl"
    monkeypatch.delenv("FIELDLAB_LANG")
    site.write_text(site.read_text() + "language: nl\n")
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    assert at.title[0].value == "Overzicht", at.title
    andon = AppTest.from_file(str(PAGES / "andon.py"), default_timeout=60).run()
    assert not andon.exception and andon.query_params["lang"] in ("nl", ["nl"])


def test_empty_store_is_explained_in_words(tmp_path, monkeypatch):
    (tmp_path / "site.yaml").write_text(SITE)
    SqliteStore(tmp_path / "fieldlab.db").close()
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    for name in ("overview", "machine", "shifts", "reasons", "quality"):
        at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60).run()
        assert not at.exception
        assert "No data yet" in at.info[0].value, name


def test_unreachable_store_is_a_clear_message(tmp_path, monkeypatch):
    (tmp_path / "site.yaml").write_text(
        SITE.replace("sqlite:///fieldlab.db", "influxdb://127.0.0.1:9/fieldlab")
    )
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    assert not at.exception
    assert "The data store cannot be read" in at.error[0].value
    assert "unreachable" in at.error[0].value


def test_tiles_and_machine_page_say_when_time_was_unobserved(tmp_path, monkeypatch):
    """A machine unobserved for an hour of its shift whose units arrive after the gap: the tile
    shows the coverage and why P may look high; the machine page the coverage and the flag."""
    (tmp_path / "site.yaml").write_text(SITE)
    t0 = local("2026-03-02 06:00")
    samples = [Sample(t0, "press-1", "state", "running"), Sample(t0, "press-1", "count_total", 0)]
    samples += [
        Sample(t0 + 60 * MIN, "press-1", "state", "offline"),
        Sample(t0 + 120 * MIN, "press-1", "state", "running"),
    ]
    samples += [
        Sample(t0 + i * MIN, "press-1", "count_total", 3 * i)
        for i in range(1, 480)
        if not 60 < i < 120
    ]
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(samples)
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    at = page("overview")
    captions = " ".join(c.value for c in at.caption)
    assert "Observed 96.8 % of the planned time" in captions, captions
    assert "counted after the gap, so P may look high" in captions, captions
    at = page("machine")
    captions = " ".join(c.value for c in at.caption)
    warnings = " ".join(w.value for w in at.warning)
    assert "observed: 96.8 %" in captions, captions
    assert "counted after the gap, so P may look high" in warnings, warnings


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "en",
            [
                "The gateway's clock was set back 20 min",
                "jumped forward 20 min",
                "The clock of plc is 1 h 00 min ahead of the gateway's",
                "read lower than before, but not low enough to be a reset",
            ],
        ),
        (
            "nl",
            [
                "De klok van de gateway is 20 min 00 s teruggezet",
                "sprong 20 min 00 s vooruit",
                "De klok van plc loopt 1 h 00 min voor op die van de gateway",
                "las lager dan eerder, maar niet laag genoeg voor een reset",
            ],
        ),
    ],
)
def test_the_data_quality_page_says_clocks_back_steps_and_repeats_in_words(
    tmp_path, monkeypatch, lang, words
):
    """domain.md §4, §9, §10 where an engineer looks: clock steps, a source clock an hour off, a
    counter's back-step and a rejection kept once with its repeats, in the reader's words."""
    from fieldlab.domain.quality import QualityEvent
    from fieldlab.domain.rejected import Rejected

    (tmp_path / "site.yaml").write_text(SITE)
    t0 = local("2026-03-02 06:00")
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(
            [
                Sample(t0, "press-1", "state", "running"),
                Sample(t0, "press-1", "count_total", 1000),
                Sample(t0 + MIN, "press-1", "count_total", 1500),
                Sample(t0 + 2 * MIN, "press-1", "count_total", 1499),
                Sample(t0 + 3 * MIN, "press-1", "count_total", 1600),
            ]
        )
        store.write_quality(
            [
                QualityEvent(t0 + 10 * MIN, "gateway", "clock_step", -1200.0),
                QualityEvent(t0 + 11 * MIN, "gateway", "clock_step", 1200.0),
                QualityEvent(t0 + 12 * MIN, "plc", "clock_skew", 3600.0),
            ]
        )
        store.write_rejected(
            [Rejected("s7:plc:DB10.DBX40.0", "False", "must be a number", t0, repeats=17_999)]
        )
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", lang)
    at = page("quality", lang)
    text = " ".join(
        str(x)
        for x in [
            *(c.value for c in at.caption),
            *(v for df in at.dataframe for v in df.value.astype(str).to_numpy().ravel()),
            *(m.value for m in at.metric),
        ]
    )
    for w in words:
        assert w in text, (w, text[:3000])
    assert ("18,000" if lang == "en" else "18.000") in text  # every rejection counted
    assert ("17,999" if lang == "en" else "17.999") in text


def test_shifts_page_never_says_nan_and_shows_coverage(tmp_path, monkeypatch):
    """A machine with only `count_total` (the legacy lathe) has no quality figure: `–`, never
    `NaN,0 %`; its good units are its units, as on its tile; an unobserved shift says so."""
    (tmp_path / "site.yaml").write_text(SITE)
    t0 = local("2026-03-02 06:00")
    samples = [Sample(t0, "cnc-1", "state", "running"), Sample(t0, "cnc-1", "count_total", 0)]
    samples += [Sample(t0 + i * MIN, "cnc-1", "count_total", i) for i in range(1, 240)]
    samples += [Sample(t0 + 240 * MIN, "cnc-1", "state", "offline")]
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(samples)
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    for lang in ("en", "nl"):
        monkeypatch.setenv("FIELDLAB_LANG", lang)
        at = page("shifts", lang)
        cells = [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
        assert not [c for c in cells if "NaN" in c or c == "nan"], cells
        assert "239" in cells  # good = total without a quality counter
        assert "–" in cells  # Q
        observed = "observed" if lang == "en" else "waargenomen"
        assert any(observed in str(df.value.columns.tolist()) for df in at.dataframe)
        captions = " ".join(c.value for c in at.caption)
        assert ("less than 95 %" if lang == "en" else "minder dan 95 %") in captions
