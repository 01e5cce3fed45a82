"""Benchmarks of the native core against its anchors, measured side by side in one run.

    pytest benchmarks/bench_core.py --benchmark-only

Groups (see benchmarks/README.md):

- ``encode``: OTLP protobuf encoding of the same 512 realistic LLM spans, native encoder vs
  the OpenTelemetry SDK's ``encode_spans(...).SerializeToString()``;
- ``span``: create + 3 ``set_attribute`` + ``end()``, native vs the OTel SDK, each without
  and with an exporter to the discarding backend;
- ``queue``: ``SpanQueue.push`` of 200 bytes, native vs the pure-Python twin;
- ``store``: ``Store.set`` / ``Store.get``, native vs the pure-Python twin, plus native
  keyed by a native ``SpanContext``;
- ``export``: delivered spans/s from one producer into the discarding backend, native
  ``Exporter`` vs OTel ``BatchSpanProcessor`` + ``OTLPSpanExporter``.

Nothing here asserts a speed. The only assertions check that the compared work is the same
(same decoded spans) and that nothing was lost where the setup promises it is not.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as OtelEvent
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanKind, TraceFlags
from opentelemetry.trace import SpanContext as OtelSpanContext
from opentelemetry.trace.status import Status as OtelStatus
from opentelemetry.trace.status import StatusCode as OtelStatusCode

from judgeval_fast import _native
from judgeval_fast._model import queue as py_queue
from judgeval_fast._model import store as py_store

# ---------------------------------------------------------------------------------------
# The workload: one realistic LLM-call span
# ---------------------------------------------------------------------------------------

BATCH = 512  # spans per OTLP request (the native exporter's and OTel's default batch)
SPAN_LOOP = 1000  # spans per timed round in the "span" group
OPS_LOOP = 1000  # operations per timed round in the "queue" and "store" groups
EXPORT_N = 200_000  # spans produced per round in the "export" group

RESOURCE = {"service.name": "bench"}
SCOPE = "judgeval"
SPAN_NAME = "openai.chat.completions.create"
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
PARENT_SPAN_ID = 0x00F067AA0BA902B7
T0 = 1_764_547_200_000_000_000  # 2025-12-01T00:00:00Z in ns
KIND_CLIENT = 2  # SpanKind.CLIENT; OTLP SPAN_KIND_CLIENT on the wire
ERROR_MESSAGE = "RateLimitError: Error code: 429 - Rate limit reached for gpt-4o-mini"
EVENT_NAME = "gen_ai.choice"
EVENT_ATTRS = {"index": 0, "finish_reason": "stop"}
EXTRA_ATTRS = (
    ("gen_ai.usage.output_tokens", 57),
    ("gen_ai.response.id", "chatcmpl-AbC123xYz789"),
    ("judgment.latency_ms", 843.2),
)


def llm_attributes(i: int) -> dict[str, Any]:
    """~9 attributes of an LLM call; judgment.input/output are JSON of ~400 / ~250 bytes."""
    messages = [
        {
            "role": "system",
            "content": "You are a billing assistant. Answer using the invoice data only, "
            "cite the invoice number and never invent amounts.",
        },
        {
            "role": "user",
            "content": f"Question {i}: what is the total of invoice INV-{i:06d}, when is it "
            "due, and which line item is the largest? Please answer in one short paragraph.",
        },
    ]
    output = {
        "role": "assistant",
        "content": f"Invoice INV-{i:06d} totals $1,234.56 and is due on 2026-12-31. The "
        "largest line item is 'Consulting, 10h' at $900.00.",
        "finish_reason": "stop",
    }
    return {
        "judgment.span_kind": "llm",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "judgment.input": json.dumps(messages),
        "judgment.output": json.dumps(output),
        "gen_ai.usage.input_tokens": 412 + i % 50,
        "gen_ai.request.temperature": 0.7,
        "judgment.cached": False,
        "gen_ai.response.finish_reasons": ("stop", "length"),
    }


ATTRS = llm_attributes(0)  # the constant attribute set of the "span" and "export" groups


def is_error(i: int) -> bool:
    return i % 8 == 7  # one span in eight fails


@contextlib.contextmanager
def quiet_otel() -> Iterator[None]:
    """Silence the BatchSpanProcessor's "Queue full, dropping Span." warnings while timing."""
    logger = logging.getLogger("opentelemetry.sdk._shared_internal")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def per_unit(benchmark: Any, units: int, key: str = "ns_per_span") -> float | None:
    """Store median-round-time / units (ns) in extra_info[key]; None if benchmarks are off."""
    stats = getattr(benchmark, "stats", None)
    if not stats:
        return None
    value = stats.stats.median * 1e9 / units
    benchmark.extra_info[key] = round(value, 2)
    return value


