"""Tests for the local Judgment-compatible backend (judgeval_fast.backend).

Every test talks to a real server subprocess over real HTTP; protobuf bodies
are built with the official opentelemetry-proto classes.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from judgeval_fast.backend import (
    BackendClient,
    BackendServer,
    start_backend_process,
    stop_backend_process,
)
from judgeval_fast.backend.storage import project_id_for

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_ID = bytes.fromhex("b7ad6b7169203331")
PARENT_ID = bytes.fromhex("00f067aa0ba902b7")
PB = {"Content-Type": "application/x-protobuf"}
BACKEND_README = Path(__file__).resolve().parents[1] / "judgeval_fast" / "backend" / "README.md"
# The integer entries of GET /_admin/stats (checked against the list documented in
# judgeval_fast/backend/README.md): stored-row counts, request counters, connections and
# the request log size. The rest are uptime_s (float), discard, count_only, auth_required
# and fault_config.
STATS_COUNTERS = (
    "spans",
    "tags",
    "evaluations",
    "projects",
    "requests",
    "trace_requests",
    "rejected",
    "bytes_received",
    "faulted",
    "partial_rejected_spans",
    "connections_total",
    "connections_open",
    "request_log_size",
)
# Those POST /_admin/reset leaves non-zero: projects are kept (README), and the open test
# connection plus the admin calls after the reset count as connections again.
KEPT_BY_RESET = {"projects", "connections_total", "connections_open"}


# -- helpers ----------------------------------------------------------------


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def make_request(n_spans: int = 1, name: str = "op", trace_id: bytes = TRACE_ID) -> bytes:
    """Build a serialized ExportTraceServiceRequest with rich spans."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(_kv("service.name", AnyValue(string_value="svc")))
    ss = rs.scope_spans.add()
    ss.scope.name = "judgeval"
    ss.scope.version = "1.2.3"
    for i in range(n_spans):
        span = ss.spans.add()
        span.trace_id = trace_id
        span.span_id = SPAN_ID[:7] + bytes([i % 256])
        span.parent_span_id = PARENT_ID if i == 0 else b""
        span.name = name
        span.kind = Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        span.end_time_unix_nano = 1_700_000_000_500_000_000 + i
        span.flags = 0x101
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
        span.dropped_attributes_count = 2
        span.dropped_events_count = 1
        attrs = span.attributes
        attrs.append(_kv("s", AnyValue(string_value="text")))
        attrs.append(_kv("b", AnyValue(bool_value=True)))
        attrs.append(_kv("i", AnyValue(int_value=-42)))
        attrs.append(_kv("d", AnyValue(double_value=1.5)))
        attrs.append(_kv("bytes", AnyValue(bytes_value=b"\x01\xff")))
        arr = AnyValue()
        arr.array_value.values.extend([AnyValue(int_value=1), AnyValue(string_value="x")])
        attrs.append(_kv("arr", arr))
        kvl = AnyValue()
        kvl.kvlist_value.values.append(_kv("inner", AnyValue(double_value=2.0)))
        attrs.append(_kv("map", kvl))
        ev = span.events.add()
        ev.name = "exception"
        ev.time_unix_nano = 1_700_000_000_100_000_000
        ev.attributes.append(_kv("exception.type", AnyValue(string_value="ValueError")))
    return bytes(req.SerializeToString())


class Http:
    """One keep-alive http.client connection to the backend."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()

    def post_json(
        self, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        status, _, body = self.request("POST", path, json.dumps(payload).encode(), hdrs)
        return status, json.loads(body) if body else None

    def close(self) -> None:
        self.conn.close()


def raw_exchange(url: str, data: bytes, timeout: float = 3.0) -> bytes:
    """Send raw bytes, return everything read until the server closes."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk


# -- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    proc, url = start_backend_process()
    try:
        yield url
    finally:
        assert stop_backend_process(proc) == 0


@pytest.fixture
def url(backend: str) -> str:
    client = BackendClient(backend)
    client.clear_faults()
    client.reset()
    return backend


