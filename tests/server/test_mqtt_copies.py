"""What a broker sends again after a restart is handed on once (#32 item 3).

A real Mosquitto with its persistence file is stopped (SIGTERM: it saves its sessions and the
messages it has sent without an acknowledgement) while the transport holds messages it has not
acknowledged, and started again: it sends them again, flagged DUP, with their packet ids. The
transport hands none of them on a second time, and acknowledges them so the broker holds
nothing afterwards, whether the first acknowledgement was lost with the link or comes after the
restart."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.connectors.mqtt.config import BrokerConfig
from fieldlab.connectors.mqtt.transport import Message, Session, Transport
from tests.services import mosquitto_process

N = 60


class Holding:
    """A receiver that keeps every message and its acknowledgement for the test to call."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.acks: list[Callable[[], None]] = []
        self.connects = 0

    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None:
        self.connects += 1

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        pass

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        self.payloads += [bytes(m.payload) for m in messages]
        self.acks.append(ack)

    def ack_all(self) -> None:
        acks, self.acks = self.acks, []
        for ack in acks:
            ack()


def _publish(port: int, first: int, n: int) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"copies-pub-{first}")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish("fieldlab/c/a/m1/v", f"{i}", qos=1) for i in range(first, first + n)]
    for info in infos:
        info.wait_for_publish(30)
    pub.loop_stop()
    pub.disconnect()


async def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _left_on_the_broker(port: int) -> list[bytes]:
    """What the broker still holds for the session: it sends it when the session returns."""
    got: list[bytes] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="copies", clean_session=False)
    c.on_message = lambda c_, u, m: got.append(bytes(m.payload))
    c.connect("127.0.0.1", port)
    c.loop_start()
    time.sleep(1.0)
    c.loop_stop()
    c.disconnect()
    return got


@pytest.mark.parametrize("acked", ["before the restart", "after it"])
def test_what_the_broker_sends_again_after_a_restart_is_handed_on_once(acked: str):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o777)
        broker = mosquitto_process(folder, f"persistence true\npersistence_location {folder}/\n")
        broker.start()
        try:
            port = broker.port
            # the session exists before anything is published: the broker queues for it
            _left_on_the_broker(port)
            health = SourceHealth("copies", "mqtt")
            ctx = ConnectorContext("copies", None, health, logging.getLogger("t"))  # type: ignore[arg-type]
            transport = Transport(
                "copies",
                BrokerConfig(url=f"mqtt://127.0.0.1:{port}", client_id="copies"),
                Session(["fieldlab/c/#"], persistent=True, protocol="3.1.1"),
            )
            receiver = Holding()

            async def run() -> None:
                task = asyncio.create_task(transport.run(ctx, receiver))
                await _until(lambda: receiver.connects == 1, "connected")
                await asyncio.to_thread(_publish, port, 0, N)
                # nothing acknowledged: the broker sends its in-flight window (20) and waits
                await _until(lambda: len(receiver.payloads) >= 20, "the in-flight window")
                await asyncio.sleep(0.3)
                before = len(receiver.payloads)
                assert 0 < before < N
                await asyncio.to_thread(broker.stop)  # saves what it sent unacknowledged
                if acked == "before the restart":
                    receiver.ack_all()  # the PUBACKs go nowhere: the link is down
                await asyncio.to_thread(broker.start)
                await _until(lambda: receiver.connects == 2, "connected again")
                if acked == "after it":
                    await asyncio.sleep(0.5)  # the copies come, and are held back
                    assert len(receiver.payloads) == before, "a copy was handed on"
                    receiver.ack_all()  # their packet ids: the copies acknowledged too
                while len(receiver.payloads) < N:
                    await _until(lambda: receiver.acks, "more")
                    receiver.ack_all()
                await asyncio.sleep(0.5)
                receiver.ack_all()
                task.cancel()  # as the gateway stops a source: the last acks, then goodbye
                await asyncio.gather(task, return_exceptions=True)
                await transport.close()

            asyncio.run(run())
            assert sorted(receiver.payloads, key=int) == [f"{i}".encode() for i in range(N)]
            assert health.events["copies_skipped"] >= 1, dict(health.events)
            assert _left_on_the_broker(port) == []
        finally:
            broker.stop()
