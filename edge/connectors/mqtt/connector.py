"""MQTT connector: topics and JSON/plain payloads (`decoders.py`) on the MQTT transport
(`transport.py`: session, subscriptions, acknowledgements after commit, reconnects, the clean
stop); the config model is `config.py`.

The sample config is `sample.yaml` beside this file; README.md says what the connector does.

QoS 1 with a persistent session; every (re)connect subscribes again and checks
`session_present`. Messages are acknowledged only after their samples are committed, so a crash
loses nothing: the broker sends them again. A payload that cannot be parsed or mapped goes to
the rejected table with topic, payload and reason, and is counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import ConnectorContext
from fieldlab.connectors.mqtt import TYPE
from fieldlab.connectors.mqtt.config import Config, TopicConfig
from fieldlab.connectors.mqtt.decoders import Decoder, TopicDecoder
from fieldlab.connectors.mqtt.transport import Message, Session, Transport
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample

__all__ = ["TYPE", "Config", "MqttConnector", "create"]


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> MqttConnector:
    return MqttConnector(cfg)


class MqttConnector:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.name = cfg.name
        self.url = cfg.url
        self.own_clock = True  # a payload's `ts`; MQTT's live messages keep their time anyway
        self.change_times = False
        # Machines this gateway answers for (offline on loss and at stop). In a shared group
        # no gateway sees all of a machine's messages, so none may declare it offline.
        # Neither does a source that only relays what people enter (`machine_contact: false`).
        self._answers = not cfg.share_group and cfg.machine_contact
        self.machines: list[str] = list(cfg.machines) if self._answers else []
        self.decoder: Decoder = TopicDecoder(cfg, cfg.name)
        self.transport = Transport(
            cfg.name,
            cfg,
            Session(
                [self._filter(t) for t in cfg.topics],
                persistent=True,
                protocol=cfg.protocol,
                session_expiry_s=cfg.session_expiry_s,
                receive_maximum=cfg.receive_maximum,
                flush_ms=cfg.flush_ms,
            ),
        )
        self.session_present: bool | None = None
        self._up = False

    # -- parsing (pure, tested on its own) -------------------------------------------------------

    def parse(
        self, topic: str, payload: bytes, received_ms: int
    ) -> tuple[list[Sample], list[Rejected]]:
        """Samples and rejections of one message (the decoder's)."""
        return self.decoder.parse(topic, payload, received_ms)

    def _filter(self, tcfg: TopicConfig) -> str:
        group = self.cfg.share_group
        return f"$share/{group}/{tcfg.filter()}" if group else tcfg.filter()

    # -- running: the transport calls these ------------------------------------------------------

    async def run(self, ctx: ConnectorContext) -> None:
        self._up = False
        await self.transport.run(ctx, self)

    async def close(self) -> None:
        await self.transport.close()

    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None:
        self.session_present = session_present
        self._up = True
        if not session_present and ctx.health.samples:
            ctx.log.warning(
                "%s: the broker kept no session: messages sent while the gateway was away "
                "are missing",
                self.name,
            )
        ctx.back(self.machines)

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        if kind == "gone":
            if self._up:
                await ctx.failed(self.machines, why)
        else:
            ctx.error(why)
            await ctx.lost(self.machines, why)
        self._up = False

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        """Retained messages are the values as they stand, stamped with their last change (a
        retained state is as old as its ts says): after an `offline` they are written at the
        instant contact returned. The others arrive in order, live or replayed from the
        persistent session, and keep their time (domain.md §3)."""
        now_ms = int(time.time() * 1000)
        for group in split(messages):
            samples, rejected = self.decode(group.messages, now_ms)
            await self.deliver(
                ctx, samples, rejected, ack if group.last else None, group.keeps_time, group.resent
            )

    def decode(self, messages: list[Message], now_ms: int) -> tuple[list[Sample], list[Rejected]]:
        """Samples and rejections of a group of messages (a gateway worker's share of the work)."""
        samples: list[Sample] = []
        rejected: list[Rejected] = []
        parse = self.decoder.parse
        for msg in messages:
            s, r = parse(msg.topic, bytes(msg.payload), now_ms)
            samples += s
            rejected += r
        return samples, rejected

    async def deliver(
        self,
        ctx: ConnectorContext,
        samples: list[Sample],
        rejected: list[Rejected],
        ack: Callable[[], None] | None,
        keeps_time: bool,
        resent: bool = False,
    ) -> None:
        """Decoded messages to the gateway, once the source has seen them (`saw`). Read by
        this one process, a subscription's order is the order of each series (`in_order`:
        domain.md §9 holds a clock that steps back to it); a worker's share of a `$share`
        subscription is not."""
        newest = max((s.ts for s in samples), default=None) if keeps_time else None
        self.saw(ctx, {s.machine for s in samples}, newest)
        await ctx.send(
            samples,
            rejected,
            now=ctx.clock.now(),
            on_commit=ack,
            keeps_time=keeps_time,
            in_order=keeps_time,
            resent=resent,
        )

    def saw(self, ctx: ConnectorContext, machines: set[str], newest: int | None) -> None:
        """Machines this source answers for (a new one joins the list), and its clock: the
        newest time of messages that keep their time. The worker pool calls it with a worker's
        batch too (gateway/pool.py), whose samples come in columns."""
        if self._answers:
            new = machines.difference(self.machines)
            if new:
                self.machines += sorted(new)
        if newest is not None:
            ctx.clock.observe(newest)


class Group(NamedTuple):
    messages: list[Message]
    #: live or replayed from the session, in order: they keep their time (not retained ones)
    keeps_time: bool
    #: sent again by the broker (DUP) and not seen by this process: a gateway before it may
    #: have written them (transport.py skips the copies of what this process handed on)
    resent: bool
    #: the acknowledgement goes with it
    last: bool


def split(messages: list[Message]) -> list[Group]:
    """The groups in the order they go: live and re-sent ones as they came, keeping their
    time, then the retained ones; the acknowledgement goes with the last group."""
    if not any(m.retain or m.dup for m in messages):
        return [Group(messages, True, False, True)]
    out: list[Group] = []
    run: list[Message] = []
    retained: list[Message] = []
    dup = False
    for m in messages:
        if m.retain:
            retained.append(m)
            continue
        if run and bool(m.dup) != dup:
            out.append(Group(run, True, dup, False))
            run = []
        dup = bool(m.dup)
        run.append(m)
    if run:
        out.append(Group(run, True, dup, False))
    if retained:
        out.append(Group(retained, False, False, False))
    out[-1] = out[-1]._replace(last=True)
    return out
