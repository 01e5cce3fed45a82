"""The OTLP encoder, checked against the official opentelemetry-proto decoder.

Every encoded span is decoded with the official classes and compared field by field,
then compared byte for byte with the protobuf runtime's own serialisation (via the
pure-Python twin in judgeval_fast._model.otlp).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from judgeval_fast import _native
from judgeval_fast._model import otlp as twin

pytestmark = pytest.mark.native

MiB = 1 << 20


def decode(span: _native.Span) -> trace_pb2.Span:
    raw = span._encode()
    msg = trace_pb2.Span()
    msg.ParseFromString(raw)
    # Byte-for-byte: the protobuf runtime re-serialises the decoded message identically,
    # and the twin (built on the official classes) produces the same bytes.
    assert msg.SerializeToString() == raw
    assert twin.encode_span(span) == raw
    return msg


def value_of(v: common_pb2.AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(value_of(x) for x in v.array_value.values)
    return getattr(v, kind)


def attrs_of(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def test_every_field_round_trips() -> None:
    parent = _native.SpanContext(0x1234, 0x99, is_remote=True)
    span = _native.Span(
        "llm-call",
        parent=parent,
        kind=2,
        attributes={"s": "text", "i": -5, "f": 2.5, "b": True, "l": [1, 2, 3], "y": b"\x00\xff"},
        start_time=1_700_000_000_000_000_000,
    )
    span.add_event("token", {"n": 1}, timestamp=1_700_000_000_000_000_500)
    span.set_status(2, "it failed")
    span.end(end_time=1_700_000_000_000_001_000)
    msg = decode(span)
    assert msg.trace_id == (0x1234).to_bytes(16, "big")
    assert msg.span_id == span.get_span_context().span_id.to_bytes(8, "big")
    assert msg.parent_span_id == (0x99).to_bytes(8, "big")
    assert msg.name == "llm-call"
    assert msg.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert msg.start_time_unix_nano == 1_700_000_000_000_000_000
    assert msg.end_time_unix_nano == 1_700_000_000_000_001_000
    assert attrs_of(msg.attributes) == {
        "s": "text",
        "i": -5,
        "f": 2.5,
        "b": True,
        "l": (1, 2, 3),
        "y": b"\x00\xff",
    }
    assert [(e.name, e.time_unix_nano, attrs_of(e.attributes)) for e in msg.events] == [
        ("token", 1_700_000_000_000_000_500, {"n": 1})
    ]
    assert msg.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert msg.status.message == "it failed"
    # W3C sampled flag, plus "has is_remote" and "is_remote" for the remote parent.
    assert msg.flags == 0x1 | 0x100 | 0x200
    assert msg.dropped_attributes_count == 0 and msg.dropped_events_count == 0


@pytest.mark.parametrize("kind", range(5))
def test_span_kinds_map_to_proto_values(kind: int) -> None:
    span = _native.Span("k", kind=kind)
    span.end()
    assert decode(span).kind == kind + 1


@pytest.mark.parametrize(
    ("code", "description", "expected_code", "expected_message"),
    [
        (0, None, 0, ""),
        (1, "ignored for OK", 1, ""),
        (2, "boom", 2, "boom"),
    ],
)
def test_status(
    code: int, description: str | None, expected_code: int, expected_message: str
) -> None:
    span = _native.Span("s")
    span.set_status(code, description)
    span.end()
    msg = decode(span)
    assert msg.HasField("status")  # always present, as the OTel SDK encoder writes it
    assert (msg.status.code, msg.status.message) == (expected_code, expected_message)


def test_root_span_has_no_parent_and_local_flags() -> None:
    span = _native.Span("root")
    span.end()
    msg = decode(span)
    assert msg.parent_span_id == b""
    assert msg.flags == 0x101


def test_child_of_local_span_shares_trace() -> None:
    root = _native.Span("root")
    child = _native.Span("child", parent=root)
    child.end()
    root.end()
    msg = decode(child)
    assert msg.trace_id == root.get_span_context().trace_id.to_bytes(16, "big")
    assert msg.parent_span_id == root.get_span_context().span_id.to_bytes(8, "big")
    assert msg.flags == 0x101


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [(0, 0), (1, 1), (2**128 - 1, 2**64 - 1), (2**64, 2**63), (2**64 - 1, 1)],
)
def test_zero_and_max_ids(trace_id: int, span_id: int) -> None:
    span = _native.Span("ids", trace_id=trace_id, span_id=span_id)
    span.end()
    msg = decode(span)
    assert int.from_bytes(msg.trace_id, "big") == trace_id
    assert int.from_bytes(msg.span_id, "big") == span_id
    assert len(msg.trace_id) == 16 and len(msg.span_id) == 8
    ctx = span.get_span_context()
    assert (ctx.trace_id, ctx.span_id) == (trace_id, span_id)
    assert ctx.trace_id_hex == f"{trace_id:032x}" and ctx.span_id_hex == f"{span_id:016x}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ascii",
        "é",
        "日本語のテキスト",
        "emoji 🎉🚀",
        "mixed ∑ ≠ ∞ \U0001d518\U0001d52b",  # astral-plane letters: 4 UTF-8 bytes each
        "\x00nul inside",
    ],
)
def test_non_ascii_and_empty_strings(text: str) -> None:
    span = _native.Span(text, attributes={text: text, "k": text})
    span.add_event(text, {"e": text})
    span.set_status(2, text or None)
    span.end()
    msg = decode(span)
    assert msg.name == text
    assert attrs_of(msg.attributes) == {text: text, "k": text}
    assert msg.events[0].name == text
    assert msg.status.message == text


def test_lone_surrogates_are_replaced_not_dropped() -> None:
    before = _native.span_counters()["attributes_converted"]
    span = _native.Span("s", attributes={"k": "bad \ud800 surrogate"})
    span.end()
    assert attrs_of(decode(span).attributes) == {"k": "bad ? surrogate"}
    assert _native.span_counters()["attributes_converted"] == before + 1


def test_one_mebibyte_value_is_kept_whole() -> None:
    value = "x" * MiB
    span = _native.Span("big", attributes={"v": value})
    span.end()
    assert attrs_of(decode(span).attributes)["v"] == value


def test_value_over_the_limit_is_truncated_and_counted() -> None:
    before = _native.span_counters()["attributes_truncated"]
    span = _native.Span("big", attributes={"v": "x" * (MiB + 1)})
    span.end()
    assert attrs_of(decode(span).attributes)["v"] == "x" * MiB
    assert _native.span_counters()["attributes_truncated"] == before + 1


def test_truncation_keeps_whole_code_points() -> None:
    old = _native.configure()["max_attribute_bytes"]
    try:
        _native.configure(max_attribute_bytes=10)
        span = _native.Span("t", attributes={"v": "ééééééé"})  # 2 bytes each: 14 bytes
        span.end()
        kept = attrs_of(decode(span).attributes)["v"]
        assert kept == "ééééé" and len(kept.encode()) == 10
        _native.configure(max_attribute_bytes=9)
        span = _native.Span("t", attributes={"v": "ééééééé"})
        span.end()
        assert attrs_of(decode(span).attributes)["v"] == "éééé"  # 8 bytes, not a broken 9th
    finally:
        _native.configure(max_attribute_bytes=old)


@pytest.mark.parametrize(
    "values",
    [
        list(range(10_000)),
        [f"item-{i}" for i in range(10_000)],
        [i / 7 for i in range(10_000)],
        [i % 2 == 0 for i in range(10_000)],
        [None, 1, "two", 3.0, False] * 2_000,
    ],
    ids=["ints", "strings", "floats", "bools", "mixed"],
)
def test_ten_thousand_element_arrays(values: list[Any]) -> None:
    span = _native.Span("arr", attributes={"a": values})
    span.end()
    assert attrs_of(decode(span).attributes)["a"] == tuple(values)


def test_array_over_the_limit_is_cut_at_an_element() -> None:
    old = _native.configure()["max_attribute_bytes"]
    try:
        _native.configure(max_attribute_bytes=100)
        span = _native.Span("arr", attributes={"a": ["abcdefghij"] * 50})
        span.end()
        kept = attrs_of(decode(span).attributes)["a"]
        assert 0 < len(kept) < 50 and set(kept) == {"abcdefghij"}
    finally:
        _native.configure(max_attribute_bytes=old)


@pytest.mark.parametrize("value", [-(2**63), 2**63 - 1, 0, -1])
def test_int64_boundaries(value: int) -> None:
    span = _native.Span("i", attributes={"v": value})
    span.end()
    assert attrs_of(decode(span).attributes)["v"] == value


def test_ints_beyond_int64_become_exact_strings() -> None:
    span = _native.Span("i", attributes={"big": 2**63, "neg": -(2**63) - 1, "huge": 10**40})
    span.end()
    assert attrs_of(decode(span).attributes) == {
        "big": str(2**63),
        "neg": str(-(2**63) - 1),
        "huge": str(10**40),
    }


def test_special_floats() -> None:
    span = _native.Span(
        "f", attributes={"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "nz": -0.0}
    )
    span.end()
    got = attrs_of(decode(span).attributes)
    assert math.isnan(got["nan"]) and got["inf"] == math.inf and got["ninf"] == -math.inf
    assert math.copysign(1.0, got["nz"]) == -1.0


def test_open_span_encodes_without_end_time() -> None:
    span = _native.Span("open")
    msg = decode(span)
    assert msg.end_time_unix_nano == 0 and msg.start_time_unix_nano > 0


def test_request_framing_matches_official_serialisation() -> None:
    spans = []
    for i in range(5):
        s = _native.Span(f"s{i}", attributes={"i": i})
        s.end()
        spans.append(s._encode())
    resource = {"service.name": "proj", "telemetry.sdk.name": "judgeval", "n": 3}
    raw = _native.encode_request(resource, "judgeval", "1.2", spans)
    assert raw == twin.encode_request(resource, "judgeval", "1.2", spans)
    req = ExportTraceServiceRequest()
    req.ParseFromString(raw)
    assert len(req.resource_spans) == 1
    rs = req.resource_spans[0]
    assert attrs_of(rs.resource.attributes) == resource
    assert (rs.scope_spans[0].scope.name, rs.scope_spans[0].scope.version) == ("judgeval", "1.2")
    assert [s.name for s in rs.scope_spans[0].spans] == [f"s{i}" for i in range(5)]


def test_request_with_no_spans_and_empty_resource() -> None:
    raw = _native.encode_request({}, "", "", [])
    assert raw == twin.encode_request({}, "", "", [])
    req = ExportTraceServiceRequest()
    req.ParseFromString(raw)
    assert len(req.resource_spans) == 1 and len(req.resource_spans[0].scope_spans[0].spans) == 0


scalars = st.one_of(
    st.text(max_size=40),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=20),
)
attribute_values = st.one_of(scalars, st.lists(st.one_of(scalars, st.none()), max_size=8))


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(max_size=30),
    attributes=st.dictionaries(st.text(max_size=20), attribute_values, max_size=12),
    events=st.lists(
        st.tuples(st.text(max_size=10), st.dictionaries(st.text(max_size=8), scalars, max_size=4)),
        max_size=4,
    ),
)
def test_random_spans_round_trip(
    name: str, attributes: dict[str, Any], events: list[tuple[str, dict[str, Any]]]
) -> None:
    span = _native.Span(name, attributes=attributes)
    for ev_name, ev_attrs in events:
        span.add_event(ev_name, ev_attrs)
    span.end()
    msg = decode(span)
    assert attrs_of(msg.attributes) == dict(span.attributes)
    assert [e.name for e in msg.events] == [e.name for e in span.events]
