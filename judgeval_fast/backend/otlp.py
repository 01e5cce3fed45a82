"""Decode OTLP trace export bodies into plain Python dicts.

Only the official ``opentelemetry-proto`` classes are used for parsing, so
the backend validates exactly what a real collector would accept.
"""

from __future__ import annotations

import base64
import contextlib
import zlib
from collections.abc import Iterable
from typing import Any

import orjson

# protobuf ships no type information; ``unused-ignore`` keeps this clean
# once types-protobuf is installed too.
from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class OtlpDecodeError(ValueError):
    """Raised when a body is not a valid OTLP trace export."""


class BodyTooLargeError(ValueError):
    """Raised when a (decompressed) body exceeds the configured cap."""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` with a hard cap on the output size.

    The cap matters because a few KiB of gzip can expand to gigabytes and
    the backend must never die because of a bad request.

    Args:
        body: Raw body bytes as received.
        encoding: Value of the Content-Encoding header (may be empty).
        limit: Maximum decompressed size in bytes.

    Returns:
        The decoded body.

    Raises:
        OtlpDecodeError: Unknown encoding or corrupt compressed data.
        BodyTooLargeError: Decompressed data exceeds ``limit``.
    """
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return body
    if enc in ("gzip", "x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS, limit)
    if enc == "deflate":
        # RFC 9110 says "deflate" is zlib-wrapped, but many clients send raw
        # deflate streams; accept both.
        try:
            return _inflate(body, zlib.MAX_WBITS, limit)
        except OtlpDecodeError:
            return _inflate(body, -zlib.MAX_WBITS, limit)
    raise OtlpDecodeError(f"unsupported Content-Encoding: {encoding!r}")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    dec = zlib.decompressobj(wbits)
    try:
        out = dec.decompress(body, limit + 1)
        if len(out) > limit or dec.unconsumed_tail:
            raise BodyTooLargeError(f"decompressed body exceeds {limit} bytes")
        out += dec.flush()
    except zlib.error as exc:
        raise OtlpDecodeError(f"corrupt compressed body: {exc}") from exc
    if len(out) > limit:
        raise BodyTooLargeError(f"decompressed body exceeds {limit} bytes")
    if not dec.eof:
        raise OtlpDecodeError("truncated compressed body")
    return out


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Parse a (decompressed) export body.

    Args:
        body: Decompressed body bytes.
        content_type: Request Content-Type; ``application/json`` selects
            OTLP/JSON, anything else is treated as protobuf.

    Returns:
        The parsed request message.

    Raises:
        OtlpDecodeError: If the body cannot be parsed.
    """
    msg = ExportTraceServiceRequest()
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise OtlpDecodeError(f"invalid JSON: {exc}") from exc
        try:
            json_format.ParseDict(_hex_ids_to_base64(data), msg, ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError, ValueError) as exc:
            raise OtlpDecodeError(f"invalid OTLP/JSON: {exc}") from exc
        return msg
    try:
        msg.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid protobuf ExportTraceServiceRequest: {exc}") from exc
    return msg


def _hex_ids_to_base64(data: Any) -> Any:
    # OTLP/JSON encodes ids as hex, while protobuf's JSON mapping expects
    # base64 for bytes fields, so ids are rewritten before ParseDict.
    if not isinstance(data, dict):
        return data
    for rs in data.get("resourceSpans") or data.get("resource_spans") or []:
        if not isinstance(rs, dict):
            continue
        for ss in rs.get("scopeSpans") or rs.get("scope_spans") or []:
            if not isinstance(ss, dict):
                continue
            for span in ss.get("spans") or []:
                if not isinstance(span, dict):
                    continue
                _rewrite_ids(span)
                for link in span.get("links") or []:
                    if isinstance(link, dict):
                        _rewrite_ids(link)
    return data


_ID_KEYS = (
    "traceId",
    "trace_id",
    "spanId",
    "span_id",
    "parentSpanId",
    "parent_span_id",
)


def _rewrite_ids(obj: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            # Not hex: leave it and let ParseDict judge it as base64.
            with contextlib.suppress(ValueError):
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")


def any_value_to_python(value: AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` to a JSON-friendly Python value.

    Args:
        value: The protobuf AnyValue.

    Returns:
        str/bool/int/float, hex string for bytes, list for arrays, dict for
        kvlists, or None when unset.
    """
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "array_value":
        return [any_value_to_python(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    return None


def attributes_to_dict(attrs: Iterable[KeyValue]) -> dict[str, Any]:
    """Convert repeated ``KeyValue`` to a dict (last duplicate key wins).

    Args:
        attrs: The repeated KeyValue field.

    Returns:
        Mapping of attribute key to converted value.
    """
    return {kv.key: any_value_to_python(kv.value) for kv in attrs}


def span_to_dict(span: Span) -> dict[str, Any]:
    """Convert one protobuf span (without resource/scope context).

    Args:
        span: The protobuf span.

    Returns:
        Dict with hex ids, timing, status, attributes, events and links.
    """
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "trace_state": span.trace_state,
        "name": span.name,
        "kind": int(span.kind),
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "flags": span.flags,
        "status_code": int(span.status.code),
        "status_message": span.status.message,
        "attributes": attributes_to_dict(span.attributes),
        "events": [
            {
                "name": ev.name,
                "time_unix_nano": ev.time_unix_nano,
                "attributes": attributes_to_dict(ev.attributes),
                "dropped_attributes_count": ev.dropped_attributes_count,
            }
            for ev in span.events
        ],
        "links": [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "trace_state": link.trace_state,
                "attributes": attributes_to_dict(link.attributes),
                "flags": link.flags,
            }
            for link in span.links
        ],
        "dropped_attributes_count": span.dropped_attributes_count,
        "dropped_events_count": span.dropped_events_count,
        "dropped_links_count": span.dropped_links_count,
    }


def request_to_spans(msg: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Flatten an export request into one dict per span.

    Args:
        msg: Parsed export request.

    Returns:
        Span dicts, each carrying its resource attributes and scope.
    """
    out: list[dict[str, Any]] = []
    for rs in msg.resource_spans:
        resource_attrs = attributes_to_dict(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name
            scope_version = ss.scope.version
            for span in ss.spans:
                d = span_to_dict(span)
                d["resource_attributes"] = resource_attrs
                d["scope_name"] = scope_name
                d["scope_version"] = scope_version
                out.append(d)
    return out


def request_span_keys(msg: ExportTraceServiceRequest) -> list[tuple[str, bytes]]:
    """The name and raw ``trace_id + span_id`` of every span, for counting only.

    Args:
        msg: Parsed export request.

    Returns:
        One (name, 24-byte id) pair per span, in request order.
    """
    return [
        (span.name, span.trace_id + span.span_id)
        for rs in msg.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


def encode_response(rejected: int = 0, message: str = "") -> bytes:
    """Serialise an ``ExportTraceServiceResponse``.

    Args:
        rejected: Rejected span count for ``partial_success`` (0 = full success).
        message: Error message accompanying a partial rejection.

    Returns:
        Protobuf bytes (empty for a plain success, as the spec allows).
    """
    resp = ExportTraceServiceResponse()
    if rejected > 0:
        resp.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
        )
    return bytes(resp.SerializeToString())
