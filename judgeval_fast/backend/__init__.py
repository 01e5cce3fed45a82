"""Local Judgment-compatible backend with fault injection.

A real HTTP server that accepts OTLP trace exports and the Judgment JSON
endpoints, stores what it receives in SQLite, and can inject latency,
error statuses, connection resets and black holes on demand. Tests run it
as a subprocess (see ``client.start_backend_process``); demos can run it
in-process with ``BackendServer``.
"""

from __future__ import annotations

from .cli import run
from .client import BackendClient, BackendProcess, start_backend_process, stop_backend_process
from .embedded import BackendServer

__all__ = [
    "BackendClient",
    "BackendProcess",
    "BackendServer",
    "run",
    "start_backend_process",
    "stop_backend_process",
]
