"""Queues spans, then lets the interpreter exit without flushing.

Usage: exit_flush.py TRACES_URL N_SPANS [worker-sleep-seconds]
The exit hook must flush within JUDGEVAL_FAST_EXIT_TIMEOUT, whatever the backend does.
"""

from __future__ import annotations

import sys
import time

import judgeval_fast.config  # noqa: F401  (applies JUDGEVAL_FAST_EXIT_TIMEOUT)
from judgeval_fast import _native

url, n = sys.argv[1], int(sys.argv[2])
exporter = _native.Exporter(
    url, {}, max_queue_size=max(n, 512), max_queue_bytes=1 << 30, request_timeout=60
)
for i in range(n):
    _native.Span(f"exit-{i}", exporter=exporter).end()
if len(sys.argv) > 3:
    worker = _native.Worker()
    worker.submit(lambda: time.sleep(float(sys.argv[3])))
print("queued", flush=True)
