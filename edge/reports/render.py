"""The weekly report as sections of headings, sentences, tables and charts, written once and
rendered twice: HTML (inline SVG, printable) and PDF through fpdf2 (pure Python: no system
libraries like WeasyPrint's Pango and no browser like print-to-PDF, so `pip install` is enough;
it draws the same SVG charts)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import AlertAnswer
from fieldlab.i18n import N_, Lang, formats, t
from fieldlab.reports.build import WeeklyReport
from fieldlab.reports.charts import trend_svg


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    #: columns aligned right (numbers)
    numeric: set[int] = field(default_factory=set)


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    table: Table | None = None
    svg: str | None = None


def sections(r: WeeklyReport, lang: Lang) -> tuple[str, str, list[Section]]:
    """(title, subtitle, sections) in the reader's language and number conventions."""
    first, last = (
        formats.day(r.week.monday, lang),
        formats.when(r.end - 1, r.site.tz, lang, "d MMMM y"),
    )
    title = t("report.title", lang, site=r.site.site)
    subtitle = f"{t('report.week', lang, week=r.week.number, year=r.week.year)} · {first} – {last}"
    # domain.md §5: a week with nothing observed says so in one line, never as downtime
    planned = sum(mw.result.planned_s for mw in r.machines)
    observed = sum(mw.result.observed_s for mw in r.machines)
    if planned <= 0 or observed <= 0:
        return title, subtitle, [Section(t("report.summary", lang), [t("report.no_data", lang)])]
    parts = (
        _summary(r, lang, observed / planned),
        _oee(r, lang),
        _trend(r, lang),
        _losses(r, lang),
        _orders(r, lang),
        _energy(r, lang),
        _alerts(r, lang),
        _handovers(r, lang),
        _compare(r, lang),
        Section("", [t("report.footer", lang)]),
    )
    return title, subtitle, [part for part in parts if part is not None]


def _pct(x: float | None, lang: Lang) -> str:
    return formats.percent(x, lang)


def _names(r: WeeklyReport, lang: Lang) -> dict[str, str]:
    return {mw.machine: mw.label(lang) for mw in r.machines}


def _summary(r: WeeklyReport, lang: Lang, observed: float) -> Section:
    """The week in brief: downtime and what it cost, energy, how much of it was observed."""
    site, currency = r.site, r.site.energy.currency
    downtime = sum(mw.result.downtime_s for mw in r.machines if not mw.result.no_data)
    kwh = [mw.result.energy.kwh for mw in r.machines if mw.result.energy is not None]
    costs = [
        mw.result.energy.cost
        for mw in r.machines
        if mw.result.energy and mw.result.energy.cost is not None
    ]
    money = r.downtime_money
    brief = t(
        "report.line_downtime",
        lang,
        time=formats.duration(downtime, lang),
        money="" if money is None else f" ({formats.money(money, currency, lang)})",
        kwh=formats.number(sum(kwh), lang, 1),
        cost="" if not costs else f" ({formats.money(sum(costs), currency, lang)})",
    )
    notes = [brief]
    if observed < 0.95:
        notes.append(t("report.partly_observed", lang, pct=_pct(observed, lang)))
    if site.reports.margin_per_hour is not None or site.energy.price_per_kwh is not None:
        notes.append(
            t(
                "report.money_note",
                lang,
                margin=formats.money(site.reports.margin_per_hour, currency, lang),
                price=formats.money(site.energy.price_per_kwh, currency, lang),
            )
        )
    return Section(t("report.summary", lang), notes)


def _oee(r: WeeklyReport, lang: Lang) -> Section:
    head = [
        N_("machine"),
        "oee",
        N_("availability"),
        N_("performance"),
        N_("quality"),
        N_("good"),
        N_("scrap"),
        N_("downtime"),
        N_("coverage"),
    ]
    rows = [
        [
            mw.label(lang),
            t("no_data", lang) if mw.result.no_data else _pct(mw.result.oee, lang),
            _pct(mw.result.availability, lang),
            _pct(mw.result.performance, lang),
            _pct(mw.result.quality, lang),
            formats.number(mw.result.good, lang),
            formats.number(mw.result.scrap, lang),
            formats.duration(None if mw.result.no_data else mw.result.downtime_s, lang),
            _pct(mw.result.coverage, lang),
        ]
        for mw in r.machines
    ]
    heads = [t(h, lang).capitalize() if h != "oee" else "OEE" for h in head]
    return Section(t("report.oee", lang), table=Table(heads, rows, set(range(1, 9))))


def _trend(r: WeeklyReport, lang: Lang) -> Section:
    weeks = len(r.machines[0].trend) if r.machines else 0
    chart = trend_svg(
        [(mw.machine, [(str(w), oee) for w, oee in mw.trend]) for mw in r.machines],
        r.site.targets.oee,
        lambda x: _pct(x, lang),
    )
    return Section(t("report.trend", lang, n=weeks), svg=chart)


