"""fork(): the child gets an empty, unlocked runtime, fresh ids and threads on demand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from judgeval_fast.backend import BackendProcess as Backend

pytestmark = pytest.mark.native

PROGRAM = Path(__file__).parent / "programs" / "fork_export.py"


def test_fifty_forks_export_from_both_sides_without_deadlock(backend: Backend) -> None:
    forks, each = 50, 20
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), backend.traces_url, str(forks), str(each)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("child ") and line.endswith(" True") for line in lines) == forks
    assert lines[-1].startswith("parent ") and lines[-1].endswith(" True")

    spans = backend.client.wait_for_spans(each * (2 + 2 * forks), timeout=20, limit=100_000)
    names = [s["name"] for s in spans]
    expected = {f"parent-before-{i}" for i in range(each)} | {
        f"parent-inflight-{i}" for i in range(each)
    }
    for n in range(forks):
        expected |= {f"child{n}-{i}" for i in range(each)} | {
            f"parent-after{n}-{i}" for i in range(each)
        }
    # Nothing lost and nothing sent twice (a child must not resend the parent's queue).
    assert sorted(names) == sorted(expected)
    span_ids = [s["span_id"] for s in spans]
    trace_ids = [s["trace_id"] for s in spans]
    assert len(set(span_ids)) == len(span_ids), "duplicate span ids across processes"
    assert len(set(trace_ids)) == len(trace_ids), "duplicate trace ids across processes"


def test_child_ids_differ_from_parent_ids_after_fork() -> None:
    code = (
        "import os, sys\n"
        "from judgeval_fast import _native\n"
        "_native.Span('warm')\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "ids = [_native.Span('x').get_span_context().span_id for _ in range(100)]\n"
        "if pid == 0:\n"
        "    os.write(w, repr(ids).encode()); os._exit(0)\n"
        "os.close(w); child = eval(os.read(r, 1 << 20)); os.waitpid(pid, 0)\n"
        "print(len(set(ids) & set(child)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_runtime_counts_fork_generations() -> None:
    code = (
        "import os\n"
        "from judgeval_fast import _native\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if _native.runtime_info()['fork_generation'] == 1 else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert os.waitstatus_to_exitcode(status) == 0\n"
        "assert _native.runtime_info()['fork_generation'] == 0\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_fork_with_tracemalloc_tracing_does_not_deadlock(backend: Backend) -> None:
    """While tracemalloc traces, allocating takes the GIL: the exporter must never allocate
    inside the work gate that fork() waits for (with the GIL held)."""
    code = (
        "import os, sys, time, tracemalloc\n"
        "from judgeval_fast import _native\n"
        f"url = {backend.traces_url!r}\n"
        "tracemalloc.start()\n"
        "sys.setswitchinterval(0.5)\n"
        "for round in range(5):\n"
        "    e = _native.Exporter(url, schedule_delay=0.0)\n"
        "    _native.Span('x', exporter=e).end()\n"
        "    t0 = time.monotonic()\n"
        "    while time.monotonic() - t0 < 0.05: pass\n"
        "    pid = os.fork()\n"
        "    if pid == 0: os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
