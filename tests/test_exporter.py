"""The native exporter against a real server process that injects faults.

Retries and back-off are observed from the server side (its request log and its own
monotonic timestamps); flush and shutdown bounds are measured on the caller's side.
"""

from __future__ import annotations

import email.utils
import gc
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from judgeval_fast import _native
from judgeval_fast.backend import BackendProcess as Backend
from judgeval_fast.exporter import ExportResult

pytestmark = pytest.mark.native

# Every terminal counter of an exporter: each queued span ends in exactly one.
TERMINAL = (
    "exported",
    "failed",
    "rejected",
    "partially_rejected",
    "dropped_shutdown",
    "dropped_queue_full",
)

FAST_RETRY = {"retry_initial": 0.05, "retry_max": 0.2}

MakeExporter = Callable[..., _native.Exporter]


@pytest.fixture
def make_exporter(backend: Backend) -> Iterator[MakeExporter]:
    made: list[_native.Exporter] = []

    def make(
        endpoint: str | None = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> _native.Exporter:
        kw.setdefault("schedule_delay", 0.05)
        e = _native.Exporter(endpoint or backend.traces_url, headers or {}, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.shutdown(timeout=0.5)


def emit(exporter: _native.Exporter, n: int, prefix: str = "s", **attrs: Any) -> list[_native.Span]:
    spans = []
    for i in range(n):
        s = _native.Span(f"{prefix}{i}", exporter=exporter, attributes={"i": i, **attrs})
        s.end()
        spans.append(s)
    return spans


def accounted(stats: dict[str, Any]) -> int:
    return sum(stats[k] for k in TERMINAL) + stats["queue_size"] + stats["in_flight"]


def settled(exporter: _native.Exporter, timeout: float = 5.0) -> dict[str, Any]:
    """Stats once the exporter thread has exited (after a shutdown that aborted a transfer,
    the thread counts its batch when it notices, within one poll slice)."""
    deadline = time.monotonic() + timeout
    while exporter.stats()["thread_alive"] and time.monotonic() < deadline:
        time.sleep(0.01)
    return exporter.stats()


def trace_requests(backend: Backend) -> list[dict[str, Any]]:
    return [r for r in backend.client.requests() if r["path"].endswith("/traces")]


def test_spans_arrive_with_resource_scope_and_headers(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter(
        headers={"Authorization": "Bearer key", "X-Organization-Id": "org", "X-Project-Id": "p1"},
        resource={"service.name": "proj", "telemetry.sdk.name": "judgeval"},
        scope_name="judgeval",
    )
    emit(exporter, 100)
    assert exporter.force_flush(10)
    stats = exporter.stats()
    assert stats["exported"] == 100 and stats["gil_acquisitions"] == 0
    spans = backend.client.spans(limit=1000)
    assert sorted(s["name"] for s in spans) == sorted(f"s{i}" for i in range(100))
    assert spans[0]["resource_attributes"] == {
        "service.name": "proj",
        "telemetry.sdk.name": "judgeval",
    }
    assert spans[0]["scope_name"] == "judgeval"
    req = trace_requests(backend)[0]
    assert req["headers"]["Authorization"] == "Bearer key"
    assert req["headers"]["X-Organization-Id"] == "org"
    assert req["headers"]["X-Project-Id"] == "p1"
    assert req["headers"]["Content-Encoding"] == "gzip"
    assert req["headers"]["Content-Type"] == "application/x-protobuf"


def test_without_gzip(backend: Backend, make_exporter: MakeExporter) -> None:
    exporter = make_exporter(gzip_level=-1)
    emit(exporter, 10)
    assert exporter.force_flush(10)
    assert len(backend.client.spans()) == 10
    assert "Content-Encoding" not in trace_requests(backend)[0]["headers"]


def test_batches_by_span_count(backend: Backend, make_exporter: MakeExporter) -> None:
    exporter = make_exporter(max_batch_size=10, schedule_delay=5.0)
    emit(exporter, 95)
    assert exporter.force_flush(10)
    sizes = [r["spans"] for r in trace_requests(backend)]
    assert sum(sizes) == 95 and max(sizes) <= 10 and len(sizes) == 10


def test_batches_by_bytes(backend: Backend, make_exporter: MakeExporter) -> None:
    exporter = make_exporter(max_batch_bytes=4096, schedule_delay=5.0)
    emit(exporter, 20, payload="p" * 1000)
    assert exporter.force_flush(10)
    sizes = [r["spans"] for r in trace_requests(backend)]
    assert sum(sizes) == 20 and max(sizes) <= 4


def test_partial_batch_goes_after_the_schedule_delay(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter(schedule_delay=0.3)
    t0 = time.monotonic()
    emit(exporter, 3)
    spans = backend.client.wait_for_spans(3, timeout=5)
    elapsed = time.monotonic() - t0
    assert len(spans) == 3
    assert 0.25 <= elapsed < 2.0, elapsed


def test_full_batch_goes_without_waiting_for_the_delay(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter(max_batch_size=50, schedule_delay=30.0)
    t0 = time.monotonic()
    emit(exporter, 50)
    assert len(backend.client.wait_for_spans(50, timeout=5)) == 50
    assert time.monotonic() - t0 < 2.0


def test_keep_alive_reuses_one_connection(backend: Backend, make_exporter: MakeExporter) -> None:
    exporter = make_exporter(max_batch_size=5)
    for _ in range(6):
        emit(exporter, 5)
        assert exporter.force_flush(10)
    conns = {r["conn"] for r in trace_requests(backend)}
    assert len(trace_requests(backend)) == 6 and len(conns) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_is_retried_with_backoff(
    status: int, backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=status, count=3)
    exporter = make_exporter(**FAST_RETRY)
    emit(exporter, 5)
    assert exporter.force_flush(10)
    reqs = trace_requests(backend)
    assert [r["status"] for r in reqs] == [status] * 3 + [200]
    stats = exporter.stats()
    assert stats["retries"] == 3 and stats["exported"] == 5 and stats["request_errors"] == 3
    # Full jitter: each wait is uniform in [0, min(retry_max, retry_initial * 2^n)].
    gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(reqs)]
    caps = [0.05, 0.1, 0.2]
    for gap, cap in zip(gaps, caps, strict=False):
        assert gap <= cap + 0.25, (gaps, caps)


def test_backoff_grows_exponentially_and_is_capped(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=503, count=12)
    exporter = make_exporter(retry_initial=0.01, retry_max=0.08)
    emit(exporter, 1)
    assert exporter.force_flush(20)
    reqs = trace_requests(backend)
    gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(reqs)]
    assert len(gaps) == 12
    # Jitter makes single gaps random; the cap bounds every one of them, and the later
    # (capped) ones are on average larger than the first ones.
    assert max(gaps) <= 0.08 + 0.25
    assert sum(gaps[6:]) / 6 >= sum(gaps[:2]) / 2 * 0.5 or sum(gaps[6:]) / 6 > 0.01


def test_retry_after_seconds_is_honoured(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(status=429, retry_after="1", count=1)
    exporter = make_exporter(**FAST_RETRY)
    emit(exporter, 1)
    assert exporter.force_flush(10)
    first, second = trace_requests(backend)
    assert first["status"] == 429 and second["status"] == 200
    assert second["t"] - first["t"] >= 0.95
    assert exporter.stats()["last_retry_after"] == pytest.approx(1.0)


def test_retry_after_http_date_is_honoured(backend: Backend, make_exporter: MakeExporter) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    backend.client.set_faults(status=503, retry_after=when, count=1)
    exporter = make_exporter(**FAST_RETRY)
    emit(exporter, 1)
    assert exporter.force_flush(10)
    first, second = trace_requests(backend)
    # HTTP dates have one-second resolution: the wait is between 2 and 3 seconds.
    assert 1.9 <= second["t"] - first["t"] <= 3.8


def test_retry_after_beyond_the_retry_deadline_gives_up_at_once(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=429, retry_after="3600", count=1)
    exporter = make_exporter(retry_deadline=5.0)
    emit(exporter, 4)
    t0 = time.monotonic()
    assert exporter.force_flush(10)
    assert time.monotonic() - t0 < 2.0
    stats = exporter.stats()
    assert stats["failed"] == 4 and stats["retries"] == 0
    assert "retry deadline" in stats["last_error"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_non_retryable_status_is_rejected_once(
    status: int, backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=status, count=1)
    exporter = make_exporter(**FAST_RETRY)
    emit(exporter, 7)
    assert exporter.force_flush(10)
    assert len(trace_requests(backend)) == 1
    stats = exporter.stats()
    assert stats["rejected"] == 7 and stats["retries"] == 0 and stats["last_status"] == status
    assert f"HTTP {status}" in stats["last_error"]


def test_413_halves_the_batch(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(status=413, count=1)
    exporter = make_exporter(schedule_delay=1.0)
    emit(exporter, 8)
    assert exporter.force_flush(10)
    reqs = trace_requests(backend)
    assert reqs[0]["status"] == 413
    assert [r["spans"] for r in reqs[1:]] == [4, 4]
    assert exporter.stats()["exported"] == 8


def test_413_for_a_single_span_gives_it_up(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(status=413)
    exporter = make_exporter(schedule_delay=1.0)
    emit(exporter, 4)
    assert exporter.force_flush(10)
    # 4 -> 2 + 2 -> 1 + 1 + 1 + 1: seven requests, four spans rejected one by one.
    assert len(trace_requests(backend)) == 7
    stats = exporter.stats()
    assert stats["rejected"] == 4 and stats["exported"] == 0
    assert "larger than the server accepts" in stats["last_error"]


def test_partial_success_is_read_and_counted(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(partial_reject=3, count=1)
    exporter = make_exporter(schedule_delay=1.0)
    emit(exporter, 10)
    assert exporter.force_flush(10)
    stats = exporter.stats()
    assert stats["partially_rejected"] == 3 and stats["exported"] == 7
    assert "partial success: 3 spans rejected" in stats["last_error"]


def test_connection_reset_is_retried(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(reset=True, count=2)
    exporter = make_exporter(**FAST_RETRY)
    emit(exporter, 5)
    assert exporter.force_flush(10)
    stats = exporter.stats()
    assert stats["retries"] == 2 and stats["exported"] == 5
    assert len(backend.client.spans()) == 5


def test_slow_server_flush_returns_by_its_deadline(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(latency_ms=1500, count=1)
    exporter = make_exporter()
    emit(exporter, 5)
    t0 = time.monotonic()
    assert exporter.force_flush(0.3) is False
    assert time.monotonic() - t0 < 0.5
    assert exporter.force_flush(10) is True
    assert exporter.stats()["exported"] == 5


def test_black_hole_flush_and_shutdown_return_by_their_deadline(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(blackhole=True)
    exporter = make_exporter(request_timeout=60.0)
    emit(exporter, 50)
    t0 = time.monotonic()
    assert exporter.force_flush(0.5) is False
    assert time.monotonic() - t0 < 0.7
    emit(exporter, 50)
    t0 = time.monotonic()
    assert exporter.shutdown(1.0) is False
    assert time.monotonic() - t0 < 1.2
    stats = settled(exporter)
    assert stats["dropped_shutdown"] == 100 and accounted(stats) == stats["spans_queued"] == 100
    assert stats["thread_alive"] == 0


def test_dead_port_retries_until_the_retry_deadline(make_exporter: MakeExporter) -> None:
    exporter = make_exporter("http://127.0.0.1:9/otel/v1/traces", retry_deadline=1.0, **FAST_RETRY)
    emit(exporter, 3)
    t0 = time.monotonic()
    assert exporter.force_flush(10)
    elapsed = time.monotonic() - t0
    stats = exporter.stats()
    assert stats["failed"] == 3 and stats["retries"] >= 2 and 0.7 < elapsed < 3.0
    assert "curl 7" in stats["last_error"]  # CURLE_COULDNT_CONNECT


def test_full_queue_drops_the_oldest_and_counts_them(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(blackhole=True)
    exporter = make_exporter(max_queue_size=100, max_batch_size=10, request_timeout=60.0)
    emit(exporter, 10)
    time.sleep(0.3)  # the first batch is now stuck in the black hole
    emit(exporter, 500, prefix="late")
    stats = exporter.stats()
    assert stats["queue_size"] == 100 and stats["dropped_queue_full"] == 400
    backend.client.clear_faults()
    exporter.shutdown(0.5)
    backend.client.reset()
    assert accounted(settled(exporter)) == 510


def test_oldest_are_dropped_not_newest(backend: Backend, make_exporter: MakeExporter) -> None:
    backend.client.set_faults(blackhole=True, count=1)
    exporter = make_exporter(max_queue_size=20, max_batch_size=5, request_timeout=0.5, **FAST_RETRY)
    emit(exporter, 5, prefix="first")
    time.sleep(0.2)
    emit(exporter, 100, prefix="n")
    assert exporter.force_flush(10)
    names = {s["name"] for s in backend.client.spans(limit=1000)}
    assert names == {f"first{i}" for i in range(5)} | {f"n{i}" for i in range(80, 100)}
    assert exporter.stats()["dropped_queue_full"] == 80


def test_byte_budget_and_oversize_records(backend: Backend, make_exporter: MakeExporter) -> None:
    exporter = make_exporter(max_queue_bytes=4096, schedule_delay=30.0, max_batch_size=512)
    emit(exporter, 1, prefix="huge", payload="x" * 10_000)
    emit(exporter, 40, prefix="small", payload="y" * 200)
    stats = exporter.stats()
    assert stats["dropped_oversize"] == 1
    assert stats["dropped_queue_full"] > 0 and stats["queue_bytes"] <= 4096
    assert exporter.force_flush(10)
    assert accounted(exporter.stats()) + exporter.stats()["dropped_oversize"] == 41


def test_after_shutdown_spans_are_refused_and_counted(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter()
    emit(exporter, 3)
    assert exporter.shutdown(5) is True and exporter.is_shutdown
    emit(exporter, 4)
    assert exporter.stats()["rejected_after_shutdown"] == 4
    t0 = time.monotonic()
    assert exporter.shutdown(5) is True  # idempotent, immediate
    assert time.monotonic() - t0 < 0.05
    assert len(backend.client.spans()) == 3


def test_dropping_the_exporter_still_delivers_what_was_queued(backend: Backend) -> None:
    exporter = _native.Exporter(backend.traces_url, {}, schedule_delay=0.05)
    emit(exporter, 20)
    del exporter
    gc.collect()
    assert len(backend.client.wait_for_spans(20, timeout=5)) == 20


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "not a valid absolute URL"),
        ("localhost:4318/v1/traces", "not a valid absolute URL|scheme"),
        ("ftp://example.com/x", "scheme must be http or https"),
        ("http://", "not a valid absolute URL|no host"),
        ("http://exa mple.com/", "not a valid absolute URL"),
    ],
)
def test_invalid_endpoint_is_a_clear_error(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=rf"^invalid endpoint .*: ({reason})"):
        _native.Exporter(url)


@pytest.mark.parametrize(
    "headers",
    [{"X-Bad\r\nInjected": "v"}, {"X-Ok": "line\r\nInjected: 1"}, {"": "v"}, {"A:B": "v"}],
)
def test_header_injection_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="invalid HTTP header"):
        _native.Exporter("http://127.0.0.1:1/x", headers)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_queue_size": 0}, "max_queue_size must be > 0"),
        (
            {"max_batch_size": 10, "max_queue_size": 5},
            "max_batch_size must be > 0 and <= max_queue_size",
        ),
        ({"gzip_level": 12}, "gzip_level"),
        ({"request_timeout": 0}, "request_timeout must be > 0 seconds"),
    ],
)
def test_invalid_limits_are_named(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _native.Exporter("http://127.0.0.1:1/x", **kw)


class RecordingExporter:
    """A Python span exporter: OTel's export(spans) contract."""

    def __init__(self, fail_every: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.fail_every = fail_every

    def export(self, spans: list[_native.Span]) -> int:
        self.calls.append([s.name for s in spans])
        if self.fail_every and len(self.calls) % self.fail_every == 0:
            raise ConnectionError("injected")
        return ExportResult.SUCCESS


def test_python_exporter_gets_one_span_per_call(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter()
    python = RecordingExporter()
    exporter.set_python_exporter(python)
    emit(exporter, 10)
    assert exporter.force_flush(10)
    assert python.calls == [[f"s{i}"] for i in range(10)]
    stats = exporter.stats()
    assert stats["exported"] == 10 and stats["python_export_calls"] == 10
    assert 1 <= stats["gil_acquisitions"] <= 10  # once per batch, not per span
    assert backend.client.spans() == []  # the Python exporter owns delivery now


def test_python_exporter_failures_are_retried(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter()
    python = RecordingExporter(fail_every=2)
    exporter.set_python_exporter(python)
    emit(exporter, 20)
    t0 = time.monotonic()
    assert exporter.force_flush(30)
    assert time.monotonic() - t0 < 10
    delivered = [c[0] for i, c in enumerate(python.calls, 1) if i % 2]
    assert sorted(delivered) == sorted(f"s{i}" for i in range(20))
    stats = exporter.stats()
    assert stats["exported"] == 20 and stats["python_export_failures"] == len(python.calls) - 20
    assert stats["retries"] == stats["python_export_failures"]
    assert "injected" in stats["last_error"]


def test_python_exporter_failure_result_is_retried_then_given_up(
    make_exporter: MakeExporter,
) -> None:
    class Failing:
        calls = 0

        def export(self, spans: list[_native.Span]) -> ExportResult:
            Failing.calls += 1
            return ExportResult.FAILURE

    exporter = make_exporter(python_max_attempts=3, python_retry_initial=0.01)
    exporter.set_python_exporter(Failing())
    emit(exporter, 2)
    assert exporter.force_flush(10)
    assert Failing.calls == 6
    stats = exporter.stats()
    assert stats["failed"] == 2 and stats["python_export_failures"] == 6


def test_native_export_can_be_called_from_a_python_exporter(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    """The chaos test's pattern: a replacement export that calls the original bound method."""
    exporter = make_exporter()
    original = exporter.export

    class Wrapper:
        def export(self, spans: list[_native.Span]) -> int:
            return original(spans)

    exporter.set_python_exporter(Wrapper())
    emit(exporter, 12)
    assert exporter.force_flush(10)
    assert len(backend.client.spans()) == 12 and exporter.stats()["exported"] == 12


def test_detaching_the_python_exporter_falls_back_to_native(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=503, count=1)
    exporter = make_exporter()
    exporter.set_python_exporter(RecordingExporter())
    exporter.set_python_exporter(None)
    emit(exporter, 5)
    assert exporter.force_flush(10)
    assert len(backend.client.spans()) == 5 and exporter.stats()["gil_acquisitions"] == 0


def test_export_is_synchronous_and_returns_a_result(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter()
    spans = [_native.Span(f"sync{i}") for i in range(3)]
    for s in spans:
        s.end()
    assert exporter.export(spans) == ExportResult.SUCCESS
    assert sorted(s["name"] for s in backend.client.spans()) == ["sync0", "sync1", "sync2"]
    assert exporter.export([object()]) == ExportResult.FAILURE  # type: ignore[list-item]
    assert exporter.export([]) == ExportResult.SUCCESS
    exporter.shutdown(1)
    assert exporter.export(spans) == ExportResult.FAILURE  # the SpanExporter contract


def test_export_to_a_black_hole_returns_by_its_timeout(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(blackhole=True)
    exporter = make_exporter(request_timeout=60)
    span = _native.Span("bh")
    span.end()
    t0 = time.monotonic()
    assert exporter.export([span], timeout=0.5) == ExportResult.FAILURE
    assert time.monotonic() - t0 < 0.8


def test_every_span_is_accounted_for_under_mixed_faults(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=503, error_rate=0.5)
    exporter = make_exporter(
        max_queue_size=200, max_batch_size=20, retry_deadline=0.5, **FAST_RETRY
    )
    for _ in range(10):
        emit(exporter, 100)
        time.sleep(0.02)
    exporter.force_flush(20)
    stats = exporter.stats()
    assert stats["spans_queued"] == 1000
    assert accounted(stats) == 1000, stats
    delivered = backend.stats()["spans"]
    assert delivered == stats["exported"]


def test_paused_exporter_holds_spans_until_resumed(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter(paused=True)
    assert exporter.paused
    emit(exporter, 30)
    t0 = time.monotonic()
    assert exporter.force_flush(0.3) is False  # held: the flush waits out its deadline
    assert time.monotonic() - t0 < 0.5
    assert backend.client.spans() == [] and exporter.stats()["queue_size"] == 30
    exporter.resume()
    assert not exporter.paused
    assert exporter.force_flush(10)
    assert len(backend.client.spans()) == 30


def test_shutdown_of_a_paused_exporter_is_bounded_and_counted(make_exporter: MakeExporter) -> None:
    exporter = make_exporter(paused=True)
    emit(exporter, 10)
    t0 = time.monotonic()
    assert exporter.shutdown(0.3) is False
    assert time.monotonic() - t0 < 0.5
    stats = settled(exporter)
    assert stats["dropped_shutdown"] == 10 and accounted(stats) == 10


def test_set_headers_applies_to_the_next_request(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter(headers={"X-Project-Id": "old"})
    emit(exporter, 1)
    assert exporter.force_flush(10)
    exporter.set_headers({"X-Project-Id": "new", "Authorization": "Bearer k"})
    emit(exporter, 1)
    assert exporter.force_flush(10)
    first, second = trace_requests(backend)
    assert first["headers"]["X-Project-Id"] == "old"
    assert second["headers"]["X-Project-Id"] == "new"
    assert second["headers"]["Authorization"] == "Bearer k"
    assert second["headers"]["Content-Type"] == "application/x-protobuf"
    with pytest.raises(ValueError, match="invalid HTTP header"):
        exporter.set_headers({"Bad\nName": "v"})


def test_set_headers_while_retrying_uses_the_new_headers(
    backend: Backend, make_exporter: MakeExporter
) -> None:
    backend.client.set_faults(status=503, retry_after="0.5", count=1)
    exporter = make_exporter(headers={"X-Project-Id": "old"})
    emit(exporter, 1)
    time.sleep(0.2)  # the first attempt got its 503 and waits 0.5 s
    exporter.set_headers({"X-Project-Id": "new"})
    assert exporter.force_flush(10)
    first, second = trace_requests(backend)
    assert (first["status"], first["headers"]["X-Project-Id"]) == (503, "old")
    assert (second["status"], second["headers"]["X-Project-Id"]) == (200, "new")


def test_retry_after_zero_does_not_storm(backend: Backend, make_exporter: MakeExporter) -> None:
    """'Retry-After: 0' is a minimum, not a schedule: the back-off still applies."""
    backend.client.set_faults(status=503, retry_after="0")
    exporter = make_exporter(retry_initial=0.05, retry_max=0.2, retry_deadline=1.0)
    emit(exporter, 1)
    exporter.force_flush(3)
    assert len(trace_requests(backend)) < 40  # without the floor: thousands per second


def test_paused_exporter_does_not_spin(make_exporter: MakeExporter) -> None:
    import resource

    exporter = make_exporter(paused=True, schedule_delay=0.01)
    emit(exporter, 5)
    time.sleep(0.1)  # the oldest span is now older than the schedule delay
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(1.0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.2, f"{cpu:.2f}s of CPU while paused and idle"


def test_dropping_a_paused_exporter_releases_its_thread() -> None:
    exporter = _native.Exporter("http://127.0.0.1:9/x", paused=True, schedule_delay=0.01)
    emit(exporter, 5)
    before = _native.runtime_info()["exporters"]
    del exporter
    gc.collect()
    deadline = time.monotonic() + 2
    while _native.runtime_info()["exporters"] >= before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _native.runtime_info()["exporters"] == before - 1


@pytest.mark.parametrize("timeout", [1e10, float("inf")])
def test_export_with_a_huge_timeout(
    timeout: float, backend: Backend, make_exporter: MakeExporter
) -> None:
    exporter = make_exporter()
    span = _native.Span("t")
    span.end()
    assert exporter.export([span], timeout=timeout) == ExportResult.SUCCESS
