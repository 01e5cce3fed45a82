"""The program `callgrind_ratio.py` runs under valgrind: N calls of one decorated function.

Usage: ``python benchmarks/callgrind_workload.py {observe|plain} N`` with
``JUDGMENT_API_URL`` pointing at a running local backend (the driver starts one, outside
valgrind, and sets ``JUDGMENT_API_KEY`` / ``JUDGMENT_ORG_ID``) and ``JF_CALLGRIND_CTL``
naming the compiled ``callgrind_ctl.c`` (without it the client requests are no-ops, which
is how the driver's quick native check runs this file).

After imports, tracer set-up and WARMUP calls (none of it instrumented), two regions are
counted, each dumped as its own callgrind part: ``<case>-fixed`` with 0 calls and
``<case>-calls`` with N calls, identical apart from the trip count. The driver takes
``(calls - fixed) / N``, so what a region costs besides the calls (the ctypes requests,
the gc.collect) cancels and the figure is the steady-state cost of one call plus one loop
iteration, the same loop in both cases.

Both cases build the same ``Tracer`` (so the exporter thread exists in both), decorate
the same function and call it with the same arguments.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from judgeval_fast.tracer import Tracer

F = TypeVar("F", bound=Callable[..., Any])

# Enough for every one-time cost to be paid before counting: lazy imports and caches in
# the first call, the exporter thread's start, the queue's and allocator's first growth.
WARMUP = 1_000
# A known project id: without one the tracer resolves it on the control worker thread
# (Python, httpx, under the GIL), which would put a second Python thread next to the loop.
PROJECT_ID = "callgrind-project"


class Callgrind:
    """The client requests of callgrind_ctl.c, or no-ops when it is not given."""

    def __init__(self, path: str | None) -> None:
        self.lib = ctypes.CDLL(path) if path else None
        if self.lib is not None:
            self.lib.jf_cg_dump.argtypes = [ctypes.c_char_p]

    def running(self) -> bool:
        return self.lib is not None and bool(self.lib.jf_cg_running())

    def start(self) -> None:
        if self.lib is not None:
            self.lib.jf_cg_start()

    def zero(self) -> None:
        if self.lib is not None:
            self.lib.jf_cg_zero()

    def dump(self, name: str) -> None:
        if self.lib is not None:
            self.lib.jf_cg_dump(name.encode())


def plain(func: F) -> F:
    """The baseline: the usual pass-through decorator (functools.wraps, *args/**kwargs)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def main(argv: list[str]) -> int:
    case, n = argv[0], int(argv[1])
    cg = Callgrind(os.environ.get("JF_CALLGRIND_CTL"))
    tracer = Tracer(project_name="callgrind", project_id=PROJECT_ID)
    decorate: Callable[[F], F]
    if case == "observe":
        # Input and output capture are the defaults; spelt out because they are the point.
        decorate = tracer.observe(span_type="tool", record_input=True, record_output=True)
    elif case == "plain":
        decorate = plain
    else:
        raise SystemExit(f"unknown case {case!r} (observe|plain)")

    @decorate
    def lookup(query: str, k: int) -> dict[str, Any]:
        return {"query": query, "k": k, "hits": k * 2}

    # Fixed arguments: the serialised input and output have the same length on every call,
    # so a call costs the same whatever N is.
    call = lookup
    for _ in range(WARMUP):
        call("weather in Paris", 3)

    cg.start()
    for label, count in (("fixed", 0), ("calls", n)):
        # The collector is off inside the loop, so whether a generation-0 collection falls
        # inside a region does not depend on where the region starts. The full collect()
        # at the end of each region still charges the calls with any cyclic garbage they
        # left (a leak of cycles shows); its cost over the rest of the heap cancels.
        gc.collect()
        gc.disable()
        cg.zero()
        for _ in range(count):
            call("weather in Paris", 3)
        gc.enable()
        gc.collect()
        cg.dump(f"{case}-{label}")

    flushed = tracer.force_flush(30_000)
    # One line for the driver's sanity checks: an @observe that silently stopped tracing
    # would make the ratio look good.
    health = tracer.get_health_metrics()
    code = getattr(lookup, "__code__", None)
    print(
        json.dumps(
            {
                "case": case,
                "n": n,
                "warmup": WARMUP,
                "under_valgrind": cg.running(),
                "flushed": flushed,
                "spans_exported": health["spans_exported"],
                "spans_dropped": health["spans_dropped"],
                "sdk_errors_isolated": health["sdk_errors_isolated"],
                # What the decorator returned: a Python function (and where it is defined)
                # or a C callable's type. The ceiling file records it next to the figure.
                "wrapper": type(lookup).__module__ + "." + type(lookup).__qualname__,
                "wrapper_file": code.co_filename if code is not None else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
