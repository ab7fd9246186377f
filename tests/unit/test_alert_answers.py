"""Alerts people answer (#29, domain/answers.py): an acknowledged alert is not repeated, a
shelved one is silent until its time, every clear is still sent; answers are hand entries with
who gave them, read back by the gateway from the store."""

from __future__ import annotations

from fieldlab.config import parse_site_config
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import AlertAnswer, latest_answers
from fieldlab.domain.entries import Entry
from fieldlab.domain.samples import Sample
from fieldlab.gateway.alerting import GatewayAlerts
from fieldlab.store import SqliteStore
from tests.helpers import MIN, local

T0 = local("2026-03-02 08:00")
SITE = """
machines: {press-1: {}}
alerts:
  channels: {team: {url: "json://127.0.0.1:9/hook"}}
  rules: [{name: lange-storing, when: stop, states: [fault], for_min: 10, renotify_min: 30}]
"""


def ev(minutes: float, event: str, since: float = 0) -> AlertEvent:
    return AlertEvent(
        T0 + int(minutes * MIN), "lange-storing", "press-1", event, "stop", T0 + int(since * MIN),
        "fault",
    )  # fmt: skip


def test_an_answer_silences_the_repeats_of_its_firing_and_a_shelf_everything_until_its_time():
    ack = AlertAnswer("lange-storing", "press-1", T0, "olga", T0 + 12 * MIN, "monteur gebeld")
    assert ack.silences(ev(40, "repeated"))
    assert not ack.silences(ev(10, "fired"))  # it was answered after it fired
    assert not ack.silences(ev(60, "cleared"))  # a clear is always sent
    assert not ack.silences(ev(100, "repeated", since=90))  # a new firing: loud again
    shelf = AlertAnswer("lange-storing", "press-1", T0, "olga", T0, "", T0 + 60 * MIN)
    assert shelf.silences(ev(30, "fired", since=20)) and shelf.silences(ev(50, "repeated", 20))
    assert not shelf.silences(ev(61, "fired", since=51))
    assert not shelf.silences(ev(59, "cleared", since=20))
    other = AlertEvent(T0 + 40 * MIN, "lange-storing", "imm-1", "repeated", "stop", T0)
    assert not ack.silences(other)
    # kept as a hand entry and read back; what cannot be read is no answer, never an error
    assert AlertAnswer.from_entry(ack.entry()) == ack
    assert AlertAnswer.from_entry(shelf.entry()) == shelf
    broken = Entry(T0, "press-1", "alert_ack", "{not json", "x", T0)
    assert AlertAnswer.from_entry(broken) is None
    newest = latest_answers([shelf.entry(), ack.entry(), broken])  # newest first
    assert newest == {("lange-storing", "press-1"): shelf}


def test_the_gateway_reads_answers_from_the_store_and_keeps_silenced_firings(tmp_path):
    site = parse_site_config(SITE)
    with SqliteStore(tmp_path / "s.db") as store:
        gw = GatewayAlerts(site, lambda: store, [])
        sent = lambda: gw.notifier.pending  # noqa: E731 - the channel never started: all queued
        gw.handle([ev(10, "fired")])
        assert sent() == 1
        store.write_entries(
            [AlertAnswer("lange-storing", "press-1", T0, "olga", T0 + 12 * MIN).entry()]
        )
        gw.read_answers()
        gw.handle([ev(40, "repeated"), ev(70, "repeated")])
        assert sent() == 1 and gw.counts["silenced"] == 2 and gw.counts["repeated"] == 0
        gw.handle([ev(75, "cleared")])
        assert sent() == 2 and not gw.open
        # shelved for an hour from 80 min: a new firing at 95 is kept but not sent
        shelf = AlertAnswer(
            "lange-storing", "press-1", T0, "piet", T0 + 80 * MIN, "", T0 + 140 * MIN
        )
        store.write_entries([shelf.entry()])
        gw.read_answers()
        gw.handle([ev(95, "fired", since=85)])
        assert sent() == 2 and gw.open  # open, silent
        gw.handle([ev(145, "repeated", since=85)])  # the shelf is over: loud again
        assert sent() == 3
        import asyncio

        asyncio.run(gw.save())
        kept = [(e.event, (e.ts - T0) // MIN) for e in store.alerts(T0, T0 + 200 * MIN)]
    assert kept == [("fired", 10), ("cleared", 75), ("fired", 95), ("repeated", 145)]


def test_an_open_alert_is_answered_on_the_overview_and_the_andon(tmp_path, monkeypatch):
    """The overview's form (a note, acknowledge) and the andon's one big button: stored as an
    answer, shown with who and when, the alert no longer loud."""
    import time

    from streamlit.testing.v1 import AppTest

    from tests.pages import PAGES

    (tmp_path / "site.yaml").write_text(SITE + "store: sqlite:///fieldlab.db\n")
    now = int(time.time() * 1000)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(now - 660_000, "press-1", "state", "fault")])
        fired = [("lange-storing", 60_000, 660_000), ("warm", 30_000, 630_000)]
        store.write_alerts(
            [
                AlertEvent(now - ago, rule, "press-1", "fired", "stop", now - began, "fault")
                for rule, ago, began in fired
            ]
        )
    monkeypatch.setenv("FIELDLAB_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("FIELDLAB_LANG", "en")
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    assert len(at.warning) == 2, [w.value for w in at.warning]
    at.text_input[0].set_value("monteur gebeld")
    at.button[0].click().run()  # the first form's Acknowledge
    assert not at.exception, [e.value for e in at.exception]
    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
        answers = latest_answers(store.entries(signal="alert_ack"))
    a = answers[("lange-storing", "press-1")]
    assert (a.by, a.note, a.since, a.shelved_until) == ("", "monteur gebeld", now - 660_000, None)
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=60).run()
    assert len(at.warning) == 1 and "warm" in at.warning[0].value
    assert any("acknowledged by" in i.value and "monteur gebeld" in i.value for i in at.info)
    # the andon: one button per open alert, nothing to type on a TV
    andon = AppTest.from_file(str(PAGES / "andon.py"), default_timeout=60).run()
    assert not andon.text_input
    andon.button[0].click().run()
    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
        assert ("warm", "press-1") in latest_answers(store.entries(signal="alert_ack"))
