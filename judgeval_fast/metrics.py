"""One snapshot of every counter of the pipeline, with derived ratios.

The numbers are racy snapshots (each counter is read once, without stopping the
threads): good for dashboards and tests of eventual state, not for exact arithmetic
while spans are still flowing.
"""

from __future__ import annotations

from typing import Any

from judgeval_fast import _native
from judgeval_fast import worker as _worker
from judgeval_fast.exporter import live_exporters

# Exporter counters in which a span's journey ends without delivery.
_LOST = (
    "dropped_queue_full",
    "dropped_oversize",
    "rejected_after_shutdown",
    "failed",
    "rejected",
    "partially_rejected",
    "dropped_shutdown",
)


def exporter_health(stats: dict[str, Any]) -> dict[str, Any]:
    """Add derived figures to one Exporter.stats() dict (returns a new dict)."""
    out = dict(stats)
    capacity = stats["queue_capacity"] or 1
    out["queue_utilization"] = stats["queue_size"] / capacity
    out["spans_lost"] = sum(stats[k] for k in _LOST)
    return out


def health() -> dict[str, Any]:
    """Counters of the span path, every exporter, both workers and the runtime.

    ``worker`` is the API worker (tags, evaluations), ``control_worker`` the one that
    resolves project ids; either is None until something was queued on it."""
    exporters = [{"endpoint": e.endpoint, **exporter_health(e.stats())} for e in live_exporters()]
    workers = _worker.worker_stats()
    return {
        "spans": _native.span_counters(),
        "exporters": exporters,
        "worker": workers["api"],
        "control_worker": workers["control"],
        "runtime": _native.runtime_info(),
    }
