"""Forks N children while an exporter (and its thread) is live; each side exports.

Usage: fork_export.py TRACES_URL N_FORKS SPANS_EACH
Prints one line per process: "<role> <pid> <ok>" and exits 0 when every child
flushed its own spans and exited 0 in time.
"""

from __future__ import annotations

import os
import sys
import time

from judgeval_fast import _native

url, forks, each = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
exporter = _native.Exporter(url, {}, resource={"service.name": "fork"}, schedule_delay=0.01)
worker = _native.Worker()


def say(line: str) -> None:
    # One write() per line: lines from concurrent processes must not interleave.
    os.write(1, (line + "\n").encode())


def emit(prefix: str) -> None:
    for i in range(each):
        _native.Span(f"{prefix}-{i}", exporter=exporter).end()


emit("parent-before")
exporter.force_flush(10)
# The worker's first GIL acquisition allocates its thread state without the GIL. glibc's
# malloc is fork-safe, but the ASan allocator (gcc 12) is not: a fork at that instant would
# leave its lock held in the child. The exporter's own allocations are fenced by its work
# gate (exporter.h); this warm-up keeps the sanitizer run about our code.
worker.submit(lambda: None)
worker.flush(10)
# Keep the thread busy and a worker call pending while we fork.
emit("parent-inflight")
worker.submit(lambda: time.sleep(0.05))

children = []
for n in range(forks):
    pid = os.fork()
    if pid == 0:
        try:
            emit(f"child{n}")
            done: list[int] = []
            worker.submit(lambda d=done: d.append(1))
            flushed = exporter.force_flush(10)
            worked = worker.flush(10)
            ok = flushed and worked and done == [1]
            detail = (
                "" if ok else f" flushed={flushed} worked={worked} done={done} {exporter.stats()}"
            )
            say(f"child {os.getpid()} {ok}{detail}")
            os._exit(0 if ok else 3)
        except BaseException as exc:  # never fall through into the parent's loop
            say(f"child {os.getpid()} error {exc!r}")
            os._exit(4)
    children.append(pid)
    emit(f"parent-after{n}")

failed = 0
deadline = time.monotonic() + 60
for pid in children:
    while True:
        done_pid, status = os.waitpid(pid, os.WNOHANG)
        if done_pid:
            failed += os.waitstatus_to_exitcode(status) != 0
            break
        if time.monotonic() > deadline:
            say(f"child {pid} deadlocked")
            os.kill(pid, 9)
            failed += 1
            break
        time.sleep(0.01)

ok = exporter.force_flush(10)
say(f"parent {os.getpid()} {ok and not failed}")
sys.exit(0 if ok and not failed else 1)
