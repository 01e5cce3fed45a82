"""OTLP/HTTP exporters: validated configuration and one shared exporter per destination.

A destination is (endpoint, headers, resource). Every tracer that exports to the same
destination shares one native ``Exporter``: one bounded queue, one background thread,
one keep-alive connection. The registry holds exporters weakly, so a destination that
nobody uses any more releases its thread and memory.

Environment variables (the JUDGEVAL_FAST_* name wins over the OTel one):
  JUDGEVAL_FAST_MAX_QUEUE_SIZE     / OTEL_BSP_MAX_QUEUE_SIZE         spans queued (65536)
  JUDGEVAL_FAST_MAX_QUEUE_BYTES                                      bytes queued (64 MiB)
  JUDGEVAL_FAST_MAX_BATCH_SIZE     / OTEL_BSP_MAX_EXPORT_BATCH_SIZE  spans per request (512)
  JUDGEVAL_FAST_MAX_BATCH_BYTES                                      bytes per request (4 MiB)
  JUDGEVAL_FAST_SCHEDULE_DELAY     / OTEL_BSP_SCHEDULE_DELAY (ms)    partial batch wait, s (1)
  JUDGEVAL_FAST_REQUEST_TIMEOUT    / OTEL_EXPORTER_OTLP_TIMEOUT (s)  per request, s (10)
  JUDGEVAL_FAST_RETRY_DEADLINE                                       retries per batch, s (30)
  JUDGEVAL_FAST_GZIP_LEVEL                                           0-9, or -1 for none (1)
"""

from __future__ import annotations

import enum
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from judgeval_fast import _native
from judgeval_fast import config as _config  # noqa: F401  (applies the environment limits)
from judgeval_fast._env import env_float, env_int, require_positive
from judgeval_fast._native import Exporter

__all__ = [
    "ExportResult",
    "Exporter",
    "ExporterConfig",
    "create_exporter",
    "get_exporter",
    "live_exporters",
]


class ExportResult(enum.IntEnum):
    """SpanExportResult values, as returned by ``Exporter.export``."""

    SUCCESS = 0
    FAILURE = 1


def _is_set(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def _default_queue_size() -> int:
    if _is_set("JUDGEVAL_FAST_MAX_QUEUE_SIZE") or not _is_set("OTEL_BSP_MAX_QUEUE_SIZE"):
        return env_int("JUDGEVAL_FAST_MAX_QUEUE_SIZE", 65536)
    return env_int("OTEL_BSP_MAX_QUEUE_SIZE", 65536)


def _default_batch_size() -> int:
    if _is_set("JUDGEVAL_FAST_MAX_BATCH_SIZE") or not _is_set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"):
        return env_int("JUDGEVAL_FAST_MAX_BATCH_SIZE", 512)
    return env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)


def _default_delay() -> float:
    if _is_set("JUDGEVAL_FAST_SCHEDULE_DELAY") or not _is_set("OTEL_BSP_SCHEDULE_DELAY"):
        return env_float("JUDGEVAL_FAST_SCHEDULE_DELAY", 1.0)
    return env_float("OTEL_BSP_SCHEDULE_DELAY", 1000.0) / 1000.0  # OTel's unit is ms


