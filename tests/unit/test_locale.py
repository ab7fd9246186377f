"""Dutch and English readers: figures formatted by Babel, codes shown as words, flags explained
where their figure is, targets from the site file, and exports their spreadsheet opens right."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from fieldlab.config import ConfigError, load_site_config
from fieldlab.dashboards.export import to_csv, to_xlsx
from fieldlab.domain.samples import Sample
from fieldlab.i18n import t
from fieldlab.i18n.formats import day, duration, number, percent, when
from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.pages import PAGES, SITE, page

AMS = ZoneInfo("Europe/Amsterdam")


def test_numbers_percentages_durations_and_dates_as_the_reader_writes_them():
    assert (number(2522, "nl"), number(2522, "en")) == ("2.522", "2,522")
    assert (percent(0.425, "nl"), percent(0.425, "en")) == ("42,5 %", "42.5 %")
    assert percent(None, "nl") == "–"
    assert number(1234.5, "nl", 1) == "1.234,5"
    assert duration(3900, "nl") == "1 h 05 min" and duration(243) == "4 min 03 s"
    ms = local("2026-03-02 13:05")
    assert when(ms, AMS, "nl") == "2 mrt 2026 13:05"  # 24-hour clock in both
    assert when(ms, AMS, "en") == "2 Mar 2026 13:05"
    assert day(dt.date(2026, 3, 2), "nl") == "maandag 2 maart 2026"
    # every text with a grouped number: `{good:,}` becomes 2.522 for a Dutch reader
    assert t("target_now", "nl", good=2522, target=5929) == "goed 2.522 / doel 5.929"
    assert t("target_now", "en", good=2522, target=5929) == "good 2,522 / target 5,929"


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"machine": ["press-1", "cnc-1"], "OEE": [0.425, 0.8], "planned h": [7.25, 8.0]}
        | {"good": [2522, 480]}
    )


def test_csv_opens_in_dutch_excel_as_columns_with_decimal_commas():
    raw = to_csv(_table(), "nl", percent=("OEE",))
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the encoding
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["machine", "OEE %", "planned h", "good"]
    assert rows[1] == ["press-1", "42,50", "7,25", "2522"]
    # read back as Dutch Excel would: `;` columns, decimal comma
    back = pd.read_csv(io.BytesIO(raw), sep=";", decimal=",", encoding="utf-8-sig")
    assert back["OEE %"].tolist() == [42.5, 80.0] and back["planned h"].tolist() == [7.25, 8.0]
    en = to_csv(_table(), "en", percent=("OEE",)).decode("utf-8-sig").splitlines()
    assert en[1] == "press-1,42.50,7.25,2522"


def test_excel_export_has_numeric_cells_with_number_formats():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(_table(), percent=("OEE",))))
    sheet = book.active
    assert sheet is not None
    oee, hours, good = sheet["B2"], sheet["C2"], sheet["D2"]
    assert oee.value == 0.425 and oee.number_format == "0.0%"
    assert hours.value == 7.25 and hours.number_format == "0.00"
    assert good.value == 2522 and good.number_format == "#,##0"


def test_site_reasons_take_labels_and_targets_override_per_machine(tmp_path: Path):
    site = yaml.safe_load(SITE)
    site["reasons"] = {"jam": {"nl": "Vastgelopen band", "en": "Belt jam"}, "tool_break": None}
    site["targets"] = {"oee": 0.6}
    site["machines"]["cnc-1"]["targets"] = {"availability": 0.8}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    cfg = load_site_config(path)
    assert cfg.reason_label("jam", "nl") == "Vastgelopen band"
    assert cfg.reason_label("tool_break", "nl") == "gereedschapsbreuk"  # the kit's table
    assert cfg.reason_label("belt_slip", "en") == "belt slip"  # unknown: the code, readable
    assert cfg.targets_for("cnc-1") == {
        "oee": 0.6,
        "availability": 0.8,
        "performance": 0.95,
        "quality": 0.99,
    }
    # the short form, a list of codes, still reads
    assert list(load_site_config(_write(tmp_path, SITE)).reasons) == [
        "jam",
        "tool_break",
        "material",
        "no_operator",
    ]
    site["targets"] = {"oee": 85}
    with pytest.raises(ConfigError) as err:
        load_site_config(_write(tmp_path, yaml.safe_dump(site)))
    assert "targets.oee" in str(err.value) and "site.yaml" in str(err.value)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def unusual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """press-1 counts faster than its ideal cycle time allows (P > 100 %); cnc-1 went offline
    during a fault with a reason; press-1 has a stop nobody explained; a site reason with Dutch
    words; targets in the site file."""
    site = yaml.safe_load(SITE)
    site["reasons"] = {"tool_break": {"nl": "Beitel gebroken", "en": "Tool broke"}, "jam": None}
    site["machines"]["press-1"]["targets"] = {"oee": 0.7}
    path = _write(tmp_path, yaml.safe_dump(site, sort_keys=False))
    t0 = local("2026-03-02 06:00")
    samples = [Sample(t0, "press-1", "state", "running")]
    samples += [Sample(t0 + i * MIN, "press-1", "count_total", 30 * i) for i in range(0, 480)]
    samples += [  # a stop nobody explained yet
        Sample(t0 + 200 * MIN, "press-1", "state", "idle"),
        Sample(t0 + 210 * MIN, "press-1", "state", "running"),
    ]
    samples += [
        Sample(t0, "cnc-1", "state", "running"),
        Sample(t0 + 60 * MIN, "cnc-1", "state", "fault"),
        Sample(t0 + 60 * MIN, "cnc-1", "reason", "tool_break"),
        Sample(t0 + 90 * MIN, "cnc-1", "state", "offline"),
    ]
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write(samples)
    monkeypatch.setenv("FIELDLAB_CONFIG", str(path))
    monkeypatch.setenv("FIELDLAB_LANG", "nl")
    return path


def test_dutch_tiles_explain_p_above_100_and_an_offline_machine_shows_no_stale_reason(unusual):
    at = page("overview", "nl")
    text = " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    assert re.search(r"P \*\*\d+,\d %\*\*", text) and not re.search(r"\d\.\d %", text), text
    assert "P boven 100 %" in captions and "ideal_cycle_time_s" in captions, captions
    # cnc-1 went offline during its fault: since when, and not the fault's reason
    assert "offline sinds 2 mrt 2026 07:30" in text, text
    assert "Beitel gebroken" not in text and "tool_break" not in text
    assert "goed 14.370" in captions, captions  # 14,370 units: Dutch grouping


def test_dutch_machine_page_words_targets_and_chart_locale(unusual):
    at = page("machine", "nl")
    at.selectbox(key="machine").set_value("press-1").run()
    helps = [m.help for m in at.metric]
    assert helps[0] == "doel: 70,0 %", helps  # press-1's own OEE target from the site file
    assert helps[1] == "doel: 90,0 %", helps  # the kit's default where the site sets none
    warnings = " ".join(w.value for w in at.warning)
    assert "P boven 100 %" in warnings, warnings
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert specs, "no charts"
    for spec in specs:
        loc = spec["config"]["locale"]
        assert loc["number"]["decimal"] == "," and loc["time"]["shortMonths"][2] == "mrt"
    axes = json.dumps(specs)
    # two days: weekday, date and a 24-hour clock on the time axes, never `01 AM`
    assert '"format": "%a %e %b %H:%M"' in axes and "%I" not in axes


def test_dutch_reason_entry_offers_words_and_stores_the_code(unusual):
    at = page("reasons", "nl")
    choice = at.selectbox(key="reason_choice_nl")
    assert choice.options[:2] == ["Beitel gebroken", "vastloper"], choice.options
    table = at.dataframe[0].value
    assert table.iloc[0]["categorie"] == "wacht", table  # idle, in words


def test_time_axes_read_a_24_hour_clock():
    from fieldlab.dashboards.charts import time_axis

    assert time_axis(("2026-03-02T06:00:00", "2026-03-02T14:00:00")).format == "%H:%M"
    assert time_axis(("2026-03-02T00:00:00", "2026-03-09T00:00:00")).format == "%a %e %b %H:%M"


def test_the_site_schema_takes_reasons_as_a_list_or_with_words():
    """Editors check site files against `fieldlab config schema`: both forms are valid there."""
    import jsonschema

    from fieldlab.gateway.config import gateway_model

    schema = gateway_model().model_json_schema()
    for reasons in (["jam", "tool_break"], {"jam": {"nl": "Vastloper"}, "tool_break": None}):
        jsonschema.validate({"reasons": reasons, "targets": {"oee": 0.8}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"reasons": {"jam": {"de": "Stau"}}}, schema)


def test_andon_goes_screen_by_screen_when_machines_do_not_fit(unusual: Path):
    """Two machines on a one-tile screen: one tile at a time, and which screen of how many."""
    site = yaml.safe_load(unusual.read_text())
    site["dashboard"] = {"andon": {"columns": 1, "rows": 1, "cycle_s": 3}}
    unusual.write_text(yaml.safe_dump(site, sort_keys=False))
    at = AppTest.from_file(str(PAGES / "andon.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    board = " ".join(m.value for m in at.markdown if "andon-tile" in m.value)
    assert board.count("class='andon-tile'") == 1
    assert re.search(r"[12]/2</div>", board), board[-200:]


def test_signals_have_names_and_units_people_use():
    """#28: chart titles said `spindle_load_pct`; a signal is named in the reader's language
    (the kit's own and the simulators' in both, a site's own in its file) with its unit, which
    follows from the name's suffix unless the site file gives one."""
    from fieldlab.config import parse_site_config
    from fieldlab.domain.units import unit_of

    assert [
        unit_of(s) for s in ("spindle_load_pct", "barrel_temp_c", "energy_kwh", "power_kw")
    ] == [
        "%",
        "°C",
        "kWh",
        "kW",
    ]
    assert unit_of("state") is None and unit_of("door_open") is None
    site = parse_site_config(
        "signals:\n  oven_z3: {name: {en: Oven zone 3, nl: Ovenzone 3}, unit: '°C'}\n"
        "  spindle_load_pct: {name: Belasting}\n"
    )
    assert site.signal_name("spindle_load_pct", "nl") == "Belasting"
    assert site.signal_name("barrel_temp_c", "nl") == "cilindertemperatuur"
    assert site.signal_name("barrel_temp_c", "en") == "barrel temperature"
    assert (site.signal_name("oven_z3", "nl"), site.signal_unit("oven_z3")) == ("Ovenzone 3", "°C")
    assert (site.signal_name("mystery", "nl"), site.signal_unit("mystery")) == ("mystery", None)
