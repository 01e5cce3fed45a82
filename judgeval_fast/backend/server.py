"""HTTP handling and routing for the local Judgment-compatible backend.

The handler is written against ``http.server`` directly (no framework) so
the fault injector can do things a framework hides: read a request and then
reset the TCP connection, or hold it open forever without answering.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import select
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson
from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from . import otlp
from .faults import AppliedFault, FaultConfig, FaultConfigError
from .state import BackendApp
from .storage import (
    dumps_text,
    loads_text,
    project_id_for,
)

log = logging.getLogger("judgeval_fast.backend")

# Decompressed bodies may legitimately be larger than the wire cap, but a
# bound is needed so a gzip bomb cannot exhaust memory.
MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024
# Request-log headers; kept small because the log holds up to 100k entries.
LOGGED_HEADERS = (
    "Authorization",
    "X-Organization-Id",
    "X-Project-Id",
    "Content-Encoding",
    "Content-Type",
    "User-Agent",
)
_DISCARD_CHUNK = 1024 * 1024

_TRACE_PATHS = re.compile(
    r"^(?:/otel/v1/traces|/v1/traces|/v1/projects/(?P<pid>[^/]+)/otel/v1/traces)$"
)


class _HttpError(Exception):
    """Abort the current request with a JSON error response."""

    def __init__(self, status: int, detail: str, close: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        # True when the body was not (fully) consumed, so the connection
        # cannot be reused for the next request.
        self.close = close


class _ClientGone(Exception):
    """The client disconnected before sending the whole request."""


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    spans: int = 0


def _json(status: int, payload: Any, spans: int = 0) -> _Response:
    try:
        body = orjson.dumps(payload)
    except TypeError:
        # Stored client JSON may hold >64-bit integers that orjson refuses.
        body = dumps_text(payload).encode()
    return _Response(status=status, body=body, spans=spans)


def _parse_json(body: bytes) -> Any:
    try:
        return loads_text(body)
    except ValueError as exc:
        raise _HttpError(400, f"invalid JSON body: {exc}") from exc


def _json_object(body: bytes) -> dict[str, Any]:
    data = _parse_json(body)
    if not isinstance(data, dict):
        raise _HttpError(400, "JSON body must be an object")
    return data


class BackendHTTPServer(ThreadingHTTPServer):
    """Thread-per-connection HTTP server carrying the shared BackendApp."""

    daemon_threads = True
    # Blackholed connections never finish on their own; stop() must not
    # join their threads.
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: BackendApp, family: int) -> None:
        """Bind (and listen on) ``address``.

        Args:
            address: (host, port); port 0 picks a free port.
            app: Shared state handed to every handler.
            family: socket.AF_INET or socket.AF_INET6.
        """
        self.address_family = family
        self.app = app
        super().__init__(address, BackendHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup
        # that can stall for seconds on badly configured CI hosts.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients vanishing is routine for a fault injector; only log the
        # unexpected, and never let it propagate.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        log.exception("unhandled error serving %s", client_address)


Route = Callable[["BackendHandler", re.Match[str], bytes], _Response]


class BackendHandler(BaseHTTPRequestHandler):
    """Per-connection request handler (one thread per connection)."""

    protocol_version = "HTTP/1.1"
    server_version = "judgeval-fast-backend/0.1"
    sys_version = ""
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus
    # the client's delayed ACK adds ~40 ms to every small response.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 300

    _t_headers: float
    _t_wall: float
    _conn_id: int
    _response_started: bool
    # Request-log id of the request being served; stored rows reference it.
    _request_id: int = 0

    def version_string(self) -> str:
        """Value of the Server header (no Python version suffix).

        Returns:
            The server name and version.
        """
        return self.server_version

    @property
    def app(self) -> BackendApp:
        """The shared application state.

        Returns:
            The BackendApp of the owning server.
        """
        return cast(BackendHTTPServer, self.server).app

    # -- connection lifecycle -------------------------------------------

    def setup(self) -> None:
        """Register the connection before serving it."""
        super().setup()
        self._conn_id = self.app.register_connection(self.connection)

    def finish(self) -> None:
        """Unregister the connection after serving it."""
        try:
            super().finish()
        finally:
            self.app.unregister_connection(self.connection)

    def parse_request(self) -> bool:
        """Parse the request line and headers, noting when they arrived.

        Returns:
            Whether parsing succeeded (see BaseHTTPRequestHandler).
        """
        self._response_started = False
        ok = super().parse_request()
        # ``t`` in the request log is defined as "headers read"; the base
        # class has also sent any "100 Continue" by now, before the body.
        self._t_headers = time.monotonic()
        self._t_wall = time.time()
        return ok

    def handle_expect_100(self) -> bool:
        """Refuse oversized bodies before the client starts sending them.

        libcurl sends ``Expect: 100-continue`` for large POSTs; answering 413
        up front spares it uploading up to 64 MiB just to be rejected.

        Returns:
            True to continue with the request, False if it was answered.
        """
        cl = (self.headers.get("Content-Length") or "").strip()
        limit = self.app.config.max_body
        if cl.isdigit() and int(cl) > limit:
            self.send_error(413, f"body of {cl} bytes exceeds limit of {limit}")
            return False
        return super().handle_expect_100()

    def log_message(self, format: str, *args: Any) -> None:
        """Log access lines only in verbose mode.

        Args:
            format: printf-style format (name fixed by the base class).
            *args: Format arguments.
        """
        if self.app.config.verbose:
            log.info("%s - " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer protocol-level errors (bad request line, ...) with JSON.

        Args:
            code: HTTP status.
            message: Short reason.
            explain: Longer explanation.
        """
        self.app.counters.add(rejected=1)
        self.close_connection = True
        detail = message or explain or HTTPStatus(code).phrase
        with contextlib.suppress(OSError):
            self._send(_json(code, {"detail": detail}), close=True)

    # -- method entry points --------------------------------------------

    def do_GET(self) -> None:
        """Serve a GET request."""
        self._dispatch()

    def do_POST(self) -> None:
        """Serve a POST request."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Serve a PUT request."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Serve a DELETE request."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Serve a PATCH request."""
        self._dispatch()

    # -- dispatch ---------------------------------------------------------

    def _dispatch(self) -> None:
        try:
            split = urlsplit(self.path)
            path = split.path or "/"
            if path == "/health" or path == "/_admin" or path.startswith("/_admin/"):
                self._admin(path, parse_qs(split.query))
            else:
                self._api(path)
        except (_ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("error handling %s %s", self.command, self.path)
            self.close_connection = True
            if not self._response_started:
                with contextlib.suppress(OSError):
                    self._send(_json(500, {"detail": "internal server error"}), close=True)

    def _send(self, resp: _Response, close: bool = False) -> None:
        self._response_started = True
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    # -- body reading -----------------------------------------------------

    def _read_body(self, required: bool, keep: bool) -> tuple[bytes, int]:
        """Read the request body per Content-Length or chunked framing.

        Args:
            required: Whether a body-less POST is an error (411).
            keep: Return the bytes; False only counts them (discard mode).

        Returns:
            (body bytes or b"" when not kept, body length in bytes).
        """
        limit = self.app.config.max_body
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            codings = [c.strip().lower() for c in te.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise _HttpError(501, f"unsupported Transfer-Encoding: {te}", close=True)
            return self._read_chunked(limit, keep)
        cl = self.headers.get("Content-Length")
        if cl is None:
            if required and self.command in ("POST", "PUT", "PATCH"):
                raise _HttpError(411, "Content-Length required", close=True)
            return b"", 0
        try:
            length = int(cl.strip())
        except ValueError:
            raise _HttpError(400, f"invalid Content-Length: {cl!r}", close=True) from None
        if length < 0:
            raise _HttpError(400, f"invalid Content-Length: {cl!r}", close=True)
        if length > limit:
            raise _HttpError(413, f"body of {length} bytes exceeds limit of {limit}", close=True)
        if keep:
            return self._read_exact(length), length
        self._skip_exact(length)
        return b"", length

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise _ClientGone()
        return data

    def _skip_exact(self, n: int) -> None:
        # readinto a reused buffer avoids allocating a fresh multi-MiB bytes
        # object per request in the throughput benchmark.
        buf = _discard_buffer()
        view = memoryview(buf)
        while n > 0:
            got = self.rfile.readinto(view[: min(n, len(buf))])
            if not got:
                raise _ClientGone()
            n -= got

    def _read_chunked(self, limit: int, keep: bool) -> tuple[bytes, int]:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _ClientGone()
            if not line.endswith(b"\n"):
                raise _HttpError(400, "chunk size line too long", close=True)
            size_field = line.split(b";", 1)[0].strip()
            try:
                size = int(size_field, 16)
            except ValueError:
                raise _HttpError(400, f"invalid chunk size: {size_field!r}", close=True) from None
            if size < 0 or size_field.startswith((b"-", b"+")):
                raise _HttpError(400, f"invalid chunk size: {size_field!r}", close=True)
            if size == 0:
                break
            if total + size > limit:
                raise _HttpError(413, f"chunked body exceeds limit of {limit}", close=True)
            if keep:
                parts.append(self._read_exact(size))
            else:
                self._skip_exact(size)
            total += size
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _HttpError(400, "missing CRLF after chunk data", close=True)
        # Trailer section: header lines until an empty line.
        for _ in range(100):
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        else:
            raise _HttpError(400, "too many trailer lines", close=True)
        return b"".join(parts), total

    # -- admin ------------------------------------------------------------

    def _admin(self, path: str, query: dict[str, list[str]]) -> None:
        method = self.command
        try:
            body, _ = self._read_body(required=False, keep=True)
            resp = self._admin_route(method, path.rstrip("/") or "/", query, body)
        except _HttpError as exc:
            self._send(_json(exc.status, {"detail": exc.detail}), close=exc.close)
            if exc.close:
                self.close_connection = True
            return
        self._send(resp)

    def _admin_route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> _Response:
        app = self.app
        if path == "/health" and method == "GET":
            return _json(200, {"status": "ok"})
        if path == "/_admin/stats" and method == "GET":
            return _json(200, app.stats())
        if path == "/_admin/requests" and method == "GET":
            since = _int_param(query, "since", 0)
            limit = _int_param(query, "limit", None)
            return _json(200, app.log.since(since or 0, limit))
        if path == "/_admin/spans" and method == "GET":
            spans = app.storage.list_spans(
                limit=_int_param(query, "limit", None),
                name=_str_param(query, "name"),
                trace_id=_str_param(query, "trace_id"),
                span_id=_str_param(query, "span_id"),
                request_id=_int_param(query, "request_id", None),
                name_prefix=_str_param(query, "name_prefix"),
            )
            return _json(200, spans)
        if path == "/_admin/span_counts" and method == "GET":
            return _json(200, app.storage.span_counts())
        if path == "/_admin/tags" and method == "GET":
            return _json(200, app.storage.list_tags())
        if path == "/_admin/evaluations" and method == "GET":
            return _json(200, app.storage.list_evaluations())
        if path == "/_admin/projects" and method == "GET":
            return _json(200, app.storage.list_projects())
        if path == "/_admin/faults":
            if method == "GET":
                return _json(200, app.faults.get().to_json())
            if method == "DELETE":
                return _json(200, app.faults.clear().to_json())
            if method in ("POST", "PUT"):
                data = _parse_json(body) if body.strip() else {}
                try:
                    cfg = FaultConfig.from_json(data)
                except FaultConfigError as exc:
                    raise _HttpError(400, str(exc)) from exc
                return _json(200, app.faults.set(cfg).to_json())
            raise _HttpError(405, f"method {method} not allowed on {path}")
        if path == "/_admin/reset" and method == "POST":
            app.reset()
            return _json(200, {"success": True})
        known = {
            "/health",
            "/_admin/stats",
            "/_admin/requests",
            "/_admin/spans",
            "/_admin/span_counts",
            "/_admin/tags",
            "/_admin/evaluations",
            "/_admin/projects",
            "/_admin/reset",
        }
        if path in known:
            raise _HttpError(405, f"method {method} not allowed on {path}")
        raise _HttpError(404, f"no such admin endpoint: {path}")

    # -- API --------------------------------------------------------------

    def _api(self, path: str) -> None:
        app = self.app
        trace_match = _TRACE_PATHS.match(path) if self.command == "POST" else None
        is_trace = trace_match is not None
        app.counters.add(requests=1, trace_requests=int(is_trace))
        entry: dict[str, Any] = {
            "id": 0,  # assigned by RequestLog.add
            "method": self.command,
            "path": path,
            "t": self._t_headers,
            "t_wall": self._t_wall,
            "t_done": None,
            "status": None,
            "fault": None,
            "spans": 0,
            "bytes": 0,
            "conn": self._conn_id,
            "error": None,
            "headers": {h: v for h in LOGGED_HEADERS if (v := self.headers.get(h)) is not None},
        }
        keep = not (is_trace and app.config.discard)
        try:
            body, nbytes = self._read_body(required=True, keep=keep)
        except _HttpError as exc:
            entry["error"] = exc.detail
            app.log.add(entry)
            app.counters.add(rejected=1)
            self._finish(entry, _json(exc.status, {"detail": exc.detail}), close=exc.close)
            return
        except _ClientGone:
            app.log.add(entry)
            app.log.update(entry, error="client disconnected before sending the full body")
            raise
        entry["bytes"] = nbytes
        app.log.add(entry)
        self._request_id = entry["id"]
        app.counters.add(bytes_received=nbytes)

        fault = app.faults.decide(path, is_trace)
        if fault is not None:
            app.counters.add(faulted=1)
            app.log.update(entry, fault=fault.label)
            if self._apply_fault(entry, fault):
                return

        try:
            self._check_auth()
            resp = self._api_route(path, trace_match, body, entry, fault)
        except _HttpError as exc:
            app.counters.add(rejected=1)
            app.log.update(entry, error=exc.detail)
            self._finish(entry, _json(exc.status, {"detail": exc.detail}), close=exc.close)
            return
        except Exception as exc:
            # Answer here rather than in _dispatch so the log entry gets its
            # status; a backend bug must look like a 500, not a hang.
            log.exception("error handling %s %s", self.command, self.path)
            app.log.update(entry, error=f"internal error: {exc!r}")
            self._finish(entry, _json(500, {"detail": "internal server error"}), close=True)
            return
        self._finish(entry, resp)

    def _finish(self, entry: dict[str, Any], resp: _Response, close: bool = False) -> None:
        # Status, span count and t_done go into the log before the answer leaves: a
        # client that reads the log right after its request returned must see them, and
        # must never see a t_done later than its own clock when the answer arrived.
        self.app.log.update(entry, status=resp.status, spans=resp.spans, t_done=time.monotonic())
        try:
            self._send(resp, close=close)
        except OSError:
            # Typically a client that timed out during injected latency.
            self.app.log.update(entry, error="client went away before the response")
            raise
        if close:
            self.close_connection = True

    def _apply_fault(self, entry: dict[str, Any], fault: AppliedFault) -> bool:
        """Apply an injected fault.

        Args:
            entry: Request-log entry of the current request.
            fault: The fault chosen by FaultState.

        Returns:
            True if the request has been fully dealt with (no normal answer).
        """
        cfg = fault.config
        if cfg.latency_ms > 0:
            # Event.wait rather than sleep so stop() is not held up.
            self.app.stopping.wait(cfg.latency_ms / 1000.0)
        if cfg.reset:
            self._reset_connection()
            self.app.log.update(entry, t_done=time.monotonic())
            return True
        if cfg.blackhole:
            self._hold_connection()
            self.app.log.update(entry, t_done=time.monotonic())
            return True
        if cfg.status is not None:
            headers: tuple[tuple[str, str], ...] = ()
            if cfg.retry_after is not None:
                headers = (("Retry-After", cfg.retry_after),)
            resp = _json(cfg.status, {"detail": f"injected fault: status {cfg.status}"})
            resp.headers = headers
            self._finish(entry, resp)
            return True
        return False

    def _reset_connection(self) -> None:
        sock = self.connection
        # SO_LINGER with a zero timeout makes close() send RST instead of
        # FIN, which is what a crashed proxy or LB looks like to curl.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference created by makefile(); the fd is only
        # really closed (and the RST sent) once both are closed.
        self.rfile.close()
        sock.close()
        self.close_connection = True

    def _hold_connection(self) -> None:
        # Wait in select() with a timeout: no CPU use, and we notice both a
        # client hang-up (readable + EOF) and server shutdown promptly.
        sock = self.connection
        stopping = self.app.stopping
        while not stopping.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.2)
            except (OSError, ValueError):
                break
            if readable:
                try:
                    if not sock.recv(65536):
                        break
                except (OSError, ValueError):
                    break
        self.close_connection = True

    def _check_auth(self) -> None:
        cfg = self.app.config
        if cfg.api_key is not None:
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), cfg.api_key.encode()
            ):
                raise _HttpError(401, "missing or invalid Authorization bearer token")
        if cfg.org_id is not None:
            org = self.headers.get("X-Organization-Id") or ""
            if not hmac.compare_digest(org.encode(), cfg.org_id.encode()):
                raise _HttpError(401, "missing or invalid X-Organization-Id")

    def _api_route(
        self,
        path: str,
        trace_match: re.Match[str] | None,
        body: bytes,
        entry: dict[str, Any],
        fault: AppliedFault | None,
    ) -> _Response:
        if trace_match is not None:
            return self._export_traces(trace_match.group("pid") or "", body, entry, fault)
        norm = path.rstrip("/") or "/"
        for pattern, methods, handler in _ROUTES:
            m = pattern.match(norm)
            if m is None:
                continue
            if self.command not in methods:
                raise _HttpError(405, f"method {self.command} not allowed on {path}")
            return handler(self, m, body)
        if _TRACE_PATHS.match(path):
            raise _HttpError(405, f"method {self.command} not allowed on {path}")
        raise _HttpError(404, f"not found: {path}")

    def _export_traces(
        self,
        path_pid: str,
        body: bytes,
        entry: dict[str, Any],
        fault: AppliedFault | None,
    ) -> _Response:
        app = self.app
        if app.config.discard:
            return _Response(status=200, body=b"", content_type="application/x-protobuf")
        try:
            raw = otlp.decompress(
                body, self.headers.get("Content-Encoding") or "", MAX_DECOMPRESSED_BYTES
            )
            content_type = self.headers.get("Content-Type") or "application/x-protobuf"
            msg = otlp.parse_request(raw, content_type)
        except otlp.BodyTooLargeError as exc:
            raise _HttpError(413, str(exc)) from exc
        except otlp.OtlpDecodeError as exc:
            raise _HttpError(400, str(exc)) from exc
        if app.config.count_only:
            stored = app.storage.count_spans(otlp.request_span_keys(msg))
        else:
            spans = otlp.request_to_spans(msg)
            project_id = path_pid or self.headers.get("X-Project-Id") or ""
            stored = app.storage.insert_spans(spans, entry["id"], time.time(), project_id)
        rejected = min(fault.partial_reject, stored) if fault is not None else 0
        if rejected:
            app.counters.add(partial_rejected_spans=rejected)
        message = f"injected partial rejection of {rejected} spans" if rejected else ""
        if content_type.split(";", 1)[0].strip().lower() == "application/json":
            resp_msg = ExportTraceServiceResponse()
            if rejected:
                resp_msg.partial_success.rejected_spans = rejected
                resp_msg.partial_success.error_message = message
            return _Response(
                status=200,
                body=str(json_format.MessageToJson(resp_msg)).encode(),
                content_type="application/json",
                spans=stored,
            )
        return _Response(
            status=200,
            body=otlp.encode_response(rejected, message),
            content_type="application/x-protobuf",
            spans=stored,
        )

    def _resolve_project(self, m: re.Match[str], body: bytes) -> _Response:
        data = _json_object(body)
        name = data.get("project_name")
        if not isinstance(name, str) or not name:
            raise _HttpError(400, "project_name (non-empty string) is required")
        pid = self.app.storage.resolve_project(name)
        return _json(200, {"project_id": pid, "project_name": name})

    def _add_tags(self, m: re.Match[str], body: bytes) -> _Response:
        data = _json_object(body)
        groups = m.groupdict()
        project_name = data.get("project_name")
        if groups.get("pid"):
            pid = groups["pid"]
            trace_id = groups["tid"]
            project_name = project_name if isinstance(project_name, str) else ""
        else:
            trace_id = data.get("trace_id")
            if not isinstance(project_name, str) or not project_name:
                raise _HttpError(400, "project_name (non-empty string) is required")
            if not isinstance(trace_id, str) or not trace_id:
                raise _HttpError(400, "trace_id (non-empty string) is required")
            pid = project_id_for(project_name)
        tags = data.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _HttpError(400, "tags must be a list of strings")
        entry_id = self._request_id
        self.app.storage.add_tags(pid, project_name, trace_id, tags, entry_id)
        return _json(200, {"success": True})

    def _enqueue_eval(self, m: re.Match[str], body: bytes) -> _Response:
        data = _parse_json(body)
        groups = m.groupdict()
        kind = groups["kind"]
        pid = groups.get("pid") or ""
        eval_id = self.app.storage.add_evaluation(kind, m.string, pid, data, self._request_id)
        return _json(
            200,
            {
                "success": True,
                "status": "queued",
                "message": f"{kind} evaluation {eval_id} queued",
                "evaluation_id": eval_id,
            },
        )


def _discard_buffer() -> bytearray:
    buf: bytearray | None = getattr(_tls, "buf", None)
    if buf is None:
        buf = bytearray(_DISCARD_CHUNK)
        _tls.buf = buf
    return buf


_tls = threading.local()

_ROUTES: tuple[tuple[re.Pattern[str], frozenset[str], Route], ...] = (
    (
        re.compile(r"^(?:/v1)?/projects/resolve$"),
        frozenset({"POST"}),
        BackendHandler._resolve_project,
    ),
    (re.compile(r"^/traces/tags/add$"), frozenset({"POST"}), BackendHandler._add_tags),
    (
        re.compile(r"^/v1/projects/(?P<pid>[^/]+)/traces/(?P<tid>[^/]+)/tags$"),
        frozenset({"POST"}),
        BackendHandler._add_tags,
    ),
    (
        re.compile(
            r"^(?:/add_to_run_eval_queue|(?:/v1/projects/(?P<pid>[^/]+))?/eval-queue)"
            r"/(?P<kind>examples|traces)$"
        ),
        frozenset({"POST"}),
        BackendHandler._enqueue_eval,
    ),
)


def _int_param(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise _HttpError(400, f"query parameter {name} must be an integer") from None


def _str_param(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None