def _default_request_timeout() -> float:
    if _is_set("JUDGEVAL_FAST_REQUEST_TIMEOUT") or not _is_set("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return env_float("JUDGEVAL_FAST_REQUEST_TIMEOUT", 10.0, minimum=0.001)
    return env_float("OTEL_EXPORTER_OTLP_TIMEOUT", 10.0, minimum=0.001)


@dataclass(frozen=True)
class ExporterConfig:
    """Bounds and timing of one destination. Defaults come from the environment."""

    max_queue_size: int = field(default_factory=_default_queue_size)
    max_queue_bytes: int = field(
        default_factory=lambda: env_int("JUDGEVAL_FAST_MAX_QUEUE_BYTES", 64 << 20)
    )
    max_batch_size: int = field(default_factory=_default_batch_size)
    max_batch_bytes: int = field(
        default_factory=lambda: env_int("JUDGEVAL_FAST_MAX_BATCH_BYTES", 4 << 20)
    )
    schedule_delay: float = field(default_factory=_default_delay)
    request_timeout: float = field(default_factory=_default_request_timeout)
    connect_timeout: float = 5.0
    retry_initial: float = 0.5
    retry_max: float = 8.0
    retry_deadline: float = field(
        default_factory=lambda: env_float("JUDGEVAL_FAST_RETRY_DEADLINE", 30.0)
    )
    gzip_level: int = field(
        default_factory=lambda: env_int("JUDGEVAL_FAST_GZIP_LEVEL", 1, minimum=-1)
    )
    python_max_attempts: int = 8
    python_retry_initial: float = 0.05
    python_retry_max: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_queue_size", "max_queue_bytes", "max_batch_size", "max_batch_bytes"):
            require_positive(name, getattr(self, name))
        for name in ("request_timeout", "connect_timeout", "retry_initial", "retry_max"):
            require_positive(name, getattr(self, name))
        for name in ("schedule_delay", "retry_deadline"):
            require_positive(name, getattr(self, name), allow_zero=True)
        require_positive("python_retry_initial", self.python_retry_initial)
        require_positive("python_retry_max", self.python_retry_max)
        require_positive("python_max_attempts", self.python_max_attempts)
        if self.max_batch_size > self.max_queue_size:
            raise ValueError(
                f"max_batch_size must be <= max_queue_size, got {self.max_batch_size} > "
                f"{self.max_queue_size}"
            )
        if not -1 <= self.gzip_level <= 9:
            raise ValueError(f"gzip_level must be -1 (off) or 0..9, got {self.gzip_level}")


def create_exporter(
    endpoint: str,
    headers: Mapping[str, str] | None = None,
    *,
    resource: Mapping[str, Any] | None = None,
    scope_name: str = "judgeval",
    scope_version: str = "",
    config: ExporterConfig | None = None,
    paused: bool = False,
) -> Exporter:
    """Create a new native exporter (not shared; see get_exporter).

    Raises:
        ValueError: invalid endpoint URL, header or limit (the message says which).
    """
    cfg = config if config is not None else ExporterConfig()
    exporter = Exporter(
        endpoint,
        dict(headers or {}),
        resource=dict(resource or {}),
        scope_name=scope_name,
        scope_version=scope_version,
        paused=paused,
        **asdict(cfg),
    )
    with _registry_lock:
        _created.add(exporter)
    return exporter


_registry: weakref.WeakValueDictionary[tuple[Any, ...], Exporter] = weakref.WeakValueDictionary()
# Every exporter made here, shared or not (a tracer's destinations too): health() reports
# them all, so no queue or drop counter is out of sight.
_created: weakref.WeakSet[Exporter] = weakref.WeakSet()
_registry_lock = threading.RLock()  # get_exporter holds it while create_exporter takes it


def registry_key(
    endpoint: str,
    headers: Mapping[str, str],
    resource: Mapping[str, Any],
    scope: str,
    config: ExporterConfig | None,
) -> tuple[Any, ...]:
    """What makes two exporters interchangeable: same destination, data and bounds."""
    return (
        endpoint,
        tuple(sorted(headers.items())),
        tuple(sorted((k, repr(v)) for k, v in resource.items())),
        scope,
        repr(config),  # callers asking for other bounds get their own exporter
    )


def get_exporter(
    endpoint: str,
    headers: Mapping[str, str] | None = None,
    *,
    resource: Mapping[str, Any] | None = None,
    scope_name: str = "judgeval",
    scope_version: str = "",
    config: ExporterConfig | None = None,
) -> Exporter:
    """The shared exporter of a destination and configuration, created on first use."""
    headers = dict(headers or {})
    resource = dict(resource or {})
    key = registry_key(endpoint, headers, resource, scope_name, config)
    with _registry_lock:
        exporter = _registry.get(key)
        if exporter is None or exporter.is_shutdown:
            exporter = create_exporter(
                endpoint,
                headers,
                resource=resource,
                scope_name=scope_name,
                scope_version=scope_version,
                config=config,
            )
            _registry[key] = exporter
        return exporter


def live_exporters() -> list[Exporter]:
    """Every exporter created by this module that is still alive (shared or not)."""
    with _registry_lock:
        return list(_created)


def _reset_registry_lock_in_child() -> None:
    # The lock may have been held by another thread at fork time.
    global _registry_lock
    _registry_lock = threading.RLock()


os.register_at_fork(after_in_child=_reset_registry_lock_in_child)

# Keep the type checker honest about what the C module exposes.
assert _native.Exporter is Exporter
