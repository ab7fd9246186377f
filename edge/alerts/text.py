"""An alert event in words, in the channel's language and number conventions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fieldlab.config.site import SiteConfig
from fieldlab.domain.alerts import AlertEvent
from fieldlab.i18n import Lang, formats, t


def what(event: AlertEvent, site: SiteConfig, lang: Lang) -> str:
    """What the condition is: the state and reason, the OEE, the value, the source."""
    if event.kind in ("stop", "offline"):
        state, _, reason = event.detail.partition(":")
        words = t(f"state.{state}", lang)
        return f"{words} ({site.reason_label(reason, lang)})" if reason else words
    if event.kind == "oee_below":
        limit = float(event.detail) if event.detail else None
        value = formats.percent(event.value, lang)
        return t("alert.oee_below", lang, value=value, limit=formats.percent(limit, lang))
    if event.kind == "value_outside":
        rule = next((r for r in site.alerts.rules if r.name == event.rule), None)
        lo = formats.number(rule.min, lang, 1) if rule and rule.min is not None else "…"
        hi = formats.number(rule.max, lang, 1) if rule and rule.max is not None else "…"
        value = formats.number(event.value, lang, 2)
        return t("alert.value_outside", lang, signal=event.detail, value=value, limit=f"{lo}–{hi}")
    return t("alert.source_degraded", lang, state=event.detail)


def message(event: AlertEvent, site: SiteConfig, lang: Lang) -> tuple[str, str]:
    """(title, body) of a notification."""
    tz: ZoneInfo = site.tz
    known = event.subject in site.machines
    subject = site.machines[event.subject].label(lang, event.subject) if known else event.subject
    lasted = formats.duration((event.ts - event.since) / 1000, lang)
    title = t(
        f"alert.{event.event}",
        lang,
        subject=subject,
        what=what(event, site, lang),
        since=formats.when(event.since, tz, lang),
        until=formats.when(event.ts, tz, lang),
        lasted=lasted,
    )
    body = f"{title}\n{t('alert.rule', lang, rule=event.rule)} · {site.site}"
    return title, body
