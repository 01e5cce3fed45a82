"""Leak check of Exporter with a dead backend (an unused loopback port: every connect is
refused): spans queued past the bound (drop-oldest) and failed after retries, exporter
cycles whose shutdown() deadline aborts the retrying thread, and export() sync calls."""

from __future__ import annotations

import socket

from _leakcheck import LeakCheck, native_threads, runtime_counts, wait_runtime_back

from judgeval_fast._native import Exporter, Span

check = LeakCheck(__file__)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEAD = f"http://127.0.0.1:{unused_port()}/v1/traces"


def main() -> None:
    base: list[int] = []

    def back() -> None:
        wait_runtime_back(*base)

    def dead_cycle() -> None:
        e = Exporter(
            DEAD,
            retry_initial=0.01,
            retry_max=0.02,
            retry_deadline=5.0,
            connect_timeout=0.5,
            schedule_delay=0.0,
        )
        for _ in range(3):
            Span("dead", exporter=e).end()
        e.shutdown(0.0)  # refused and retrying: the deadline aborts the thread, drops the rest
        Span("after", exporter=e).end()
        del e

    def dead_dealloc_cycle() -> None:
        e = Exporter(
            DEAD, retry_initial=0.001, retry_max=0.002, retry_deadline=0.01, schedule_delay=0.0
        )
        Span("dead", exporter=e).end()
        del e  # no shutdown: the thread gives up after retry_deadline, then exits

    dead_exporter = Exporter(
        DEAD,
        max_queue_size=512,
        max_batch_size=64,
        schedule_delay=0.0,
        retry_initial=0.005,
        retry_max=0.01,
        retry_deadline=0.05,
    )

    def dead_queue() -> None:
        Span("dead-queued", exporter=dead_exporter, attributes={"a": "b" * 100}).end()

    def dead_settle() -> None:
        assert dead_exporter.force_flush(20.0), dead_exporter.stats()

    sync_dead = Exporter(DEAD, retry_initial=50.0, connect_timeout=0.5)
    sync_spans = [Span("sync-dead")]

    def dead_export_sync() -> None:
        # refused; the first back-off already passes the timeout: FAILURE after one attempt
        assert sync_dead.export(sync_spans, timeout=0.05) == 1

    check.case(
        "Exporter to a dead backend: shutdown aborts", dead_cycle, 1_000, warmup=50, settle=back
    )
    check.case(
        "Exporter to a dead backend: dealloc", dead_dealloc_cycle, 600, warmup=50, settle=back
    )
    check.case(
        "Span.end() into a dead backend (drop-oldest)", dead_queue, 20_000, settle=dead_settle
    )
    check.case("Exporter.export() to a dead backend", dead_export_sync, 4_000)
    base.extend((*runtime_counts(), native_threads()))
    try:
        check.run()
    finally:
        st = dead_exporter.stats()
        print(
            f"dead: failed={st['failed']} dropped_queue_full={st['dropped_queue_full']} "
            f"retries={st['retries']} last_error={st['last_error']!r}"
        )


if __name__ == "__main__":
    main()