@pytest.fixture
def client(url: str) -> BackendClient:
    return BackendClient(url)


@pytest.fixture
def http_conn(url: str) -> Iterator[Http]:
    conn = Http(url)
    yield conn
    conn.close()


# -- trace export -----------------------------------------------------------


def documented_stats_keys() -> set[str]:
    """The keys the backend README lists for GET /_admin/stats."""
    text = BACKEND_README.read_text(encoding="utf-8")
    m = re.search(r"`GET /_admin/stats` → `([^`]*)`", text)
    assert m, f"no GET /_admin/stats key list in {BACKEND_README}"
    return {k.strip() for k in m.group(1).split(",")}


def test_health_and_stats_shape(http_conn: Http, client: BackendClient) -> None:
    status, _, body = http_conn.request("GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    stats = client.stats()
    documented = documented_stats_keys()
    assert set(stats) == documented
    assert set(STATS_COUNTERS) <= documented and KEPT_BY_RESET <= set(STATS_COUNTERS)
    for key in STATS_COUNTERS:
        assert type(stats[key]) is int, key
    assert stats["requests"] == 0  # admin and /health are not counted


def test_export_protobuf_stores_spans(http_conn: Http, client: BackendClient) -> None:
    body = make_request(n_spans=2)
    headers = {
        **PB,
        "Authorization": "Bearer abc",
        "X-Organization-Id": "org1",
        "X-Project-Id": "p1",
        "User-Agent": "judgeval-c/0.1",
    }
    status, resp_headers, resp_body = http_conn.request("POST", "/otel/v1/traces", body, headers)
    assert status == 200
    assert resp_headers["content-type"] == "application/x-protobuf"
    resp = ExportTraceServiceResponse.FromString(resp_body)
    assert resp.partial_success.rejected_spans == 0

    spans = client.spans()
    assert len(spans) == 2
    s = spans[0]
    assert s["trace_id"] == TRACE_ID.hex() and len(s["trace_id"]) == 32
    assert s["span_id"] == SPAN_ID[:7].hex() + "00" and len(s["span_id"]) == 16
    assert s["parent_span_id"] == PARENT_ID.hex()
    assert spans[1]["parent_span_id"] == ""
    assert s["name"] == "op"
    assert s["kind"] == Span.SPAN_KIND_CLIENT
    assert s["start_time_unix_nano"] == 1_700_000_000_000_000_000
    assert s["end_time_unix_nano"] == 1_700_000_000_500_000_000
    assert s["flags"] == 0x101
    assert s["status_code"] == Status.STATUS_CODE_ERROR
    assert s["status_message"] == "boom"
    assert s["attributes"] == {
        "s": "text",
        "b": True,
        "i": -42,
        "d": 1.5,
        "bytes": "01ff",
        "arr": [1, "x"],
        "map": {"inner": 2.0},
    }
    assert s["events"] == [
        {
            "name": "exception",
            "time_unix_nano": 1_700_000_000_100_000_000,
            "attributes": {"exception.type": "ValueError"},
            "dropped_attributes_count": 0,
        }
    ]
    assert s["dropped_attributes_count"] == 2
    assert s["dropped_events_count"] == 1
    assert s["resource_attributes"] == {"service.name": "svc"}
    assert s["scope_name"] == "judgeval" and s["scope_version"] == "1.2.3"
    assert s["project_id"] == "p1"
    assert s["received_at"] == pytest.approx(time.time(), abs=30)

    (entry,) = client.requests()
    assert s["request_id"] == entry["id"]
    assert entry["status"] == 200 and entry["spans"] == 2 and entry["bytes"] == len(body)
    assert entry["fault"] is None
    assert entry["headers"]["Authorization"] == "Bearer abc"
    assert entry["headers"]["X-Organization-Id"] == "org1"
    assert entry["headers"]["X-Project-Id"] == "p1"
    assert entry["headers"]["User-Agent"] == "judgeval-c/0.1"

    stats = client.stats()
    assert stats["spans"] == 2 and stats["trace_requests"] == 1 and stats["requests"] == 1
    assert stats["bytes_received"] == len(body)


def test_span_filters(http_conn: Http, client: BackendClient) -> None:
    other_trace = bytes(range(16))
    http_conn.request("POST", "/v1/traces", make_request(3, name="a"), PB)
    http_conn.request("POST", "/v1/traces", make_request(2, name="b", trace_id=other_trace), PB)
    assert len(client.spans()) == 5
    assert len(client.spans(name="a")) == 3
    assert len(client.spans(trace_id=other_trace.hex())) == 2
    assert len(client.spans(limit=4)) == 4
    http_conn.request("POST", "/v1/traces", make_request(1, name="a%_x"), PB)
    # A prefix is matched literally: "%" and "_" are not LIKE wildcards here.
    assert [s["name"] for s in client.spans(name_prefix="a%")] == ["a%_x"]
    assert len(client.spans(name_prefix="a")) == 4
    assert client.spans(name_prefix="a_") == []


def test_span_counts_rows_and_distinct(http_conn: Http, client: BackendClient) -> None:
    assert client.span_counts() == {"spans": 0, "distinct": 0, "by_name": {}}
    # The same 3 spans twice (a partial update and its final record share the ids), plus
    # 2 spans of another trace under another name.
    http_conn.request("POST", "/otel/v1/traces", make_request(3, name="a"), PB)
    http_conn.request("POST", "/otel/v1/traces", make_request(3, name="a"), PB)
    http_conn.request("POST", "/v1/traces", make_request(2, name="b", trace_id=bytes(16)), PB)
    assert client.span_counts() == {
        "spans": 8,
        "distinct": 5,
        "by_name": {"a": {"spans": 6, "distinct": 3}, "b": {"spans": 2, "distinct": 2}},
    }
    assert client.stats()["spans"] == 8
    client.reset()
    assert client.span_counts()["spans"] == 0
    status, _, _ = http_conn.request("POST", "/_admin/span_counts")
    assert status == 405


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_export_compressed(http_conn: Http, client: BackendClient, encoding: str) -> None:
    raw = make_request(n_spans=3)
    if encoding == "gzip":
        body = gzip.compress(raw)
    elif encoding == "deflate":
        body = zlib.compress(raw)
    else:
        comp = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = comp.compress(raw) + comp.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    status, _, _ = http_conn.request("POST", "/v1/traces", body, {**PB, "Content-Encoding": header})
    assert status == 200
    assert len(client.spans()) == 3
    (entry,) = client.requests()
    assert entry["bytes"] == len(body)  # wire size, not decompressed size
    assert entry["headers"]["Content-Encoding"] == header


def test_export_project_path(http_conn: Http, client: BackendClient) -> None:
    status, _, _ = http_conn.request(
        "POST", "/v1/projects/proj42/otel/v1/traces", make_request(), PB
    )
    assert status == 200
    assert client.spans()[0]["project_id"] == "proj42"


def test_export_otlp_json(http_conn: Http, client: BackendClient) -> None:
    payload = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "j"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "js"},
                        "spans": [
                            {
                                "traceId": TRACE_ID.hex(),
                                "spanId": SPAN_ID.hex(),
                                "name": "json-span",
                                "kind": 2,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000000000001",
                                "attributes": [{"key": "k", "value": {"intValue": "7"}}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    status, headers, body = http_conn.request(
        "POST",
        "/v1/traces",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    (span,) = client.spans()
    assert span["trace_id"] == TRACE_ID.hex() and span["span_id"] == SPAN_ID.hex()
    assert span["attributes"] == {"k": 7}
    assert span["kind"] == 2 and span["resource_attributes"] == {"service.name": "j"}


def test_garbage_body_rejected_server_alive(http_conn: Http, client: BackendClient) -> None:
    status, headers, body = http_conn.request("POST", "/v1/traces", b"\xff\xff\xffgarbage", PB)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert "detail" in json.loads(body)
    # Corrupt gzip is a decode failure too.
    status, _, _ = http_conn.request(
        "POST", "/v1/traces", b"not gzip", {**PB, "Content-Encoding": "gzip"}
    )
    assert status == 400
    # Same connection still usable, and valid exports still work.
    status, _, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == 200
    stats = client.stats()
    assert stats["rejected"] == 2 and stats["spans"] == 1


def test_keep_alive_reuses_connection(http_conn: Http, client: BackendClient) -> None:
    before = client.stats()["connections_total"]
    for _ in range(3):
        status, headers, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
        assert status == 200
        assert headers.get("connection", "").lower() != "close"
    entries = client.requests()
    assert len(entries) == 3
    assert len({e["conn"] for e in entries}) == 1
    # +1 for http_conn, +1 each for the requests() and stats() admin calls
    # (urllib opens a new connection per call).
    assert client.stats()["connections_total"] - before == 3


def test_chunked_request_body(http_conn: Http, client: BackendClient) -> None:
    raw = make_request(n_spans=4)
    pieces = [raw[i : i + 100] for i in range(0, len(raw), 100)]
    http_conn.conn.request("POST", "/v1/traces", body=iter(pieces), headers=PB, encode_chunked=True)
    resp = http_conn.conn.getresponse()
    resp.read()
    assert resp.status == 200
    assert len(client.spans()) == 4
    (entry,) = client.requests()
    assert entry["bytes"] == len(raw)
    # Connection stays usable after a chunked request.
    status, _, _ = http_conn.request("GET", "/health")
    assert status == 200


def test_expect_100_continue(url: str, client: BackendClient) -> None:
    body = make_request()
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=3) as sock:
        head = (
            f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    assert b"HTTP/1.1 200" in rest
    assert client.stats()["spans"] == 1


def test_expect_100_oversized_refused_early(url: str, client: BackendClient) -> None:
    head = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 67108865\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    reply = raw_exchange(url, head)
    assert reply.startswith(b"HTTP/1.1 413") and b"100 Continue" not in reply
    assert client.stats()["rejected"] == 1


def test_length_errors(url: str, client: BackendClient) -> None:
    no_length = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\r\n"
    )
    assert raw_exchange(url, no_length).startswith(b"HTTP/1.1 411")
    huge = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 67108865\r\n\r\n"
    assert raw_exchange(url, huge).startswith(b"HTTP/1.1 413")
    bad = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n"
    assert raw_exchange(url, bad).startswith(b"HTTP/1.1 400")
    assert client.health() == {"status": "ok"}
    assert client.stats()["rejected"] == 3


def test_client_disconnect_mid_body(url: str, client: BackendClient) -> None:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=3) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly-a-bit"
        )
    deadline = time.monotonic() + 3
    while not client.requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    (entry,) = client.requests()
    assert entry["status"] is None and "disconnected" in entry["error"]
    assert client.health() == {"status": "ok"}


def test_unknown_path_bad_json_and_method(http_conn: Http) -> None:
    status, _, body = http_conn.request("GET", "/nope")
    assert status == 404 and "detail" in json.loads(body)
    status, _, body = http_conn.request(
        "POST", "/projects/resolve/", b"{not json", {"Content-Type": "application/json"}
    )
    assert status == 400 and "detail" in json.loads(body)
    status, _, _ = http_conn.request("GET", "/v1/traces")
    assert status == 405
    status, _, _ = http_conn.request("GET", "/_admin/nope")
    assert status == 404


# -- JSON endpoints -----------------------------------------------------------


def test_projects_resolve(http_conn: Http, client: BackendClient) -> None:
    status, data = http_conn.post_json("/projects/resolve/", {"project_name": "demo"})
    assert status == 200 and data["project_id"] == project_id_for("demo")
    assert len(data["project_id"]) == 16
    status, data2 = http_conn.post_json("/v1/projects/resolve/", {"project_name": "demo"})
    assert status == 200 and data2["project_id"] == data["project_id"]
    status, _ = http_conn.post_json("/projects/resolve/", {"nope": 1})
    assert status == 400
    projects = client.request("GET", "/_admin/projects")
    assert [p["project_name"] for p in projects].count("demo") == 1
    assert client.stats()["projects"] >= 1


def test_tags(http_conn: Http, client: BackendClient) -> None:
    status, data = http_conn.post_json(
        "/traces/tags/add",
        {"project_name": "demo", "trace_id": "t1", "tags": ["a", "b"]},
    )
    assert status == 200 and data == {"success": True}
    status, data = http_conn.post_json("/v1/projects/pid9/traces/t2/tags", {"tags": ["c"]})
    assert status == 200 and data == {"success": True}
    status, _ = http_conn.post_json("/traces/tags/add", {"project_name": "demo", "tags": "x"})
    assert status == 400
    tags = client.tags()
    assert [(t["trace_id"], t["tag"]) for t in tags] == [
        ("t1", "a"),
        ("t1", "b"),
        ("t2", "c"),
    ]
    assert tags[0]["project_id"] == project_id_for("demo") and tags[2]["project_id"] == "pid9"
    assert client.stats()["tags"] == 3


@pytest.mark.parametrize(
    ("path", "kind", "pid"),
    [
        ("/add_to_run_eval_queue/examples", "examples", ""),
        ("/add_to_run_eval_queue/traces", "traces", ""),
        ("/v1/projects/p7/eval-queue/examples", "examples", "p7"),
        ("/v1/projects/p7/eval-queue/traces", "traces", "p7"),
    ],
)
def test_eval_queue(http_conn: Http, client: BackendClient, path: str, kind: str, pid: str) -> None:
    payload = {
        "examples": [{"input": "q", "actual_output": "a"}],
        "scorers": ["faithfulness"],
    }
    status, data = http_conn.post_json(path, payload)
    assert status == 200
    assert data["success"] is True and data["status"] == "queued" and data["message"]
    (ev,) = client.evaluations()
    assert ev["body"] == payload and ev["kind"] == kind and ev["project_id"] == pid
    assert client.stats()["evaluations"] == 1


# -- auth ---------------------------------------------------------------------


def test_auth_required() -> None:
    proc, url = start_backend_process(extra_args=["--api-key", "sekret", "--org-id", "org-1"])
    try:
        conn = Http(url)
        good = {**PB, "Authorization": "Bearer sekret", "X-Organization-Id": "org-1"}
        status, _, body = conn.request("POST", "/v1/traces", make_request(), PB)
        assert status == 401 and "detail" in json.loads(body)
        status, _, _ = conn.request(
            "POST",
            "/v1/traces",
            make_request(),
            {**good, "Authorization": "Bearer wrong"},
        )
        assert status == 401
        status, _, _ = conn.request(
            "POST", "/v1/traces", make_request(), {**good, "X-Organization-Id": "other"}
        )
        assert status == 401
        status, _ = conn.post_json("/projects/resolve/", {"project_name": "x"})
        assert status == 401
        status, _, _ = conn.request("POST", "/v1/traces", make_request(), good)
        assert status == 200
        conn.close()
        client = BackendClient(url)  # admin needs no credentials
        stats = client.stats()
        assert stats["rejected"] == 4 and stats["spans"] == 1 and stats["auth_required"] is True
    finally:
        assert stop_backend_process(proc) == 0


# -- faults -------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [503, 500, 429])
def test_fault_status(http_conn: Http, client: BackendClient, status_code: int) -> None:
    cfg = client.set_faults(status=status_code)
    assert cfg["active"] is True and cfg["status"] == status_code
    status, headers, body = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == status_code and "detail" in json.loads(body)
    assert "retry-after" not in headers
    assert client.stats()["spans"] == 0  # faulted requests are not stored
    (entry,) = client.requests()
    assert entry["fault"] == f"status:{status_code}" and entry["status"] == status_code
    stats = client.stats()
    assert stats["faulted"] == 1 and stats["rejected"] == 0
    # Admin endpoints are never faulted.
    assert client.health() == {"status": "ok"}


def test_fault_429_retry_after_seconds_and_date(http_conn: Http, client: BackendClient) -> None:
    client.set_faults(status=429, retry_after=2)
    status, headers, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == 429 and headers["retry-after"] == "2"
    date = formatdate(time.time() + 3, usegmt=True)
    client.set_faults(status=429, retry_after=date)
    status, headers, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == 429 and headers["retry-after"] == date


def test_fault_latency(http_conn: Http, client: BackendClient) -> None:
    client.set_faults(latency_ms=300)
    t0 = time.monotonic()
    status, _, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    elapsed = time.monotonic() - t0
    assert status == 200 and 0.29 <= elapsed < 2.0
    assert client.stats()["spans"] == 1  # latency alone still succeeds
    (entry,) = client.requests()
    assert entry["fault"] == "latency"
    assert entry["t_done"] - entry["t"] >= 0.29
    client.clear_faults()
    status, _, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == 200
    assert [e["fault"] for e in client.requests()] == ["latency", None]


def test_fault_reset(url: str, client: BackendClient) -> None:
    client.set_faults(reset=True)
    conn = Http(url)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        conn.request("POST", "/v1/traces", make_request(), PB)
    conn.close()
    # A raw socket shows it is a real RST (ECONNRESET), not an orderly FIN.
    body = make_request()
    head = f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    with pytest.raises(ConnectionResetError):
        raw_exchange(url, head.encode() + body)
    entries = client.requests()
    assert len(entries) == 2
    assert all(e["fault"] == "reset" and e["status"] is None for e in entries)
    client.clear_faults()
    assert client.health() == {"status": "ok"}


def test_fault_blackhole(url: str, client: BackendClient) -> None:
    client.set_faults(blackhole=True)
    conn = Http(url, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        conn.request("POST", "/v1/traces", make_request(), PB)
    assert 0.45 <= time.monotonic() - t0 < 2.0
    conn.close()
    # The server is still healthy and answers normally once cleared.
    assert client.health() == {"status": "ok"}
    (entry,) = client.requests()
    assert entry["fault"] == "blackhole" and entry["status"] is None
    client.clear_faults()
    other = Http(url)
    status, _, _ = other.request("POST", "/v1/traces", make_request(), PB)
    other.close()
    assert status == 200
    # The held connection is released once the client hung up.
    deadline = time.monotonic() + 3
    while client.stats()["connections_open"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.stats()["connections_open"] == 1  # just the stats call


def test_fault_count_auto_clears(http_conn: Http, client: BackendClient) -> None:
    cfg = client.set_faults(status=503, count=2)
    assert cfg["count"] == 2
    codes = [http_conn.request("POST", "/v1/traces", make_request(), PB)[0] for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert client.faults()["active"] is False
    assert client.stats()["faulted"] == 2


def test_concurrent_exports_with_count(url: str, client: BackendClient) -> None:
    client.set_faults(status=503, count=30)
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = Http(url)
        for _ in range(20):
            code = conn.request("POST", "/v1/traces", make_request(n_spans=3), PB)[0]
            with lock:
                results.append(code)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # ``count`` is consumed atomically: exactly 30 faults across all threads.
    assert len(results) == 160 and results.count(503) == 30
    stats = client.stats()
    assert stats["spans"] == 130 * 3 and stats["faulted"] == 30
    assert len(client.requests()) == 160


def test_fault_error_rate(http_conn: Http, client: BackendClient) -> None:
    client.set_faults(status=503, error_rate=0.5)
    n = 200
    codes = [http_conn.request("POST", "/v1/traces", make_request(), PB)[0] for _ in range(n)]
    failed = codes.count(503)
    assert codes.count(200) + failed == n
    # Binomial(200, 0.5): sd ~7; 60..140 is > 5 sd either side.
    assert 60 <= failed <= 140
    assert client.stats()["faulted"] == failed


def test_fault_partial_reject(http_conn: Http, client: BackendClient) -> None:
    client.set_faults(partial_reject=2)
    status, _, body = http_conn.request("POST", "/v1/traces", make_request(n_spans=5), PB)
    assert status == 200
    resp = ExportTraceServiceResponse.FromString(body)
    assert resp.partial_success.rejected_spans == 2
    assert resp.partial_success.error_message
    # Non-trace requests are unaffected by a partial_reject-only fault.
    status, _ = http_conn.post_json("/projects/resolve/", {"project_name": "x"})
    assert status == 200
    entries = client.requests()
    assert entries[0]["fault"] == "partial_reject" and entries[1]["fault"] is None
    assert client.stats()["partial_rejected_spans"] == 2


def test_fault_paths(http_conn: Http, client: BackendClient) -> None:
    client.set_faults(status=500, paths=["/projects/"])
    status, _, _ = http_conn.request("POST", "/v1/traces", make_request(), PB)
    assert status == 200
    status, _ = http_conn.post_json("/projects/resolve/", {"project_name": "x"})
    assert status == 500


def test_fault_config_api(url: str, client: BackendClient) -> None:
    cfg = client.set_faults(latency_ms=10, status=502, retry_after="5", count=3, paths=["/v1/"])
    assert cfg == {
        "active": True,
        "latency_ms": 10.0,
        "status": 502,
        "retry_after": "5",
        "error_rate": 1.0,
        "reset": False,
        "blackhole": False,
        "count": 3,
        "paths": ["/v1/"],
        "partial_reject": 0,
    }
    assert client.faults() == cfg
    assert client.set_faults()["active"] is False  # {} clears
    client.set_faults(status=503)
    assert client.clear_faults()["active"] is False
    for bad in ({"status": "x"}, {"error_rate": 2}, {"bogus": 1}, {"count": 0}):
        req = urllib.request.Request(
            url + "/_admin/faults", data=json.dumps(bad).encode(), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)
        assert info.value.code == 400


# -- admin --------------------------------------------------------------------


def test_admin_requests_timestamps_and_since(http_conn: Http, client: BackendClient) -> None:
    t0, w0 = time.monotonic(), time.time()
    http_conn.request("POST", "/v1/traces", make_request(), PB)
    http_conn.request("GET", "/nope")
    t1, w1 = time.monotonic(), time.time()
    entries = client.requests()
    assert [e["path"] for e in entries] == ["/v1/traces", "/nope"]
    assert [e["method"] for e in entries] == ["POST", "GET"]
    assert [e["status"] for e in entries] == [200, 404]
    # CLOCK_MONOTONIC is shared between processes on one host.
    for e in entries:
        assert t0 <= e["t"] <= t1
        assert w0 - 0.01 <= e["t_wall"] <= w1 + 0.01
        assert e["t"] <= e["t_done"] <= t1
    assert entries[0]["t"] <= entries[1]["t"]
    first_id = entries[0]["id"]
    assert [e["id"] for e in client.requests(since=first_id)] == [entries[1]["id"]]
    assert client.requests(since=entries[1]["id"]) == []


def test_admin_reset(http_conn: Http, client: BackendClient) -> None:
    http_conn.request("POST", "/v1/traces", make_request(3), PB)
    http_conn.post_json("/traces/tags/add", {"project_name": "p", "trace_id": "t", "tags": ["a"]})
    http_conn.post_json("/add_to_run_eval_queue/examples", {"x": 1})
    last_id = client.requests()[-1]["id"]
    client.reset()
    stats = client.stats()
    for key in STATS_COUNTERS:
        if key not in KEPT_BY_RESET:
            assert stats[key] == 0, key
    assert client.spans() == [] and client.tags() == [] and client.evaluations() == []
    assert client.requests() == []
    # Ids keep increasing across resets so ``since`` pollers are not confused.
    http_conn.request("GET", "/nope")
    assert client.requests()[0]["id"] > last_id


# -- modes --------------------------------------------------------------------


def test_discard_mode_counts_without_storing() -> None:
    proc, url = start_backend_process(extra_args=["--discard"])
    try:
        conn = Http(url)
        # Corrupt protobuf, which a decoding backend answers with 400 (as any corrupt
        # body, test_garbage_body_rejected_server_alive): a 200 means it was never decoded.
        big = b"\x00" * (4 * 1024 * 1024)
        for _ in range(5):
            status, headers, body = conn.request("POST", "/v1/traces", big, PB)
            assert status == 200 and body == b""
            assert headers["content-type"] == "application/x-protobuf"
        conn.close()
        stats = BackendClient(url).stats()
        assert stats["trace_requests"] == 5 and stats["requests"] == 5
        assert stats["bytes_received"] == 5 * len(big)
        assert stats["spans"] == 0 and stats["discard"] is True
    finally:
        assert stop_backend_process(proc) == 0


def test_count_only_mode_counts_spans_without_storing() -> None:
    proc, url = start_backend_process(extra_args=["--count-only", "--api-key", "k"])
    try:
        client = BackendClient(url)
        conn = Http(url)
        auth = {**PB, "Authorization": "Bearer k"}
        assert conn.request("POST", "/otel/v1/traces", make_request(3), PB)[0] == 401
        for _ in range(2):
            status, _, body = conn.request("POST", "/otel/v1/traces", make_request(3), auth)
            assert status == 200
            assert ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 0
        other = make_request(2, name="b", trace_id=bytes(16))
        assert conn.request("POST", "/v1/traces", other, auth)[0] == 200
        # Still decoded: a body that is not OTLP is refused as in the storing mode.
        assert conn.request("POST", "/otel/v1/traces", b"\xff\xff", auth)[0] == 400
        conn.close()
        stats = client.stats()
        assert stats["count_only"] is True and stats["discard"] is False
        assert stats["spans"] == 8 and stats["trace_requests"] == 5
        assert client.span_counts() == {
            "spans": 8,
            "distinct": 5,
            "by_name": {"b": {"spans": 2, "distinct": 2}, "op": {"spans": 6, "distinct": 3}},
        }
        assert client.spans() == []
        client.reset()
        assert client.span_counts() == {"spans": 0, "distinct": 0, "by_name": {}}
        assert client.stats()["spans"] == 0
    finally:
        assert stop_backend_process(proc) == 0


def test_discard_and_count_only_exclusive() -> None:
    with pytest.raises(RuntimeError):
        start_backend_process(extra_args=["--discard", "--count-only"], timeout=5)


def test_file_db_persists(tmp_path: Path) -> None:
    db = str(tmp_path / "backend.db")
    proc, url = start_backend_process(db=db)
    try:
        conn = Http(url)
        assert conn.request("POST", "/v1/traces", make_request(2), PB)[0] == 200
        conn.close()
    finally:
        assert stop_backend_process(proc) == 0
    proc, url = start_backend_process(db=db)
    try:
        client = BackendClient(url)
        assert len(client.spans()) == 2 and client.stats()["spans"] == 2
    finally:
        assert stop_backend_process(proc) == 0


def test_in_process_server() -> None:
    with BackendServer() as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        conn = Http(srv.url)
        assert conn.request("POST", "/v1/traces", make_request(), PB)[0] == 200
        # An idle keep-alive connection must not keep stop() waiting.
        assert len(BackendClient(srv.url).spans()) == 1
    t0 = time.monotonic()
    srv.stop()  # idempotent
    assert time.monotonic() - t0 < 1
    with pytest.raises(OSError):
        conn.request("GET", "/health")
    conn.close()
