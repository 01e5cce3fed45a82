"""Shared state of a running backend: options, storage, faults, counters."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from .faults import FaultState
from .storage import Counters, RequestLog, Storage

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BackendConfig:
    """Static server options.

    Attributes:
        api_key: Required bearer token, or None to accept any.
        org_id: Required X-Organization-Id, or None to accept any.
        discard: Count trace exports without decoding or storing them.
        count_only: Decode trace exports and count their spans (rows and distinct
            ids per name) without storing them.
        max_body: Maximum accepted request body size in bytes.
        verbose: Log every request to stderr.
    """

    api_key: str | None = None
    org_id: str | None = None
    discard: bool = False
    count_only: bool = False
    max_body: int = MAX_BODY_BYTES
    verbose: bool = False


class BackendApp:
    """All mutable state shared by handler threads."""

    def __init__(self, storage: Storage, config: BackendConfig) -> None:
        """Bundle storage, faults, counters and the request log.

        Args:
            storage: Open storage.
            config: Static options.
        """
        self.storage = storage
        self.config = config
        self.faults = FaultState()
        self.log = RequestLog()
        self.counters = Counters()
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self._conn_lock = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._next_conn = 0

    def register_connection(self, sock: socket.socket) -> int:
        """Track an accepted connection so ``stop`` can wake its thread.

        Args:
            sock: The accepted socket.

        Returns:
            A connection number, reported as ``conn`` in the request log.
        """
        with self._conn_lock:
            self._connections.add(sock)
            self._next_conn += 1
            conn_id = self._next_conn
        self.counters.add(connections_total=1)
        return conn_id

    def unregister_connection(self, sock: socket.socket) -> None:
        """Forget a connection whose handler is finishing.

        Args:
            sock: Socket passed to ``register_connection``.
        """
        with self._conn_lock:
            self._connections.discard(sock)
            self._conn_lock.notify_all()

    def open_connections(self) -> int:
        """Return the number of connections currently being served.

        Returns:
            Count of live connections.
        """
        with self._conn_lock:
            return len(self._connections)

    def close_connections(self, timeout: float) -> None:
        """Shut down live connections and wait for their threads to finish.

        Idle keep-alive connections would otherwise keep a thread blocked in
        ``readline`` until the client hangs up.

        Args:
            timeout: Seconds to wait for handler threads to drain.
        """
        with self._conn_lock:
            socks = list(self._connections)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        with self._conn_lock:
            while self._connections:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._conn_lock.wait(remaining)

    def stats(self) -> dict[str, Any]:
        """Build the ``/_admin/stats`` document.

        Returns:
            Counters, row counts and a few server facts.
        """
        out: dict[str, Any] = {}
        out.update(self.counters.snapshot())
        out.update(self.storage.counts())
        out["request_log_size"] = len(self.log)
        out["connections_open"] = self.open_connections()
        out["uptime_s"] = time.monotonic() - self.started
        out["discard"] = self.config.discard
        out["count_only"] = self.config.count_only
        out["auth_required"] = self.config.api_key is not None or self.config.org_id is not None
        out["fault_config"] = self.faults.get().to_json()
        return out

    def reset(self) -> None:
        """Clear stored data, the request log and counters (not faults)."""
        self.storage.clear()
        self.log.clear()
        self.counters.clear()
