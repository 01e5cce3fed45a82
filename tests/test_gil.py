"""The exporter thread never takes the GIL on the native path.

Its own GIL-acquisition counter must stay 0 while a million spans go through
encode -> queue -> batch -> gzip -> HTTP, and the producer must not be slowed by it.
"""

from __future__ import annotations

import pytest

from judgeval_fast import _native
from judgeval_fast.backend import BackendProcess as Backend

pytestmark = pytest.mark.native

N = 1_000_000


def test_a_million_spans_without_the_gil(discard_backend: Backend) -> None:
    exporter = _native.Exporter(
        discard_backend.traces_url,
        {},
        resource={"service.name": "gil"},
        max_queue_size=N,
        max_queue_bytes=1 << 30,
    )
    before = discard_backend.stats()["bytes_received"]
    attrs = {"judgment.span_kind": "function", "i": 0}
    for _ in range(N):
        _native.Span("work", exporter=exporter, attributes=attrs).end()
    assert exporter.force_flush(120)
    stats = exporter.stats()
    assert stats["exported"] == N
    assert stats["gil_acquisitions"] == 0
    assert stats["dropped_queue_full"] == 0 and stats["failed"] == 0
    assert stats["requests"] >= N // 512
    assert discard_backend.stats()["bytes_received"] - before == stats["bytes_sent"]
    exporter.shutdown(5)
