"""Sparkplug B payloads (Sparkplug 3.0, the `org.eclipse.tahu.protobuf.Payload` message of
Eclipse Tahu's sparkplug_b.proto) through Google's protobuf runtime.

The schema is declared here with `descriptor_pb2` instead of a generated `_pb2.py`: no protoc
step, and only the parts a host reads (the metric values, timestamps, aliases, flags); fields
left out (property sets, data sets, templates, metadata) are skipped by protobuf as unknown.
The libraries that ship the schema pin what we cannot use (pysparkplug and mqtt-spb-wrapper need
paho-mqtt 1.x, tahu protobuf 3.19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto

#: Sparkplug B datatypes (spec 6.4.16) → the oneof value field that carries them.
DATATYPES = {
    1: ("Int8", "int_value"), 2: ("Int16", "int_value"), 3: ("Int32", "int_value"),
    4: ("Int64", "long_value"), 5: ("UInt8", "int_value"), 6: ("UInt16", "int_value"),
    7: ("UInt32", "int_value"), 8: ("UInt64", "long_value"), 9: ("Float", "float_value"),
    10: ("Double", "double_value"), 11: ("Boolean", "boolean_value"),
    12: ("String", "string_value"), 13: ("DateTime", "long_value"), 14: ("Text", "string_value"),
}  # fmt: skip
SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}


def _schema() -> Any:
    f = descriptor_pb2.FileDescriptorProto(
        name="fieldlab_sparkplug_b.proto", package="org.eclipse.tahu.protobuf", syntax="proto2"
    )
    payload = f.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    for name, number, typ, label in (
        ("name", 1, _F.TYPE_STRING, opt),
        ("alias", 2, _F.TYPE_UINT64, opt),
        ("timestamp", 3, _F.TYPE_UINT64, opt),
        ("datatype", 4, _F.TYPE_UINT32, opt),
        ("is_historical", 5, _F.TYPE_BOOL, opt),
        ("is_transient", 6, _F.TYPE_BOOL, opt),
        ("is_null", 7, _F.TYPE_BOOL, opt),
    ):
        metric.field.add(name=name, number=number, type=typ, label=label)
    metric.oneof_decl.add(name="value")
    for name, number, typ in (
        ("int_value", 10, _F.TYPE_UINT32),
        ("long_value", 11, _F.TYPE_UINT64),
        ("float_value", 12, _F.TYPE_FLOAT),
        ("double_value", 13, _F.TYPE_DOUBLE),
        ("boolean_value", 14, _F.TYPE_BOOL),
        ("string_value", 15, _F.TYPE_STRING),
        ("bytes_value", 16, _F.TYPE_BYTES),
    ):
        metric.field.add(name=name, number=number, type=typ, label=opt, oneof_index=0)
    for name, number, typ, label in (
        ("timestamp", 1, _F.TYPE_UINT64, opt),
        ("seq", 3, _F.TYPE_UINT64, opt),
        ("uuid", 4, _F.TYPE_STRING, opt),
        ("body", 5, _F.TYPE_BYTES, opt),
    ):
        payload.field.add(name=name, number=number, type=typ, label=label)
    payload.field.add(
        name="metrics",
        number=2,
        type=_F.TYPE_MESSAGE,
        label=rep,
        type_name=".org.eclipse.tahu.protobuf.Payload.Metric",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    )


Payload = _schema()


@dataclass(frozen=True)
class Metric:
    name: str | None
    alias: int | None
    timestamp: int | None
    datatype: int | None
    value: bool | int | float | str | None
    historical: bool = False


def _value(m: Any, datatype: int | None) -> bool | int | float | str | None:
    if m.is_null:
        return None
    field = m.WhichOneof("value")
    if field is None or field == "bytes_value":
        return None
    v = getattr(m, field)
    bits = SIGNED_BITS.get(datatype or 0)
    if bits and isinstance(v, int) and v >= 1 << (bits - 1):  # two's complement in uint fields
        v -= 1 << (32 if field == "int_value" else 64)
    return v


def parse(data: bytes) -> Any:
    """The protobuf message of a payload; raises ValueError when it is not one."""
    p = Payload()
    try:
        p.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError, or worse
        raise ValueError(f"not a Sparkplug B payload ({exc})") from None
    return p


def metrics_of(p: Any) -> list[Metric]:
    return [
        Metric(
            m.name if m.HasField("name") else None,
            m.alias if m.HasField("alias") else None,
            m.timestamp if m.HasField("timestamp") else None,
            m.datatype if m.HasField("datatype") else None,
            _value(m, m.datatype if m.HasField("datatype") else None),
            m.is_historical,
        )
        for m in p.metrics
    ]


def decode(data: bytes) -> tuple[int | None, int | None, list[Metric]]:
    """(timestamp, seq, metrics) of a payload; raises ValueError when it is not one."""
    p = parse(data)
    ts = p.timestamp if p.HasField("timestamp") else None
    seq = p.seq if p.HasField("seq") else None
    return ts, seq, metrics_of(p)


def encode(
    metrics: Sequence[tuple[str | None, int | None, int, Any]],
    *,
    timestamp: int,
    seq: int | None = None,
    metric_ts: int | None = None,
) -> bytes:
    """A payload of (name, alias, datatype, value) metrics (the simulator's edge node)."""
    p = Payload(timestamp=timestamp)
    if seq is not None:
        p.seq = seq
    for name, alias, datatype, value in metrics:
        m = p.metrics.add(datatype=datatype, timestamp=metric_ts or timestamp)
        if name is not None:
            m.name = name
        if alias is not None:
            m.alias = alias
        field = DATATYPES[datatype][1]
        if value is None:
            m.is_null = True
        elif field in ("int_value", "long_value") and int(value) < 0:
            setattr(m, field, int(value) + (1 << (32 if field == "int_value" else 64)))
        else:
            setattr(m, field, value)
    return p.SerializeToString()
