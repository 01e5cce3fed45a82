"""Interpreter exit: one bounded flush, then everything stops, whatever the backend does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judgeval_fast.backend import BackendProcess as Backend

pytestmark = pytest.mark.native

PROGRAM = Path(__file__).parent / "programs" / "exit_flush.py"

# Interpreter teardown after the flush window, and the sanitizer build's slower exit.
SLACK = 3.0 if os.environ.get("JF_SANITIZED") else 1.5


def run_until_exit(url: str, n: int, *extra: str, exit_timeout: float | None = None) -> float:
    """Seconds from 'queued' (all spans enqueued) to process exit."""
    env = dict(os.environ)
    if exit_timeout is not None:
        env["JUDGEVAL_FAST_EXIT_TIMEOUT"] = str(exit_timeout)
    proc = subprocess.Popen(
        [sys.executable, str(PROGRAM), url, str(n), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "queued", line + (proc.stderr.read() if proc.stderr else "")
    t0 = time.monotonic()
    proc.wait(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return elapsed


def test_black_hole_with_100k_queued_spans_exits_within_the_bound(backend: Backend) -> None:
    backend.client.set_faults(blackhole=True)
    elapsed = run_until_exit(backend.traces_url, 100_000, exit_timeout=1.5)
    assert 1.0 <= elapsed < 1.5 + SLACK, elapsed


def test_default_exit_bound_is_five_seconds(backend: Backend) -> None:
    backend.client.set_faults(blackhole=True)
    elapsed = run_until_exit(backend.traces_url, 10_000)
    assert 4.5 <= elapsed < 5.0 + SLACK, elapsed


def test_dead_port_exits_within_the_bound() -> None:
    elapsed = run_until_exit("http://127.0.0.1:9/otel/v1/traces", 1000, exit_timeout=1.0)
    assert elapsed < 1.0 + SLACK, elapsed


def test_a_long_api_call_cannot_hold_exit(backend: Backend) -> None:
    elapsed = run_until_exit(backend.traces_url, 10, "30", exit_timeout=1.0)
    assert elapsed < 1.0 + SLACK, elapsed


def test_healthy_backend_receives_everything_at_exit(backend: Backend) -> None:
    run_until_exit(backend.traces_url, 20_000, exit_timeout=10)
    assert backend.stats()["spans"] == 20_000
