"""judgeval-fast: a native span pipeline for the judgeval LLM-tracing SDK.

The C extension (``judgeval_fast._native``) owns the hot path and the background work;
this package re-exports it with typed, validated facades. Submodules load on first use
so that ``python -m judgeval_fast.backend`` works without the extension built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from judgeval_fast._native import Event, Span, SpanContext, SpanQueue, Status, Store
    from judgeval_fast.api import JudgmentAPIError, JudgmentSyncClient
    from judgeval_fast.config import RuntimeConfig, configure
    from judgeval_fast.exporter import Exporter, ExporterConfig, ExportResult, get_exporter
    from judgeval_fast.metrics import health
    from judgeval_fast.span import SpanKind, StatusCode
    from judgeval_fast.tracer import Judgeval, Tracer, TracerFactory
    from judgeval_fast.worker import ApiWorker, RetryPolicy, get_worker

__all__ = [
    "ApiWorker",
    "Event",
    "ExportResult",
    "Exporter",
    "ExporterConfig",
    "Judgeval",
    "JudgmentAPIError",
    "JudgmentSyncClient",
    "RetryPolicy",
    "RuntimeConfig",
    "Span",
    "SpanContext",
    "SpanKind",
    "SpanQueue",
    "Status",
    "StatusCode",
    "Store",
    "Tracer",
    "TracerFactory",
    "configure",
    "get_exporter",
    "get_worker",
    "health",
]

_WHERE = {
    "Event": "judgeval_fast._native",
    "Span": "judgeval_fast._native",
    "SpanContext": "judgeval_fast._native",
    "SpanQueue": "judgeval_fast._native",
    "Status": "judgeval_fast._native",
    "Store": "judgeval_fast._native",
    "RuntimeConfig": "judgeval_fast.config",
    "configure": "judgeval_fast.config",
    "Exporter": "judgeval_fast.exporter",
    "ExporterConfig": "judgeval_fast.exporter",
    "ExportResult": "judgeval_fast.exporter",
    "get_exporter": "judgeval_fast.exporter",
    "health": "judgeval_fast.metrics",
    "SpanKind": "judgeval_fast.span",
    "StatusCode": "judgeval_fast.span",
    "ApiWorker": "judgeval_fast.worker",
    "RetryPolicy": "judgeval_fast.worker",
    "get_worker": "judgeval_fast.worker",
    "Judgeval": "judgeval_fast.tracer",
    "Tracer": "judgeval_fast.tracer",
    "TracerFactory": "judgeval_fast.tracer",
    "JudgmentAPIError": "judgeval_fast.api",
    "JudgmentSyncClient": "judgeval_fast.api",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'judgeval_fast' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
