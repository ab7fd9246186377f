"""Alerts people answer (#29, domain/answers.py): an acknowledged alert is not repeated, a
shelved one is silent until its time, every clear is still sent; answers are hand entries with
who gave them, read back by the gateway from the store."""

from __future__ import annotations

from fieldlab.config import parse_site_config
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import AlertAnswer, latest_answers
from fieldlab.domain.entries import Entry
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
