"""Admin client and subprocess helpers for tests and benchmarks.

Only the standard library is used so the helpers work in any environment
that can run the backend itself.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import orjson

from .storage import loads_text

_LISTENING_PREFIX = "listening on "
# Directory containing the ``judgeval_fast`` package, so the child process
# can import the backend even when the parent got it via sys.path tweaks.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class BackendClient:
    """Tiny typed client for the backend's admin API."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        """Create a client.

        Args:
            url: Base URL, e.g. ``http://127.0.0.1:43123``.
            timeout: Per-request socket timeout in seconds.
        """
        self.url = url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send a JSON request and decode the JSON answer.

        Args:
            method: HTTP method.
            path: Path including any query string.
            body: JSON-serialisable body, or None for no body.

        Returns:
            Decoded JSON response.

        Raises:
            urllib.error.HTTPError: On a non-2xx status.
        """
        data = orjson.dumps(body) if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            raw = resp.read()
        return loads_text(raw) if raw else None

    def health(self) -> dict[str, Any]:
        """Return ``GET /health``.

        Returns:
            ``{"status": "ok"}``.
        """
        return cast(dict[str, Any], self.request("GET", "/health"))

    def stats(self) -> dict[str, Any]:
        """Return ``GET /_admin/stats``.

        Returns:
            Counters and row counts.
        """
        return cast(dict[str, Any], self.request("GET", "/_admin/stats"))

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Return request-log entries with ``id > since``.

        Args:
            since: Last id already seen.

        Returns:
            Entries, oldest first.
        """
        return cast(list[dict[str, Any]], self.request("GET", f"/_admin/requests?since={since}"))

    def spans(self, **filters: Any) -> list[dict[str, Any]]:
        """Return stored spans.

        Args:
            **filters: Any of limit, name, name_prefix, trace_id, span_id, request_id.

        Returns:
            Span dicts in arrival order.
        """
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        path = "/_admin/spans" + (f"?{query}" if query else "")
        return cast(list[dict[str, Any]], self.request("GET", path))

    def span_counts(self) -> dict[str, Any]:
        """Return ``GET /_admin/span_counts``.

        Returns:
            ``{"spans", "distinct", "by_name": {name: {"spans", "distinct"}}}``.
        """
        return cast(dict[str, Any], self.request("GET", "/_admin/span_counts"))

    def tags(self) -> list[dict[str, Any]]:
        """Return stored trace tags.

        Returns:
            Tag rows in arrival order.
        """
        return cast(list[dict[str, Any]], self.request("GET", "/_admin/tags"))

    def projects(self) -> list[dict[str, Any]]:
        """Return the projects resolved so far.

        Returns:
            Dicts with project_id, project_name, created_at.
        """
        return cast(list[dict[str, Any]], self.request("GET", "/_admin/projects"))

    def evaluations(self) -> list[dict[str, Any]]:
        """Return stored evaluation-queue submissions.

        Returns:
            Evaluation rows in arrival order.
        """
        return cast(list[dict[str, Any]], self.request("GET", "/_admin/evaluations"))

    def faults(self) -> dict[str, Any]:
        """Return the active fault configuration.

        Returns:
            Fault config as JSON.
        """
        return cast(dict[str, Any], self.request("GET", "/_admin/faults"))

    def set_faults(self, **kw: Any) -> dict[str, Any]:
        """Replace the fault configuration.

        Args:
            **kw: Fault keys (latency_ms, status, retry_after, error_rate,
                reset, blackhole, count, paths, partial_reject).

        Returns:
            The configuration now in effect.
        """
        return cast(dict[str, Any], self.request("POST", "/_admin/faults", kw))

    def clear_faults(self) -> dict[str, Any]:
        """Remove every fault.

        Returns:
            The (empty) configuration now in effect.
        """
        return cast(dict[str, Any], self.request("DELETE", "/_admin/faults"))

    def reset(self) -> None:
        """Clear stored spans/tags/evaluations, the request log and counters."""
        self.request("POST", "/_admin/reset", {})

    def wait_for_spans(
        self, count: int, timeout: float = 5.0, **filters: Any
    ) -> list[dict[str, Any]]:
        """Poll until at least ``count`` spans (matching filters) are stored.

        Args:
            count: Minimum number of spans to wait for.
            timeout: Seconds before giving up.
            **filters: Passed to ``spans``.

        Returns:
            The spans found.

        Raises:
            TimeoutError: If fewer than ``count`` spans arrive in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.spans(**filters)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} spans, got {len(found)}")
            time.sleep(0.02)


class BackendProcess:
    """A backend running as a child process, with its admin client.

    Context manager: ``with BackendProcess() as b: b.traces_url``.
    """

    def __init__(self, db: str = ":memory:", extra_args: Sequence[str] = ()) -> None:
        self.proc, self.url = start_backend_process(db=db, extra_args=extra_args)
        self.traces_url = self.url + "/otel/v1/traces"
        self.client = BackendClient(self.url)

    def reset(self) -> None:
        """Clear faults and stored data."""
        self.client.clear_faults()
        self.client.reset()

    def stats(self) -> dict[str, Any]:
        return self.client.stats()

    def stop(self) -> int:
        return stop_backend_process(self.proc)

    def __enter__(self) -> BackendProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_backend_process(
    db: str = ":memory:",
    extra_args: Sequence[str] = (),
    host: str = "127.0.0.1",
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Launch ``python -m judgeval_fast.backend`` and wait until it listens.

    Args:
        db: SQLite path or ``:memory:``.
        extra_args: Additional CLI arguments (e.g. ``["--api-key", "k"]``).
        host: Interface to bind.
        timeout: Seconds to wait for the ``listening on`` line.
        env: Environment for the child (default: a copy of ours).

    Returns:
        (process, base URL).

    Raises:
        RuntimeError: If the process exits or stays silent past ``timeout``.
    """
    child_env = dict(os.environ if env is None else env)
    existing = child_env.get("PYTHONPATH")
    child_env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + existing if existing else "")
    cmd = [
        sys.executable,
        "-m",
        "judgeval_fast.backend",
        "--host",
        host,
        "--port",
        "0",
        "--db",
        db,
        *extra_args,
    ]
    # stderr is inherited so server-side tracebacks show up in test output;
    # stdout is a pipe only for the single "listening on" line.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=child_env)
    try:
        url = _read_listening_line(proc, timeout)
    except BaseException:
        stop_backend_process(proc)
        raise
    return proc, url


def _read_listening_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"backend did not report its address within {timeout}s")
            if not sel.select(remaining):
                continue
            # os.read on the raw fd: proc.stdout's buffer could swallow bytes
            # that select() would then never report again.
            chunk = os.read(fd, 4096)
            if not chunk:
                code = proc.wait(timeout=1)
                raise RuntimeError(f"backend exited with code {code} before listening")
            buf += chunk
    line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not line.startswith(_LISTENING_PREFIX):
        raise RuntimeError(f"unexpected backend output: {line!r}")
    return line[len(_LISTENING_PREFIX) :]


def stop_backend_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int:
    """Terminate a backend process, killing it if it does not exit in time.

    Args:
        proc: Process from ``start_backend_process``.
        timeout: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        The process exit code.
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc.stdout is not None:
        proc.stdout.close()
    return int(proc.returncode)


__all__ = [
    "BackendClient",
    "BackendProcess",
    "start_backend_process",
    "stop_backend_process",
]
