"""Harness of the isolated leak scripts (psutil's test_memleaks + multidict's isolated/).

Each leak_*.py script runs in its own interpreter (tests/test_leaks.py starts them), so
the figures are not polluted by other tests. A script registers cases; each case is one
native entry point called in a loop:

    warm-up (fills caches, starts threads, sizes buffers)      then, after gc.collect():
    m0 = (traced, rss) ; round 1 ; m1 ; round 2 ; m2

Both tracemalloc (every native allocation goes through PyMem_RawMalloc, so it is traced)
and the RSS are measured. A case fails when the total growth m2 - m0 exceeds the bound
AND round 2 alone still grew by more than half of it: a leak grows in every round, a
one-off (a cache or a dict resize reached for the first time) does not. A case that fails
is measured once more (the first run then counts as extra warm-up) and fails only if it
leaks again: CPython's own bounded caches (the type attribute cache keeps the last name
objects looked up, the interned-string table resizes) can jump once at a random point.
The sensitivity is that of a single before/after measurement: with the default 64 KiB
bound, N calls reveal any leak larger than 64 KiB / N per call (16 bytes for N >= 4096).

Importing this module starts tracemalloc (before the extension is imported) and puts the
repository root on sys.path, so a script also runs on its own: python tests/isolated/x.py
It also holds the helper objects several scripts pass to the entry points (BadRepr, BadStr,
Plain, NullExporter).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

tracemalloc.start(1)

DEBUG = bool(os.environ.get("LEAKCHECK_DEBUG"))  # print where the traced memory went
TRACED_LIMIT = 64 * 1024  # bytes of traced memory a case may gain
RSS_LIMIT = 8 * 1024 * 1024  # bytes of RSS a case may gain (RSS is noisy: allocator arenas)
# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by default) before it
# is reused, so RSS grows with any allocation churn: there only tracemalloc is judged
# (ASan itself reports real misuse of memory).
RSS_JUDGED = not os.environ.get("JF_SANITIZED")
_PROC = psutil.Process()


def measure() -> tuple[int, int]:
    """(traced bytes, RSS bytes) after a full collection."""
    gc.collect()
    gc.collect()
    return tracemalloc.get_traced_memory()[0], _PROC.memory_info().rss


def wait_until(
    pred: Callable[[], bool], timeout: float = 10.0, what: Callable[[], str] = lambda: "condition"
) -> None:
    """Polls pred() until it holds; raises AssertionError (with what()) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what()}")
        time.sleep(0.005)


class BadRepr:
    """A value or key whose repr() raises: the error path of attribute conversion."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadStr:
    """A key, name or description whose str() raises: the attribute is dropped (counted)."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __hash__(self) -> int:
        return 1


class Plain:
    """An object of no attribute type: a value is converted with repr(), a name with str()."""


class NullExporter:
    """A Python exporter (set_python_exporter) whose export() keeps nothing and returns
    SUCCESS (0). export() is the only method the native Exporter calls on it."""

    def export(self, spans: list[Any]) -> int:
        return 0


def native_threads() -> int:
    """OS threads of this process that are not Python threads (exporter/worker threads)."""
    return _PROC.num_threads() - threading.active_count()


def runtime_counts() -> tuple[int, int]:
    """(live native exporters, live native workers) as the runtime sees them."""
    from judgeval_fast import _native

    info = _native.runtime_info()
    return info["exporters"], info["workers"]


def wait_runtime_back(exporters: int, workers: int, threads: int, timeout: float = 15.0) -> None:
    """Waits until the runtime's exporter/worker lists and the native threads are back to a
    baseline: destroyed exporters and workers must really go, with their threads."""
    wait_until(
        lambda: runtime_counts() == (exporters, workers) and native_threads() <= threads,
        timeout,
        lambda: (
            f"exporters/workers/native threads to return to {exporters}/{workers}/{threads} "
            f"(still {runtime_counts()}/{native_threads()})"
        ),
    )
    time.sleep(0.02)  # the last decref frees right after leaving the runtime list