def _losses(r: WeeklyReport, lang: Lang) -> Section:
    losses = Section(t("report.losses", lang))
    if not r.losses:
        losses.text.append(t("report.no_losses", lang))
        return losses
    names, site = _names(r, lang), r.site
    losses.table = Table(
        [
            t("machine", lang).capitalize(),
            t("report.reason", lang).capitalize(),
            t("report.minutes", lang).capitalize(),
            t("report.cost", lang).capitalize(),
        ],
        [
            [
                names.get(loss.machine, loss.machine),
                site.reason_label(loss.what, lang) if loss.what else t("report.unexplained", lang),
                formats.number(loss.minutes, lang, 0),
                formats.money(loss.money, site.energy.currency, lang),
            ]
            for loss in r.losses
        ],
        {2, 3},
    )
    return losses


def _orders(r: WeeklyReport, lang: Lang) -> Section | None:
    """Production orders (#29): the week's largest, with how far they got and what they cost."""
    if not r.orders:
        return None
    names = _names(r, lang)
    head = [
        t("report.order", lang),
        t("machine", lang).capitalize(),
        t("report.product", lang),
        t("good", lang).capitalize(),
        t("orders.target", lang).capitalize(),
        "OEE",
        t("report.order_loss", lang),
    ]
    rows = [
        [
            o.order,
            names.get(o.machine, o.machine),
            o.product or "–",
            formats.number(o.result.good, lang),
            formats.number(o.target, lang)
            + ("" if o.to_target is None else f" ({_pct(o.to_target, lang)})"),
            _pct(o.result.oee, lang),
            _largest_loss(o.result.losses_s, lang),
        ]
        for o in r.orders
    ]
    return Section(t("report.orders", lang, n=len(r.orders)), table=Table(head, rows, {3, 4, 5}))


def _energy(r: WeeklyReport, lang: Lang) -> Section | None:
    currency = r.site.energy.currency
    rows = [
        [
            mw.label(lang),
            formats.number(e.kwh, lang, 1),
            formats.number(e.non_productive_kwh, lang, 1),
            formats.number(e.kwh_per_good, lang, 3),
            formats.money(e.cost, currency, lang),
        ]
        for mw in r.machines
        if (e := mw.result.energy) is not None
    ]
    if not rows:
        return None
    head = [
        t("machine", lang).capitalize(),
        "kWh",
        t("report.non_productive", lang),
        t("report.kwh_per_good", lang),
        t("report.cost", lang).capitalize(),
    ]
    return Section(t("report.energy", lang), table=Table(head, rows, {1, 2, 3, 4}))


def _alerts(r: WeeklyReport, lang: Lang) -> Section:
    alerts = Section(t("report.alerts", lang))
    fired = alert_rows(r.alerts, r, lang)
    if not fired:
        alerts.text.append(t("report.no_alerts", lang))
        return alerts
    alerts.table = Table(
        [
            t("report.when", lang).capitalize(),
            t("machine", lang).capitalize(),
            t("report.what", lang).capitalize(),
            t("report.lasted", lang).capitalize(),
            t("report.answered", lang),
        ],
        fired,
        {3},
    )
    return alerts


def _handovers(r: WeeklyReport, lang: Lang) -> Section | None:
    """Handover notes: what the shifts told each other."""
    if not r.handovers:
        return None
    names = _names(r, lang)
    head = [
        t("report.when", lang).capitalize(),
        t("machine", lang).capitalize(),
        t("report.by", lang),
        t("report.note", lang),
    ]
    rows = [
        [
            formats.when(e.ts, r.site.tz, lang, "EEE d MMM HH:mm"),
            names.get(e.machine, e.machine),
            e.by or "–",
            e.value,
        ]
        for e in r.handovers
    ]
    return Section(t("report.handovers", lang), table=Table(head, rows))


def _compare(r: WeeklyReport, lang: Lang) -> Section | None:
    """This week against the one `--compare` names, machine by machine."""
    if r.compare is None:
        return None
    rows = []
    for mw in r.machines:
        other = mw.compare
        a, b = mw.result.oee, other.oee if other else None
        delta = None if a is None or b is None else 100 * (a - b)
        rows.append(
            [
                mw.label(lang),
                _pct(b, lang),
                _pct(a, lang),
                "–"
                if delta is None
                else f"{'+' if delta >= 0 else ''}{formats.number(delta, lang, 1)} pp",
                formats.duration(other.downtime_s if other else None, lang),
                formats.duration(mw.result.downtime_s, lang),
            ]
        )
    head = [
        t("machine", lang).capitalize(),
        f"OEE {r.compare}",
        f"OEE {r.week}",
        t("report.change", lang).capitalize(),
        f"{t('downtime', lang).capitalize()} {r.compare}",
        f"{t('downtime', lang).capitalize()} {r.week}",
    ]
    return Section(
        t("report.compare", lang, other=str(r.compare)), table=Table(head, rows, {1, 2, 3, 4, 5})
    )


