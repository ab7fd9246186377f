"""MQTT payloads into samples: the topic names the machine and signal, the payload (JSON or
plain text) carries values and times. Pure: no client, no session, no clock but the time a
message was received, so it is tested on its own (cases/payloads.yaml) and a new payload format
(Sparkplug B) is another decoder beside this one, not a copy of the transport.
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any, Protocol

from fieldlab.connectors.mqtt.config import Config, TopicConfig
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import (
    MACHINE_RE,
    SIGNAL_RE,
    Sample,
    SampleError,
    coerce_value,
    parse_ts,
)
from fieldlab.mapping import Mapper, SignalMap


class Decoder(Protocol):
    def parse(
        self, topic: str, payload: bytes, received_ms: int
    ) -> tuple[list[Sample], list[Rejected]]:
        """Samples and rejections of one message."""


@functools.lru_cache(maxsize=256)
def _keys(path: str) -> tuple[str, ...]:
    return tuple(k for k in path.removeprefix("$.").split(".") if k)


def _path(obj: Any, path: str) -> Any:
    keys = _keys(path)
    if len(keys) == 1 and isinstance(obj, dict):  # the common case: {"ts":…, "value":…}
        try:
            return obj[keys[0]]
        except KeyError:
            raise KeyError(path) from None
    for key in keys:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            raise KeyError(path)
    return obj


class TopicDecoder:
    """Topic templates and JSON/plain payloads (the `topics:`, `signals:` and `machines:` keys)."""

    def __init__(self, cfg: Config, name: str):
        self.cfg, self.name = cfg, name
        self._patterns = [(t, t.pattern()) for t in cfg.topics]
        self._routes: dict[str, tuple[TopicConfig, str | None, str | None] | None] = {}
        self._mapper = Mapper()

    def _route(self, topic: str) -> tuple[TopicConfig, str | None, str | None] | None:
        route = self._routes.get(topic)
        if route is None and topic not in self._routes:
            for tcfg, pattern in self._patterns:
                m = pattern.match(topic)
                if m is not None:
                    groups = m.groupdict()
                    try:
                        names = _names(
                            groups.get("machine") or tcfg.machine,
                            groups.get("signal") or tcfg.signal,
                        )
                    except SampleError:
                        names = None
                    route = None if names is None else (tcfg, *names)
                    break
            if len(self._routes) < 100_000:  # topics seen: bounded, a flood of new ones too
                self._routes[topic] = route
        return route

    def parse(
        self, topic: str, payload: bytes, received_ms: int
    ) -> tuple[list[Sample], list[Rejected]]:
        """Samples and rejections of one message."""
        route = self._route(topic)
        if route is None:
            return [], [
                self._reject(
                    topic,
                    payload,
                    "topic matches no configured template, "
                    "or names a machine/signal that is not a valid id",
                )
            ]
        tcfg, machine, signal = route
        try:
            return self._parse_payload(tcfg, machine, signal, payload, received_ms), []
        except (SampleError, ValueError, KeyError, TypeError) as exc:
            return [], [self._reject(topic, payload, _reason(exc))]

    def _parse_payload(
        self,
        tcfg: TopicConfig,
        machine: str | None,
        signal: str | None,
        payload: bytes,
        received_ms: int,
    ) -> list:
        text = payload.decode("utf-8")
        if tcfg.payload == "plain":
            items: list[Any] = [{"value": _plain(text)}]
            value_path, ts_path = "value", None
        else:
            doc = _DECODER.decode(text)
            items = doc if isinstance(doc, list) else [doc]
            if not items:
                raise ValueError("an empty list holds no samples")
            value_path, ts_path = tcfg.value, tcfg.ts
        out: list = []
        # The common shapes on the hot path (a batch of {"ts":…, "value":…}): plain keys read
        # as dict items, and the signal map looked up once per machine and signal.
        vkey = _keys(value_path)[0] if len(_keys(value_path)) == 1 else None
        tkey = _keys(ts_path)[0] if ts_path and len(_keys(ts_path)) == 1 else None
        specs: dict[tuple[str, str], SignalMap | None] = {}
        if vkey is not None and tkey is not None and machine is not None and signal is not None:
            spec = specs[(machine, signal)] = self._spec(machine, signal)
            if spec is None:
                plain = _plain_batch(items, machine, signal, vkey, tkey, received_ms)
                if plain is not None:
                    return plain
        apply, coerce = self._mapper.apply, coerce_value
        for item in items:
            m, sig = machine, signal
            if isinstance(item, dict):
                if "machine" in item or "signal" in item:
                    m, sig = _names(item.get("machine", m), item.get("signal", sig))
                raw = item[vkey] if vkey is not None and vkey in item else _path(item, value_path)
                ts = received_ms
                if tkey is not None:
                    if tkey in item:
                        ts = parse_ts(item[tkey])
                elif ts_path:
                    with contextlib.suppress(KeyError):  # no time in the payload: ours
                        ts = parse_ts(_path(item, ts_path))
            else:
                raw, ts = item, received_ms
            if m is None or sig is None:
                raise ValueError("the topic names no machine or signal, and the payload neither")
            key = (m, sig)
            if key in specs:
                spec = specs[key]
            else:
                spec = specs[key] = self._spec(m, sig)
            if spec is None:  # as `apply` does without a map, without its list per value
                out.append(Sample(ts, m, sig, coerce(sig, raw)))
            else:
                out += apply(m, sig, raw, ts, spec)
        return out

    def _spec(self, machine: str, signal: str) -> SignalMap | None:
        return self.cfg.machines.get(machine, {}).get(signal) or self.cfg.signals.get(signal)

    def _reject(self, topic: str, payload: bytes, reason: str) -> Rejected:
        return Rejected(f"mqtt:{self.name}:{topic}", payload.decode("utf-8", "replace"), reason)


def _plain_batch(
    items: list[Any], machine: str, signal: str, vkey: str, tkey: str, received_ms: int
) -> list[Sample] | None:
    """The most common shape the quick way: objects with the value and time keys only, for the
    machine and signal of the topic, no signal map. None as soon as one item is otherwise: the
    general loop then reads the payload (and words any error) as it always does."""
    out: list[Sample] = []
    append = out.append
    for item in items:
        if type(item) is not dict or vkey not in item or "machine" in item or "signal" in item:
            return None
        ts = parse_ts(item[tkey]) if tkey in item else received_ms
        append(Sample(ts, machine, signal, coerce_value(signal, item[vkey])))
    return out


_DECODER = json.JSONDecoder(parse_constant=lambda name: _no_constant(name))


def _names(machine: object, signal: object) -> tuple[str | None, str | None]:
    """Machine and signal names from a topic or payload, checked as domain.md §1 says."""
    if machine is not None and (not isinstance(machine, str) or not MACHINE_RE.fullmatch(machine)):
        raise SampleError(f"machine: {machine!r} is not an id like press-1")
    if signal is not None and (not isinstance(signal, str) or not SIGNAL_RE.fullmatch(signal)):
        raise SampleError(f"signal: {signal!r} is not a signal name ([a-z0-9_]+)")
    return machine, signal


def _plain(text: str) -> object:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a value (JSON has no NaN or Infinity)")


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "payload is not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} in the payload"
    return str(exc)