# ---------------------------------------------------------------------------------------
# Group "encode": the same spans, native encoder vs OTel encode_spans
# ---------------------------------------------------------------------------------------


def native_span(i: int) -> _native.Span:
    """Span i of the encode corpus: fixed ids and times, an event, ERROR for 1 in 8."""
    parent = _native.SpanContext(TRACE_ID + i // 8, PARENT_SPAN_ID + i // 8)
    start = T0 + i * 1_000_000
    span = _native.Span(
        SPAN_NAME,
        parent=parent,
        kind=KIND_CLIENT,
        attributes=llm_attributes(i),
        start_time=start,
        span_id=0x1000_0000 + i,
    )
    span.add_event(EVENT_NAME, EVENT_ATTRS, start + 450_000_000)
    if is_error(i):
        span.set_status(2, ERROR_MESSAGE)
    span.end(start + 843_200_000)
    return span


def otel_readable(span: _native.Span) -> ReadableSpan:
    """The OTel SDK ReadableSpan with the same ids, times, attributes, events, status."""
    ctx, parent, status = span.context, span.parent, span.status
    assert parent is not None
    return ReadableSpan(
        name=span.name,
        context=OtelSpanContext(ctx.trace_id, ctx.span_id, False, TraceFlags(ctx.trace_flags)),
        parent=OtelSpanContext(
            parent.trace_id, parent.span_id, parent.is_remote, TraceFlags(parent.trace_flags)
        ),
        resource=Resource(RESOURCE),  # Resource(), not Resource.create(): no SDK defaults
        attributes=dict(span.attributes),
        events=[OtelEvent(e.name, dict(e.attributes), e.timestamp) for e in span.events],
        kind=SpanKind(span.kind),
        instrumentation_scope=InstrumentationScope(SCOPE, None),
        status=OtelStatus(OtelStatusCode(status.status_code), status.description),
        start_time=span.start_time,
        end_time=span.end_time,
    )


def encode_native(spans: list[_native.Span]) -> bytes:
    return _native.encode_request(RESOURCE, SCOPE, "", [s._encode() for s in spans])


def encode_otel(spans: list[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


def decoded_spans(body: bytes) -> list[Any]:
    request = ExportTraceServiceRequest.FromString(body)
    return [
        span
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def check_same_work(native_body: bytes, otel_body: bytes) -> None:
    """Both requests must decode to the same spans, else the comparison is worthless."""
    a, b = decoded_spans(native_body), decoded_spans(otel_body)
    assert len(a) == len(b) == BATCH, (len(a), len(b))
    for x, y in zip(a, b, strict=True):
        assert [kv.key for kv in x.attributes] == [kv.key for kv in y.attributes]
        # OTLP Span.flags bits 0-7 carry the W3C trace flags: the native encoder writes
        # them, the OTel Python encoder leaves them 0 (same fixed32 field, same size).
        # Mask them; everything else must be identical.
        x.flags &= ~0xFF
        y.flags &= ~0xFF
        assert x == y, f"native and OTel spans differ:\n{x}\n---\n{y}"
    ra = ExportTraceServiceRequest.FromString(native_body).resource_spans[0]
    rb = ExportTraceServiceRequest.FromString(otel_body).resource_spans[0]
    assert ra.resource == rb.resource
    assert ra.scope_spans[0].scope == rb.scope_spans[0].scope


@pytest.fixture(scope="module")
def encode_corpus() -> tuple[list[_native.Span], list[ReadableSpan]]:
    natives = [native_span(i) for i in range(BATCH)]
    otels = [otel_readable(s) for s in natives]
    check_same_work(encode_native(natives), encode_otel(otels))
    return natives, otels


@pytest.mark.benchmark(group="encode")
def test_encode_native(benchmark: Any, encode_corpus: Any) -> None:
    natives, _ = encode_corpus
    benchmark.extra_info.update(impl="native", op="encode", spans_per_round=BATCH)
    body = benchmark.pedantic(encode_native, args=(natives,), rounds=300, warmup_rounds=10)
    benchmark.extra_info["request_bytes"] = len(body)
    per_unit(benchmark, BATCH)


@pytest.mark.benchmark(group="encode")
def test_encode_otel(benchmark: Any, encode_corpus: Any) -> None:
    _, otels = encode_corpus
    benchmark.extra_info.update(impl="otel", op="encode", spans_per_round=BATCH)
    body = benchmark.pedantic(encode_otel, args=(otels,), rounds=30, warmup_rounds=2)
    benchmark.extra_info["request_bytes"] = len(body)
    per_unit(benchmark, BATCH)


# ---------------------------------------------------------------------------------------
# Group "span": create + 3 set_attribute + end, with and without an exporter
# ---------------------------------------------------------------------------------------


def native_exporter(endpoint: str) -> _native.Exporter:
    return _native.Exporter(
        endpoint,
        {},
        resource=RESOURCE,
        max_queue_size=1 << 20,
        max_queue_bytes=1 << 30,
    )


def native_span_loop(exporter: _native.Exporter | None) -> Callable[[], None]:
    span_type, name, attrs, (e1, e2, e3) = _native.Span, SPAN_NAME, ATTRS, EXTRA_ATTRS
    loop = range(SPAN_LOOP)

    def run() -> None:
        for _ in loop:
            span = span_type(name, attributes=attrs, exporter=exporter)
            span.set_attribute(*e1)
            span.set_attribute(*e2)
            span.set_attribute(*e3)
            span.end()

    return run


def otel_span_loop(tracer: Any) -> Callable[[], None]:
    name, attrs, (e1, e2, e3) = SPAN_NAME, ATTRS, EXTRA_ATTRS
    start_span, loop = tracer.start_span, range(SPAN_LOOP)

    def run() -> None:
        for _ in loop:
            span = start_span(name, attributes=attrs)
            span.set_attribute(*e1)
            span.set_attribute(*e2)
            span.set_attribute(*e3)
            span.end()

    return run


class CountingOTLPSpanExporter(OTLPSpanExporter):
    """OTLPSpanExporter that counts the spans of every batch the server accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered = 0
        self.failed = 0

    def export(self, spans: Any) -> SpanExportResult:
        result = super().export(spans)
        if result is SpanExportResult.SUCCESS:
            self.delivered += len(spans)
        else:
            self.failed += len(spans)
        return result


def otel_provider(exporter: OTLPSpanExporter | None) -> TracerProvider:
    """A private TracerProvider (never the global one, so other benchmark files are unaffected)."""
    provider = TracerProvider(resource=Resource(RESOURCE))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))  # OTel defaults
    return provider


SPAN_ROUNDS = {"native": 200, "otel": 20}


@pytest.mark.benchmark(group="span")
def test_span_native_no_exporter(benchmark: Any) -> None:
    before = _native.span_counters()
    benchmark.extra_info.update(impl="native", op="no-exporter", spans_per_round=SPAN_LOOP)
    benchmark.pedantic(native_span_loop(None), rounds=SPAN_ROUNDS["native"], warmup_rounds=5)
    after = _native.span_counters()
    benchmark.extra_info["counters_delta"] = {
        k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], int)
    }
    per_unit(benchmark, SPAN_LOOP)


@pytest.mark.benchmark(group="span")
def test_span_otel_no_processor(benchmark: Any) -> None:
    provider = otel_provider(None)
    try:
        benchmark.extra_info.update(impl="otel", op="no-exporter", spans_per_round=SPAN_LOOP)
        benchmark.pedantic(
            otel_span_loop(provider.get_tracer(SCOPE)),
            rounds=SPAN_ROUNDS["otel"],
            warmup_rounds=1,
        )
        per_unit(benchmark, SPAN_LOOP)
    finally:
        provider.shutdown()


@pytest.mark.benchmark(group="span")
def test_span_native_exporter(benchmark: Any, discard_backend: Any) -> None:
    exporter = native_exporter(discard_backend.traces_url)
    try:
        benchmark.extra_info.update(impl="native", op="exporter", spans_per_round=SPAN_LOOP)
        benchmark.pedantic(
            native_span_loop(exporter), rounds=SPAN_ROUNDS["native"], warmup_rounds=5
        )
        per_unit(benchmark, SPAN_LOOP)
        flushed = exporter.force_flush(30)
        stats = exporter.stats()
        benchmark.extra_info.update(
            {k: stats[k] for k in ("spans_queued", "exported", "dropped_queue_full", "failed")}
        )
        # Everything ended was delivered: spans_queued counts every span the queue accepted
        # (a span dropped as oversize never enters it), and after a complete flush each one
        # must be exported, not failed, rejected or dropped.
        assert flushed, f"force_flush(30) timed out: {stats}"
        assert stats["exported"] == stats["spans_queued"], stats
        assert not any(v for k, v in stats.items() if k.startswith("dropped_")), stats
    finally:
        exporter.shutdown(10)


@pytest.mark.benchmark(group="span")
def test_span_otel_batch_processor(benchmark: Any, discard_backend: Any) -> None:
    exporter = CountingOTLPSpanExporter(endpoint=discard_backend.traces_url)
    provider = otel_provider(exporter)
    rounds, warmup = SPAN_ROUNDS["otel"], 1
    try:
        benchmark.extra_info.update(impl="otel", op="exporter", spans_per_round=SPAN_LOOP)
        with quiet_otel():
            benchmark.pedantic(
                otel_span_loop(provider.get_tracer(SCOPE)), rounds=rounds, warmup_rounds=warmup
            )
            provider.force_flush(60_000)
        per_unit(benchmark, SPAN_LOOP)
        produced = (rounds + warmup) * SPAN_LOOP
        benchmark.extra_info.update(
            spans_ended=produced,
            exported=exporter.delivered,
            dropped_by_batch_processor=produced - exporter.delivered - exporter.failed,
            failed=exporter.failed,
        )
    finally:
        provider.shutdown()


# ---------------------------------------------------------------------------------------
# Group "queue": SpanQueue.push of 200 bytes, native vs the Python twin
# ---------------------------------------------------------------------------------------

QUEUE_IMPLS = {"native": _native.SpanQueue, "python": py_queue.SpanQueue}


@pytest.fixture(params=sorted(QUEUE_IMPLS), ids=str)
def queue_impl(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.benchmark(group="queue")
def test_queue_push(benchmark: Any, queue_impl: str) -> None:
    queue = QUEUE_IMPLS[queue_impl](1 << 16, 1 << 30)  # never full: drained every round
    payload = bytes(range(200))
    items = [payload] * OPS_LOOP
    push = queue.push

    def drain() -> None:
        while len(queue):
            queue.pop(1 << 16, 1 << 30)

    def run() -> None:
        # deque(map(...), maxlen=0) drives the calls from C: ~the same small per-call
        # overhead for both implementations, no Python-level loop body.
        deque(map(push, items), maxlen=0)

    benchmark.extra_info.update(impl=queue_impl, op="push", ops_per_round=OPS_LOOP)
    benchmark.pedantic(run, setup=drain, rounds=500, warmup_rounds=10)
    drain()
    stats = queue.stats()
    assert stats[4] == stats[5] == 0, f"the queue dropped items: {stats}"
    per_unit(benchmark, OPS_LOOP, "ns_per_op")


# ---------------------------------------------------------------------------------------
# Group "store": Store.set / Store.get, native vs the Python twin (+ native SpanContext key)
# ---------------------------------------------------------------------------------------

STORE_CASES = ("native", "python", "native-spancontext")


def store_keys(case: str) -> list[Any]:
    ids = [(TRACE_ID + i, 0x2000_0000 + i) for i in range(OPS_LOOP)]
    if case == "native-spancontext":
        return [_native.SpanContext(t, s) for t, s in ids]
    return ids


def new_store(case: str) -> Any:
    factory = py_store.Store if case == "python" else _native.Store
    return factory(capacity=1 << 17, ttl=3600.0)


@pytest.fixture(params=STORE_CASES, ids=str)
def store_case(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.benchmark(group="store")
def test_store_set(benchmark: Any, store_case: str) -> None:
    """First set of a key on a fresh span entry (the store is cleared before each round)."""
    store, keys = new_store(store_case), store_keys(store_case)
    values = list(range(OPS_LOOP))

    def run() -> None:
        deque(map(store.set, keys, repeat("k"), values), maxlen=0)

    impl = "native" if store_case == "native" else store_case
    benchmark.extra_info.update(impl=impl, op="set", ops_per_round=OPS_LOOP)
    benchmark.pedantic(run, setup=store.clear, rounds=500, warmup_rounds=10)
    assert len(store) == OPS_LOOP
    per_unit(benchmark, OPS_LOOP, "ns_per_op")


@pytest.mark.benchmark(group="store")
def test_store_get(benchmark: Any, store_case: str) -> None:
    """get of a present key (all OPS_LOOP entries live, far below capacity and TTL)."""
    store, keys = new_store(store_case), store_keys(store_case)
    for i, key in enumerate(keys):
        store.set(key, "k", i)
    result: list[Any] = []

    def run() -> None:
        result[:] = map(store.get, keys, repeat("k"))

    impl = "native" if store_case == "native" else store_case
    benchmark.extra_info.update(impl=impl, op="get", ops_per_round=OPS_LOOP)
    benchmark.pedantic(run, rounds=500, warmup_rounds=10)
    assert result == list(range(OPS_LOOP))
    per_unit(benchmark, OPS_LOOP, "ns_per_op")


# ---------------------------------------------------------------------------------------
# Group "export": delivered spans/s from one producer into the discarding backend
# ---------------------------------------------------------------------------------------

EXPORT_ROUNDS = {"native": 5, "otel": 3}


def throughput(benchmark: Any, delivered: list[int], produced: int) -> None:
    """spans/s = median over rounds of (spans delivered in the round / round time)."""
    stats = getattr(benchmark, "stats", None)
    if not stats:
        return
    times = list(stats.stats.data)
    if len(times) != len(delivered):  # should not happen; fall back on the median round
        times = [stats.stats.median] * len(delivered)
    rates = sorted(n / t for n, t in zip(delivered, times, strict=True))
    rate = rates[len(rates) // 2]
    benchmark.extra_info["spans_per_s"] = round(rate)
    benchmark.extra_info["offered_spans_per_s"] = round(produced / stats.stats.median)
    if rate:
        benchmark.extra_info["ns_per_span"] = round(1e9 / rate, 1)


def server_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    return {f"server_{k}": int(after[k]) - int(before[k]) for k in ("requests", "bytes_received")}


@pytest.mark.benchmark(group="export")
def test_export_native(benchmark: Any, discard_backend: Any) -> None:
    """Produce EXPORT_N spans + force_flush per round; a fresh Exporter each round."""
    parent = _native.SpanContext(TRACE_ID, PARENT_SPAN_ID)
    span_type, attrs, loop = _native.Span, ATTRS, range(EXPORT_N)
    live: list[_native.Exporter] = []
    finished: list[dict[str, Any]] = []

    def retire() -> None:
        while live:
            exporter = live.pop()
            finished.append(exporter.stats())
            exporter.shutdown(10)

    def setup() -> tuple[tuple[_native.Exporter], dict[str, Any]]:
        retire()  # outside the timed region
        live.append(native_exporter(discard_backend.traces_url))
        return (live[-1],), {}

    def produce(exporter: _native.Exporter) -> None:
        for i in loop:
            span = span_type(
                SPAN_NAME, parent=parent, kind=KIND_CLIENT, attributes=attrs, exporter=exporter
            )
            span.add_event(EVENT_NAME, EVENT_ATTRS)
            if is_error(i):
                span.set_status(2, ERROR_MESSAGE)
            span.end()
        if not exporter.force_flush(60):
            raise RuntimeError("force_flush(60) timed out")

    before = discard_backend.stats()
    try:
        benchmark.pedantic(produce, setup=setup, rounds=EXPORT_ROUNDS["native"])
    finally:
        retire()
    after = discard_backend.stats()
    for stats in finished:
        dropped = {k: v for k, v in stats.items() if k.startswith("dropped_")}
        assert stats["exported"] == EXPORT_N, stats
        assert not any(dropped.values()), stats
        assert stats["gil_acquisitions"] == 0, stats
    last = finished[-1]
    benchmark.extra_info.update(
        impl="native",
        op="export",
        spans_per_round=EXPORT_N,
        exported=last["exported"],
        dropped=sum(v for k, v in last.items() if k.startswith("dropped_")),
        gil_acquisitions=last["gil_acquisitions"],
        requests=last["requests"],
        bytes_sent=last["bytes_sent"],
        bytes_uncompressed=last["bytes_uncompressed"],
        **server_delta(before, after),
    )
    throughput(benchmark, [s["exported"] for s in finished], EXPORT_N)


@pytest.mark.benchmark(group="export")
def test_export_otel(benchmark: Any, discard_backend: Any) -> None:
    """Same spans, same server: OTel SDK BatchSpanProcessor + OTLPSpanExporter (defaults)."""
    parent = otel_trace.set_span_in_context(
        NonRecordingSpan(OtelSpanContext(TRACE_ID, PARENT_SPAN_ID, False, TraceFlags(1)))
    )
    attrs, loop = ATTRS, range(EXPORT_N)
    error = OtelStatus(OtelStatusCode.ERROR, ERROR_MESSAGE)
    live: list[tuple[TracerProvider, CountingOTLPSpanExporter]] = []
    finished: list[CountingOTLPSpanExporter] = []

    def retire() -> None:
        while live:
            provider, exporter = live.pop()
            provider.shutdown()  # queue already drained by force_flush
            finished.append(exporter)

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        retire()
        exporter = CountingOTLPSpanExporter(endpoint=discard_backend.traces_url)
        live.append((otel_provider(exporter), exporter))
        return (live[-1][0],), {}

    def produce(provider: TracerProvider) -> None:
        start_span = provider.get_tracer(SCOPE).start_span
        for i in loop:
            span = start_span(SPAN_NAME, context=parent, kind=SpanKind.CLIENT, attributes=attrs)
            span.add_event(EVENT_NAME, EVENT_ATTRS)
            if is_error(i):
                span.set_status(error)
            span.end()
        provider.force_flush(60_000)

    before = discard_backend.stats()
    try:
        with quiet_otel():
            benchmark.pedantic(produce, setup=setup, rounds=EXPORT_ROUNDS["otel"])
    finally:
        retire()
    after = discard_backend.stats()
    delivered = [exporter.delivered for exporter in finished]
    benchmark.extra_info.update(
        impl="otel",
        op="export",
        spans_per_round=EXPORT_N,
        exported_per_round=delivered,
        dropped_per_round=[EXPORT_N - n for n in delivered],
        failed=sum(exporter.failed for exporter in finished),
        **server_delta(before, after),
    )
    throughput(benchmark, delivered, EXPORT_N)
