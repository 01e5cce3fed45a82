"""Pure-Python twin of the OTLP encoder (csrc/otlp.c + span encoding in csrc/span.c).

Built on the official opentelemetry-proto classes, so it doubles as the oracle: the
native bytes must equal what the protobuf runtime serialises for the same span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

HAS_IS_REMOTE = 0x100
IS_REMOTE = 0x200


class _Context(Protocol):
    trace_id: int
    span_id: int
    trace_flags: int
    is_remote: bool


class _Event(Protocol):
    name: str
    timestamp: int
    attributes: Mapping[str, Any]


class _Status(Protocol):
    status_code: int
    description: str | None


class ReadableSpan(Protocol):
    """What the encoder reads: the native Span's read-only properties."""

    @property
    def name(self) -> str: ...
    @property
    def context(self) -> _Context: ...
    @property
    def parent(self) -> _Context | None: ...
    @property
    def kind(self) -> int: ...
    @property
    def start_time(self) -> int: ...
    @property
    def end_time(self) -> int | None: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def events(self) -> Sequence[_Event]: ...
    @property
    def status(self) -> _Status: ...
    @property
    def dropped_attributes(self) -> int: ...
    @property
    def dropped_events(self) -> int: ...


def any_value(value: object) -> common_pb2.AnyValue:
    """AnyValue of a normalised attribute value (None: the empty AnyValue)."""
    out = common_pb2.AnyValue()
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, tuple):
        out.array_value.SetInParent()
        out.array_value.values.extend(any_value(v) for v in value)
    else:
        raise TypeError(f"not a normalised attribute value: {type(value).__name__}")
    return out


def key_values(attributes: Mapping[str, Any]) -> list[common_pb2.KeyValue]:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def span_message(span: ReadableSpan) -> trace_pb2.Span:
    ctx = span.context
    parent = span.parent
    msg = trace_pb2.Span(
        trace_id=ctx.trace_id.to_bytes(16, "big"),
        span_id=ctx.span_id.to_bytes(8, "big"),
        name=span.name,
        kind=span.kind + 1,  # type: ignore[arg-type]  # proto enums are ints at runtime
        start_time_unix_nano=span.start_time,
        end_time_unix_nano=span.end_time or 0,
        attributes=key_values(span.attributes),
        dropped_attributes_count=span.dropped_attributes,
        events=[
            trace_pb2.Span.Event(
                time_unix_nano=e.timestamp, name=e.name, attributes=key_values(e.attributes)
            )
            for e in span.events
        ],
        dropped_events_count=span.dropped_events,
        flags=ctx.trace_flags
        | HAS_IS_REMOTE
        | (IS_REMOTE if parent is not None and parent.is_remote else 0),
    )
    if parent is not None:
        msg.parent_span_id = parent.span_id.to_bytes(8, "big")
    msg.status.SetInParent()
    msg.status.code = span.status.status_code  # type: ignore[assignment]
    if span.status.description:
        msg.status.message = span.status.description
    return msg


def encode_span(span: ReadableSpan) -> bytes:
    """The OTLP Span message of span, as bytes (the twin of Span._encode)."""
    raw: bytes = span_message(span).SerializeToString()
    return raw


def encode_request(
    resource: Mapping[str, Any], scope_name: str, scope_version: str, spans: Sequence[bytes]
) -> bytes:
    """ExportTraceServiceRequest framing of encoded spans (the twin of _native.encode_request)."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.SetInParent()
    rs.resource.attributes.extend(key_values(resource))
    ss = rs.scope_spans.add()
    ss.scope.SetInParent()
    ss.scope.name = scope_name
    ss.scope.version = scope_version
    for span in spans:
        ss.spans.add().ParseFromString(span)
    raw: bytes = request.SerializeToString()
    return raw
