"""The owner's weekly report: every figure equals `fieldlab oee --json` for the same week, in
Dutch and English; the PDF turns into pages (pdftoppm) that carry the figures (pdftotext); the
gateway sends it once a week, as an e-mail attachment, through the alert channels."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from fieldlab.cli.main import main
from fieldlab.config import load_site_config
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import AlertAnswer
from fieldlab.domain.entries import Entry
from fieldlab.domain.samples import Sample
from fieldlab.i18n import formats
from fieldlab.kpi.orders import order_runs
from fieldlab.kpi.query import store_now
from fieldlab.reports.build import build_report
from fieldlab.reports.render import to_html
from fieldlab.reports.week import Week
from fieldlab.simulators.scenario import load_scenario
from fieldlab.store import SqliteStore
from tests.helpers import MIN, foreign_texts, local
from tests.services import require, smtp_server
from tests.truth import run_sim

#: its tests share a module fixture: one worker runs them all (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("report")

W10, W11 = Week(2026, 10), Week(2026, 11)


# session, not module: on an xdist worker another module's test may run between this module's
# tests, and a module fixture is then made again (CI made these two weeks twice, 150 s each)
@pytest.fixture(scope="session")
def two_weeks(tmp_path_factory) -> tuple[Path, Path]:
    """Three machines simulated from Monday 2 March 2026 for two weeks, in a store, with the
    site file the report reads (money keys set) and one alert of week 11."""
    tmp = tmp_path_factory.mktemp("report")
    text = resources.files("fieldlab.simulators.scenarios").joinpath("default.yaml").read_text()
    keep = ("cnc-1", "laser-1", "lathe-1")  # slow cycles: a fortnight in seconds
    (tmp / "scenario.yaml").write_text(text)
    sc = load_scenario(tmp / "scenario.yaml")
    sc = sc.model_copy(update={"machines": {m: sc.machines[m] for m in keep}})
    site = sc.site_config().model_dump(mode="json", exclude_none=True)
    site["store"] = f"sqlite:///{tmp / 'store.db'}"
    site["energy"] = {"price_per_kwh": 0.25, "currency": "EUR"}
    site["reports"] = {"margin_per_hour": 85, "weeks_of_trend": 3}
    import yaml

    (tmp / "site.yaml").write_text(yaml.safe_dump(site))
    with SqliteStore(tmp / "store.db") as store:
        run_sim(sc, None, 14 * 24, start=local("2026-03-02 00:00"), store=store)
        t0 = local("2026-03-10 09:00")
        store.write_alerts(
            [
                AlertEvent(t0 + 10 * MIN, "lang-stil", "laser-1", "fired", "stop", t0, "fault:jam"),
                AlertEvent(
                    t0 + 42 * MIN, "lang-stil", "laser-1", "cleared", "stop", t0, "fault:jam"
                ),
            ]
        )
        # what people entered at the terminals (#29): an order of a day, a note, an answer
        day = local("2026-03-10 06:00")
        store.write(
            [
                Sample(day, "cnc-1", "order_target", 200),
                Sample(day, "cnc-1", "order", "24-0311"),
                Sample(day + 24 * 60 * MIN, "cnc-1", "order", ""),
            ]
        )
        store.write_entries(
            [
                Entry(day + 60 * MIN, "cnc-1", "handover", "Spindel tikt; TD gebeld", "piet", day),
                AlertAnswer(
                    "lang-stil", "laser-1", t0, "anna", t0 + 12 * MIN, "monteur komt"
                ).entry(),
            ]
        )
    return tmp / "site.yaml", tmp / "store.db"


def oee_json(site: Path, week: Week, capsys) -> dict[str, dict]:
    start, end = week.bounds(load_site_config(site).tz)
    iso = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()  # noqa: E731
    assert main(["oee", "-c", str(site), "--from", iso(start), "--to", iso(end), "--json"]) == 0
    return {o["machine"]: o for o in json.loads(capsys.readouterr().out)}


@pytest.mark.slow
def test_every_figure_equals_fieldlab_oee_for_the_same_week_in_both_languages(two_weeks, capsys):
    from fieldlab.kpi.output import to_json

    site_path, db = two_weeks
    site = load_site_config(site_path)
    with SqliteStore(db, readonly=True) as store:
        report = build_report(store, site, W11, store_now(store), compare=W10)
    cli, before = oee_json(site_path, W11, capsys), oee_json(site_path, W10, capsys)
    assert sorted(mw.machine for mw in report.machines) == ["cnc-1", "laser-1", "lathe-1"]
    for mw in report.machines:
        assert to_json(mw.result, site.tz) == cli[mw.machine]
        assert mw.compare is not None and to_json(mw.compare, site.tz) == before[mw.machine]
        assert [str(w) for w, _ in mw.trend] == ["2026-W09", "2026-W10", "2026-W11"]
        assert mw.trend[1][1] == before[mw.machine]["oee"] or (
            round(mw.trend[1][1], 3) == before[mw.machine]["oee"]
        )
        assert mw.trend[0][1] is None or mw.trend[0][1] == 0  # no data before 2 March
    # the top losses are the reasons' minutes, money = minutes × 85 per hour
    top = report.losses[0]
    row = next(r for r in cli[top.machine]["reasons"] if (r["reason"] or "") == top.what)
    assert top.minutes == pytest.approx(row["downtime_s"] / 60)
    assert top.money == pytest.approx(row["downtime_s"] / 3600 * 85)
    for lang in ("nl", "en"):
        html = to_html(report, lang)
        for m, obj in cli.items():
            shown = formats.percent(obj["oee"], lang)
            assert shown in html, (lang, m, shown)
            assert formats.number(obj["energy"]["kwh"], lang, 1) in html
        assert formats.money(top.money, "EUR", lang) in html
    nl, en = to_html(report, "nl"), to_html(report, "en")
    for lang, html in (("nl", nl), ("en", en)):  # one language only (#28)
        text = re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
        assert foreign_texts(text, lang) == [], lang
    assert "Grootste verliezen" in nl and "Top losses" in en
    assert "Meldingen van de week" in nl and "vastloper" in nl and "42 min 00 s" in nl
    assert "€\xa0" in nl and "€" in en  # € 1.234,50 / €1,234.50
    # the week's orders (their figures the terminal's and the Orders page's), the notes the
    # shifts left, and who answered each alert
    with SqliteStore(db, readonly=True) as store:
        runs = order_runs(store, site, "cnc-1", *W11.bounds(site.tz), now=store_now(store))
    assert [o.order for o in report.orders] == ["24-0311"] == [o.order for o in runs]
    assert report.orders[0].result.good == runs[0].result.good and runs[0].target == 200
    assert "Productieorders" in nl and "24-0311" in nl and "Production orders" in en
    assert formats.number(runs[0].result.good, "nl") in nl
    assert "Spindel tikt; TD gebeld" in nl and "Overdrachtsnotities" in nl
    assert "gezien door anna om 09:12: monteur komt" in nl
    assert "acknowledged by anna at 09:12: monteur komt" in en


@pytest.mark.slow
def test_the_pdf_has_pages_with_the_figures_in_both_languages(two_weeks, tmp_path, capsys):
    require("pdftoppm")
    site_path, db = two_weeks
    cli = oee_json(site_path, W11, capsys)
    for lang in ("nl", "en"):
        pdf = tmp_path / f"w11-{lang}.pdf"
        args = ["report", "-c", str(site_path), "--week", "2026-W11", "--compare", "2026-W10"]
        assert main([*args, "--lang", lang, "--pdf", str(pdf)]) == 0
        assert pdf.read_bytes().startswith(b"%PDF")
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / lang)], check=True)
        pages = sorted(tmp_path.glob(f"{lang}-*.png"))
        assert 1 <= len(pages) <= 4 and all(p.stat().st_size > 5000 for p in pages)
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for obj in cli.values():
            assert formats.percent(obj["oee"], lang).replace("\xa0", " ") in text.replace(
                "\xa0", " "
            ), (lang, obj["machine"])
        assert ("Weekrapport" if lang == "nl" else "Weekly report") in text
        assert foreign_texts(text, lang) == [], lang


def test_weeks_and_their_errors(capsys):
    from zoneinfo import ZoneInfo

    ams = ZoneInfo("Europe/Amsterdam")
    start, end = Week.parse("2026-W13").bounds(ams)  # the week summer time starts
    assert (end - start) / 3_600_000 == 167
    assert str(Week.parse("2026w09")) == "2026-W09" and Week.parse("2026-W09").shifted(-9) == Week(
        2025, 52
    )
    for bad, says in (("2026-W54", "2026 has no week 54"), ("week 9", "not an ISO week")):
        with pytest.raises(ValueError, match=says):
            Week.parse(bad)
    assert main(["report", "--week", "2026-W54"]) == 2
    assert "2026 has no week 54" in capsys.readouterr().err


def test_the_gateway_sends_last_weeks_report_once_as_an_attachment(two_weeks, tmp_path):
    from fieldlab.alerts.channels import Notifier
    from fieldlab.gateway.weekly import WeeklyReports, week_due

    site_path, db = two_weeks
    base = load_site_config(site_path)
    with smtp_server() as (port, mails):
        url = f"mailto://127.0.0.1:{port}?from=kit@example.nl&to=baas@example.nl&mode=insecure"
        site = base.model_validate(
            base.model_dump()
            | {
                "alerts": {"channels": {"baas": {"url": url}}},
                "reports": base.reports.model_dump() | {"weekly": {"to": ["baas"], "at": "07:00"}},
            }
        )
        tz = site.tz
        monday = dt.datetime(2026, 3, 16, 6, 59, tzinfo=tz)
        assert week_due(site, monday, None) is None  # not yet 07:00
        assert week_due(site, monday + dt.timedelta(minutes=1), None) == W11
        assert week_due(site, monday + dt.timedelta(days=2), "2026-W11") is None  # sent already

        async def go() -> None:
            with SqliteStore(db, readonly=True) as store:
                notifier = Notifier(site, first_retry_s=0.1)
                notifier.start()
                weekly = WeeklyReports(site, lambda: store, notifier, tmp_path)
                await asyncio.to_thread(weekly.send, W11)
                await notifier.stop(timeout=20)
                assert notifier.stats()["baas"]["sent"] == 1

        asyncio.run(go())
        assert json.loads((tmp_path / "weekly-report.json").read_text()) == {"week": "2026-W11"}
        msg = email.message_from_string(mails[0])
        assert "Weekrapport demo 2026-W11" in msg["Subject"]
        parts = [p for p in msg.walk() if p.get_filename()]
        assert parts and parts[0].get_filename() == "report-2026-W11.pdf"
        assert parts[0].get_payload(decode=True).startswith(b"%PDF")
