"""Leak check of the module functions: configure (read, set, errors), span_counters,
runtime_info and flush_all (with no, and with live, exporters and workers)."""

from __future__ import annotations

from _leakcheck import LeakCheck

from judgeval_fast import _native
from judgeval_fast._native import (
    Exporter,
    Worker,
    configure,
    flush_all,
    runtime_info,
    span_counters,
)

check = LeakCheck(__file__)
BASE = configure()


def configure_calls() -> None:
    configure()
    configure(
        max_attribute_bytes=BASE["max_attribute_bytes"], max_attributes=BASE["max_attributes"]
    )
    configure(max_events=BASE["max_events"], exit_timeout=BASE["exit_timeout"])
    configure(max_attribute_bytes=None, exit_timeout=None)


def configure_errors() -> None:
    for kwargs in (
        {"max_attribute_bytes": 0},
        {"max_attributes": -1},
        {"max_events": "x"},
        {"exit_timeout": -1.0},
        {"exit_timeout": "x"},
    ):
        try:
            configure(**kwargs)
        except (TypeError, ValueError):
            pass
    try:
        configure(1)
    except TypeError:
        pass


def counters_info() -> None:
    span_counters()
    runtime_info()


def flush_all_empty() -> None:
    flush_all()
    flush_all(0.01)
    flush_all(timeout=0)


live: list[object] = []  # idle exporters (never sent anything) and workers


def flush_all_live() -> None:
    flush_all(1.0)


check.case("configure() read / set", configure_calls, 40_000)
check.case("configure() errors", configure_errors, 15_000)
check.case("span_counters() / runtime_info()", counters_info, 60_000)
check.case("flush_all() with nothing registered", flush_all_empty, 30_000)

if __name__ == "__main__":
    # flush_all over live (idle) exporters and workers: the snapshot walks and refcounts them
    live.extend(Exporter(f"http://127.0.0.1:9/v{i}", schedule_delay=0.01) for i in range(4))
    live.extend(Worker(10) for _ in range(2))
    assert runtime_info()["exporters"] >= 4 and runtime_info()["workers"] >= 2
    check.case("flush_all() over 4 exporters + 2 workers", flush_all_live, 30_000)
    assert _native.span_counters()["spans_started"] == 0
    check.run()