def _largest_loss(losses_s: dict[str, float], lang: Lang) -> str:
    what, seconds = max(losses_s.items(), key=lambda kv: kv[1], default=("", 0.0))
    return f"{t(f'state.{what}', lang)} {formats.duration(seconds, lang)}" if seconds > 0 else "–"


def alert_rows(events: list[AlertEvent], r: WeeklyReport, lang: Lang) -> list[list[str]]:
    """One row per firing, with how long it lasted (to its clear, else still open)."""
    from fieldlab.alerts.text import what

    tz = r.site.tz
    cleared = {(e.rule, e.subject, e.since): e for e in events if e.event == "cleared"}
    names = {mw.machine: mw.label(lang) for mw in r.machines}
    rows = []
    for e in events:
        if e.event != "fired":
            continue
        end = cleared.get((e.rule, e.subject, e.since))
        lasted = (
            formats.duration((end.ts - e.since) / 1000, lang) if end else t("report.open", lang)
        )
        rows.append(
            [
                formats.when(e.since, tz, lang, "EEE d MMM HH:mm"),
                names.get(e.subject, e.subject),
                what(e, r.site, lang),
                lasted,
                _answer(r.answers.get((e.rule, e.subject, e.since)), tz, lang),
            ]
        )
    return rows


def _answer(a: AlertAnswer | None, tz: ZoneInfo, lang: Lang) -> str:
    if a is None:
        return "–"
    at = formats.when(a.at, tz, lang, "HH:mm")
    if a.shelved_until is not None:
        until = formats.when(a.shelved_until, tz, lang, "HH:mm")
        return t("answer.shelved", lang, by=a.by or "–", until=until)
    return t("answer.acked", lang, by=a.by or "–", at=at) + (f": {a.note}" if a.note else "")


def to_html(r: WeeklyReport, lang: Lang) -> str:
    title, subtitle, parts = sections(r, lang)
    body = [f"<h1>{escape(title)}</h1>", f'<p class="sub">{escape(subtitle)}</p>']
    for s in parts:
        if s.title:
            body.append(f"<h2>{escape(s.title)}</h2>")
        body += [f"<p>{escape(p)}</p>" for p in s.text]
        if s.svg:
            body.append(f'<div class="chart">{s.svg}</div>')
        if s.table:
            head = "".join(
                f'<th class="{"num" if i in s.table.numeric else ""}">{escape(h)}</th>'
                for i, h in enumerate(s.table.head)
            )
            rows = "".join(
                "<tr>"
                + "".join(
                    f'<td class="{"num" if i in s.table.numeric else ""}">{escape(c)}</td>'
                    for i, c in enumerate(row)
                )
                + "</tr>"
                for row in s.table.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} {r.week}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 60em; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #555; margin-top: .2em; }}
h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; width: 100%; font-size: .92em; }}
th, td {{ padding: .3em .6em; border-bottom: 1px solid #e4e4e4; text-align: left; }}
th {{ background: #f2f5f9; }} .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
@media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }}
  table, .chart {{ break-inside: avoid; }} }}
</style></head><body>
{chr(10).join(body)}
</body></html>
"""


def _pdf_text(text: str) -> str:
    """The core fonts speak Windows-1252 (€ and – are in it); the rest is spelled out."""
    for a, b in (("\u202f", " "), ("\u2009", " "), ("₂", "2"), ("→", "->"), ("≥", ">=")):
        text = text.replace(a, b)
    return text.encode("cp1252", "replace").decode("cp1252")


def to_pdf(r: WeeklyReport, lang: Lang, path: Path) -> None:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    title, subtitle, parts = sections(r, lang)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_pdf_text(f"{title} {r.week}"))
    pdf.set_creator("fieldlab-kit")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 6, _pdf_text(subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    for s in parts:
        if s.title:
            pdf.ln(4)
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(0, 8, _pdf_text(s.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9.5)
        for p in s.text:
            pdf.multi_cell(0, 5, _pdf_text(p), new_x="LMARGIN", new_y="NEXT")
        if s.svg:
            if pdf.get_y() > 200:
                pdf.add_page()
            pdf.image(io.BytesIO(s.svg.encode()), x=pdf.l_margin, w=pdf.epw)
        if s.table:
            numeric = s.table.numeric
            with pdf.table(
                text_align=tuple(
                    "RIGHT" if i in numeric else "LEFT" for i in range(len(s.table.head))
                ),
                line_height=5.5,
                col_widths=tuple(2.2 if i == 0 else 1.0 for i in range(len(s.table.head))),
                headings_style=FontFace(emphasis="BOLD", fill_color=(242, 245, 249)),
                borders_layout="HORIZONTAL_LINES",
            ) as table:
                pdf.set_font("Helvetica", "", 8.5)
                for row in [s.table.head, *s.table.rows]:
                    cells = table.row()
                    for c in row:
                        cells.cell(_pdf_text(c))
    pdf.output(str(path))