class Case:
    def __init__(
        self,
        label: str,
        fn: Callable[[], Any],
        calls: int,
        warmup: int,
        settle: Callable[[], Any] | None,
        setup: Callable[[], Any] | None,
        traced_limit: int,
        rss_limit: int,
    ) -> None:
        self.setup = setup
        self.label = label
        self.fn = fn
        self.calls = calls
        self.warmup = warmup
        self.settle = settle
        self.traced_limit = traced_limit
        self.rss_limit = rss_limit


class LeakCheck:
    """Collects the cases of one script, runs them, prints the figures, exits 0 or 1."""

    def __init__(self, script: str) -> None:
        self.script = os.path.basename(script)
        self.cases: list[Case] = []

    def case(
        self,
        label: str,
        fn: Callable[[], Any],
        calls: int,
        *,
        warmup: int | None = None,
        settle: Callable[[], Any] | None = None,
        setup: Callable[[], Any] | None = None,
        traced_limit: int = TRACED_LIMIT,
        rss_limit: int = RSS_LIMIT,
    ) -> None:
        """Registers fn (one call of the entry point) to be run `calls` times.

        setup() runs once before the warm-up (e.g. arm a backend fault); settle() runs after
        the warm-up and after each round, before measuring (flush an exporter, wait for
        threads to exit, ...).
        """
        if warmup is None:
            warmup = max(calls // 10, 50)
        self.cases.append(Case(label, fn, calls, warmup, settle, setup, traced_limit, rss_limit))

    def _run_one(self, c: Case) -> tuple[bool, str]:
        fn = c.fn
        if c.setup:
            c.setup()
        for _ in range(c.warmup):
            fn()
        if c.settle:
            c.settle()
        t0, r0 = measure()
        snap0 = tracemalloc.take_snapshot() if DEBUG else None
        half = c.calls // 2
        start = time.perf_counter()
        for _ in range(half):
            fn()
        if c.settle:
            c.settle()
        t1, r1 = measure()
        for _ in range(c.calls - half):
            fn()
        if c.settle:
            c.settle()
        t2, r2 = measure()
        elapsed = time.perf_counter() - start
        if snap0 is not None and t2 - t0 > c.traced_limit // 4:
            for stat in tracemalloc.take_snapshot().compare_to(snap0, "lineno")[:5]:
                print(f"    {c.label[:30]}: {stat}")
        traced, traced2 = t2 - t0, t2 - t1
        rss, rss2 = r2 - r0, r2 - r1
        bad = []
        if traced > c.traced_limit and traced2 > c.traced_limit // 2:
            bad.append(f"traced memory grew by {traced} B > {c.traced_limit} B")
        if RSS_JUDGED and rss > c.rss_limit and rss2 > c.rss_limit // 2:
            bad.append(f"RSS grew by {rss} B > {c.rss_limit} B")
        line = (
            f"{c.label:<44} calls={c.calls:<7} traced={traced:+9d} B "
            f"({traced / c.calls:+8.2f} B/call; rounds {t1 - t0:+d}/{traced2:+d}) "
            f"rss={rss / 1024:+6.0f} KiB (rounds {(r1 - r0) / 1024:+.0f}/{rss2 / 1024:+.0f}) "
            f"{elapsed:5.2f}s"
        )
        if bad:
            line += "  LEAK: " + "; ".join(bad)
        return not bad, line

    def run(self) -> None:
        """Runs every case and exits: 0 when all stayed within bounds, else 1."""
        failed = 0
        begin = time.perf_counter()
        print(
            f"{self.script}: tracemalloc + RSS, bounds {TRACED_LIMIT} B traced / "
            f"{RSS_LIMIT >> 20} MiB RSS per case"
        )
        for c in self.cases:
            for attempt in (1, 2):
                try:
                    ok, line = self._run_one(c)
                except Exception as exc:  # a crash in a case is a failure, keep the others
                    ok, line = False, f"{c.label:<44} ERROR {type(exc).__name__}: {exc}"
                    print(line, flush=True)
                    break
                if ok or attempt == 2:
                    print(line, flush=True)
                    break
                print(line.replace("LEAK:", "over bound, measuring again:"), flush=True)
            failed += not ok
        total = time.perf_counter() - begin
        print(
            f"{self.script}: {len(self.cases) - failed}/{len(self.cases)} cases within bounds "
            f"in {total:.2f}s"
        )
        if failed:
            print(f"{self.script}: {failed} case(s) leaked", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
