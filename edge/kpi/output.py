"""`fieldlab oee` output (domain.md §7): the JSON object and the readable table."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fieldlab.domain.samples import from_ms
from fieldlab.i18n import Lang, has, t
from fieldlab.i18n.formats import duration, number, percent
from fieldlab.kpi.oee import OeeResult


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def local_iso(ms: int, tz: ZoneInfo) -> str:
    return from_ms(ms).astimezone(tz).isoformat(timespec="milliseconds")


def to_json(r: OeeResult, tz: ZoneInfo) -> dict[str, Any]:
    """The §7 object; ISO 22400 adds ``dialect``/``apt_s`` and says ``effectiveness``."""
    out: dict[str, Any] = {
        "machine": r.machine,
        **({r.part[0]: r.part[1]} if r.part else {}),  # --by order|product
        "from": local_iso(r.start, tz),
        "to": local_iso(r.end, tz),
        "planned_s": _r(r.planned_s),
        "run_s": _r(r.run_s),
        "downtime_s": _r(r.downtime_s),
        "small_stop_s": _r(r.small_stop_s),
        "availability": _r(r.availability),
        "performance": _r(r.performance),
        "quality": _r(r.quality),
        "oee": _r(r.oee),
        "total": r.total,
        "good": r.good,
        "scrap": r.scrap,
        "ideal_s": _r(r.ideal_s),
        "losses_s": r.losses_s,
        "reasons": r.reasons,
        "coverage": _r(r.coverage),
        "energy": None if r.energy is None else r.energy.to_json(),  # domain.md §8
        "flags": r.flags,
    }
    if r.dialect == "iso":
        out["effectiveness"] = out.pop("performance")
        out = {"dialect": "iso", **out, "apt_s": _r(r.apt_s)}
    return out


def energy_text(r: OeeResult, lang: Lang) -> str:
    """`7,333 kWh (draait 6,667, wacht 0,667) · 0,0733 kWh/stuk · 1,83 EUR · 2,420 kg CO₂`."""
    e = r.energy
    assert e is not None
    parts = [f"{number(e.kwh, lang, 3)} kWh"]
    used = [(k, v) for k, v in e.by_state_kwh.items() if v > 0]
    if used:
        states = ", ".join(f"{t('state.' + k, lang)} {number(v, lang, 3)}" for k, v in used)
        parts[0] += f" ({states})"
    if e.kwh_per_good is not None:
        parts.append(f"{number(e.kwh_per_good, lang, 4)} {t('kwh_per_good', lang)}")
    if e.cost is not None:
        parts.append(f"{number(e.cost, lang, 2)} {e.currency}")
    if e.co2_kg is not None:
        parts.append(f"{number(e.co2_kg, lang, 1)} kg CO₂")
    return " · ".join(parts)


def flag_text(flag: str, lang: Lang = "en") -> str:
    """A flag with what it means, where the table has words for it."""
    key = f"flag.{flag.split(':', 1)[0]}"
    return f"{flag} ({t(key, lang)})" if has(key) else flag


def render_table(results: list[OeeResult], tz: ZoneInfo, lang: Lang = "en") -> str:
    """One row per machine, then each machine's losses, reasons and notes."""
    if not results:
        return ""
    perf_key = "effectiveness" if results[0].dialect == "iso" else "performance"
    head = [
        t("machine", lang),
        "OEE",
        t("letter.availability", lang),
        t("letter.performance", lang) if perf_key == "performance" else "E",
        t("letter.quality", lang),
        t("planned", lang),
        t("downtime", lang),
        t("small_stops", lang),
        t("good", lang),
        t("scrap", lang),
        t("coverage", lang),
    ]
    rows = [
        [
            r.machine if r.part is None else f"{r.machine} · {r.part[1]}",
            t("no_data", lang) if r.no_data else percent(r.oee, lang),
            percent(r.availability, lang),
            percent(r.performance, lang),
            percent(r.quality, lang),
            duration(r.planned_s, lang),
            duration(None if r.no_data else r.downtime_s, lang),
            duration(r.small_stop_s, lang),
            number(r.good, lang),
            number(r.scrap, lang),
            percent(r.coverage, lang),
        ]
        for r in results
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    first = results[0]
    lines = [
        f"{t('window', lang)}: {local_iso(first.start, tz)} → {local_iso(first.end, tz)}"
        f" ({tz.key})",
        f"{head[2]} = {t('availability', lang)}, {head[3]} = {t(perf_key, lang)}, "
        f"{head[4]} = {t('quality', lang)}",
        f"{t('coverage', lang)} = {t('coverage.help', lang)}",
        "",
    ]
    for i, row in enumerate([head, *rows]):
        cells = [
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:
        extra = []
        losses = [
            f"{t('state.' + k, lang)} {duration(v, lang)}" for k, v in r.losses_s.items() if v > 0
        ]
        if losses:
            extra.append(f"  {t('losses', lang)}: " + ", ".join(losses))
        if r.reasons:
            top = [
                f"{row['reason'] or t('unexplained', lang)} {row['episodes']}× "
                f"{duration(float(row['downtime_s']), lang)}"
                for row in r.reasons[:5]
            ]
            extra.append(f"  {t('reasons', lang)}: " + ", ".join(top))
        if r.energy is not None:
            extra.append(f"  {t('energy', lang)}: " + energy_text(r, lang))
        if r.flags:
            extra.append(f"  {t('flags', lang)}: " + ", ".join(flag_text(f, lang) for f in r.flags))
        if extra:
            lines += ["", r.machine, *extra]
    return "\n".join(lines)


def shift_figures(r: OeeResult, shift: str, now: int) -> dict[str, Any]:
    """The live OEE of a shift as the Unified Namespace carries it (ratios 0–1, JSON)."""
    return {
        "ts": now,
        "shift": shift,
        "from": r.start,
        "to": r.end,
        "oee": _r(r.oee),
        "availability": _r(r.availability),
        "performance": _r(r.performance),
        "quality": _r(r.quality),
        "good": r.good,
        "scrap": r.scrap,
        "downtime_s": None if r.no_data else _r(r.downtime_s),
        "coverage": _r(r.coverage),
        "no_data": r.no_data,  # domain.md §5: nothing observed, so no figures (and no downtime)
    }
