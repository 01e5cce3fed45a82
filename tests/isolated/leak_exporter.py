"""Leak check of Exporter against a real local backend process: spans ended into it on the
native path and through a Python exporter (set_python_exporter), spans ended into a shut
down exporter, export() sync calls, force_flush, flush_all with spans queued, stats and
properties. (Create/destroy cycles and the dead backend: leak_exporter_lifecycle.py.)"""

from __future__ import annotations

from _leakcheck import LeakCheck, NullExporter

from judgeval_fast._native import Exporter, Span, flush_all
from judgeval_fast.backend import start_backend_process, stop_backend_process

check = LeakCheck(__file__)


class FailingExporter:
    """Raises: every span is retried python_max_attempts times, then counted failed."""

    def export(self, spans: list[Span]) -> int:
        raise ConnectionError("python exporter down")


class Result:
    value = 1  # SpanExportResult.FAILURE-like


class RefusingExporter:
    """Returns FAILURE in the other two forms: False, and an object whose .value is 1."""

    def __init__(self) -> None:
        self.n = 0

    def export(self, spans: list[Span]) -> object:
        self.n += 1
        return False if self.n % 2 else Result()


class CyclicExporter:
    """Holds its own native Exporter: a cycle only the GC (Exporter's traverse) can free."""

    def __init__(self, endpoint: str) -> None:
        self.exporter = Exporter(endpoint)
        self.exporter.set_python_exporter(self)

    def export(self, spans: list[Span]) -> int:
        return 0


ATTRS = {"service": "leaks", "n": 1, "ratio": 0.5, "ok": True, "tags": ("a", "b")}
BIG = {"text": "x" * 1000}  # encodes to more than no_room's max_queue_bytes


def main() -> None:
    proc, url = start_backend_process(db=":memory:")
    try:
        run(url + "/otel/v1/traces")
    finally:
        stop_backend_process(proc)


def run(endpoint: str) -> None:
    opts = {
        "resource": {"service.name": "leak-tests", "host": "localhost", "pid": 1},
        "schedule_delay": 0.02,
        "max_batch_size": 256,
        "max_batch_bytes": 256 << 10,
        "retry_deadline": 5.0,
    }
    native = Exporter(endpoint, {"X-Project-Id": "leaks", "Authorization": "Bearer k"}, **opts)
    python = Exporter(endpoint, **opts)
    python.set_python_exporter(NullExporter())
    # two tries, almost no back-off: a failing Python exporter gives up at once
    fast_fail = {
        **opts,
        "python_max_attempts": 2,
        "python_retry_initial": 0.0001,
        "python_retry_max": 0.0001,
    }
    failing = Exporter(endpoint, **fast_fail)
    failing.set_python_exporter(FailingExporter())
    refusing = Exporter(endpoint, **fast_fail)
    refusing.set_python_exporter(RefusingExporter())
    tiny_py = Exporter(endpoint, max_queue_size=4, max_batch_size=4, schedule_delay=30.0)
    tiny_py.set_python_exporter(NullExporter())  # the thread waits: pushes drop the oldest
    no_room = Exporter(endpoint, max_queue_bytes=512, max_batch_bytes=512)
    no_room_py = Exporter(endpoint, max_queue_bytes=512, max_batch_bytes=512)
    no_room_py.set_python_exporter(NullExporter())
    detach = Exporter(endpoint, **{**opts, "schedule_delay": 30.0})
    closed = Exporter(endpoint, **opts)
    closed.shutdown(1.0)
    closed_py = Exporter(endpoint, **opts)
    closed_py.set_python_exporter(NullExporter())
    closed_py.shutdown(1.0)

    def flushed(e: Exporter):
        def settle() -> None:
            assert e.force_flush(20.0), e.stats()
            assert e.stats()["queue_size"] == 0

        return settle

    def end_native() -> None:
        s = Span("native", exporter=native, attributes=ATTRS)
        s.add_event("e", {"k": "v"})
        s.end()

    def end_python() -> None:
        Span("python", exporter=python, attributes=ATTRS).end()

    def end_failing() -> None:
        Span("failing", exporter=failing).end()

    def end_refusing() -> None:
        Span("refusing", exporter=refusing).end()

    def end_drop_oldest_py() -> None:
        Span("tiny", exporter=tiny_py, attributes=ATTRS).end()  # object records dropped

    def end_oversize() -> None:
        Span("no room", exporter=no_room, attributes=BIG).end()
        Span("no room py", exporter=no_room_py).end()

    def end_then_detach() -> None:
        detach.set_python_exporter(NullExporter())
        for _ in range(3):
            Span("detached", exporter=detach).end()  # queued as objects...
        detach.set_python_exporter(None)  # ...then encoded and sent natively by the thread

    def cyclic() -> None:
        CyclicExporter(endpoint)  # garbage at once: freed by gc.collect() in measure()

    def end_closed() -> None:
        Span("closed", exporter=closed, attributes=ATTRS).end()
        Span("closed-py", exporter=closed_py).end()

    spans = [Span(f"sync{i}", attributes=ATTRS) for i in range(5)]
    for s in spans:
        s.end()

    def export_sync() -> None:
        assert native.export(spans) == 0
        native.export([spans[0]], timeout=5.0)
        native.export([])
        native.export([spans[0], "not a span"])  # FAILURE (1), the span is still sent

    def flush_idle() -> None:
        native.force_flush()
        native.force_flush(0.5)
        native.force_flush(timeout=None)

    def flush_all_queued() -> None:
        Span("queued", exporter=native).end()
        flush_all(10.0)

    def introspection() -> None:
        native.stats()
        python.stats()
        native.endpoint  # noqa: B018
        native.python_exporter  # noqa: B018
        python.python_exporter  # noqa: B018
        native.is_shutdown  # noqa: B018
        closed.is_shutdown  # noqa: B018
        closed.shutdown()  # already shut down: True at once

    def swap_python_exporter() -> None:
        python.set_python_exporter(None)
        python.set_python_exporter(NullExporter())

    def errors() -> None:
        for call in (
            lambda: native.export(5),
            lambda: native.export([], timeout="x"),
            lambda: native.force_flush("x"),
            lambda: native.force_flush(float("nan")),
            lambda: native.shutdown(timeout="x"),
            lambda: Exporter.__new__(Exporter).stats(),
            lambda: Exporter.__new__(Exporter).endpoint,
        ):
            try:
                call()
            except (TypeError, ValueError, RuntimeError):
                pass

    check.case(
        "Span.end() into an Exporter (native path)", end_native, 20_000, settle=flushed(native)
    )
    check.case("Span.end() via set_python_exporter", end_python, 8_000, settle=flushed(python))
    check.case(
        "Span.end() via a raising Python exporter", end_failing, 1_000, settle=flushed(failing)
    )
    check.case(
        "Span.end() via a Python exporter returning FAILURE",
        end_refusing,
        1_000,
        settle=flushed(refusing),
    )
    check.case("Span.end() Python path, queue full (drop-oldest)", end_drop_oldest_py, 40_000)
    check.case("Span.end() records larger than the queue", end_oversize, 40_000)
    check.case(
        "Python exporter detached with objects queued",
        end_then_detach,
        3_000,
        settle=flushed(detach),
    )
    check.case("Exporter <-> Python exporter cycle (GC)", cyclic, 3_000)
    check.case("Span.end() into shut-down exporters", end_closed, 40_000)
    check.case("Exporter.export() (sync POST)", export_sync, 1_500)
    check.case("Exporter.force_flush() idle", flush_idle, 20_000)
    check.case("flush_all() with a span queued", flush_all_queued, 1_500)
    check.case("Exporter stats / properties", introspection, 20_000)
    check.case("Exporter.set_python_exporter swap", swap_python_exporter, 40_000)
    held = Exporter(endpoint, {"X-Project-Id": "p"}, schedule_delay=0.01, paused=True)

    def headers_and_pause() -> None:
        held.set_headers({"X-Project-Id": "q", "Authorization": "Bearer k"})
        held.pause()
        Span("held", exporter=held).end()
        held.resume()
        held.paused  # noqa: B018

    check.case(
        "Exporter.set_headers / pause / resume", headers_and_pause, 5_000, settle=flushed(held)
    )
    check.case("Exporter argument errors", errors, 10_000)
    try:
        check.run()
    finally:
        st = native.stats()
        print(
            f"native: exported={st['exported']} failed={st['failed']} requests={st['requests']} "
            f"last_error={st['last_error']!r}"
        )
        st = python.stats()
        print(
            f"python: exported={st['exported']} python_export_calls={st['python_export_calls']} "
            f"gil_acquisitions={st['gil_acquisitions']}"
        )
        st = failing.stats()
        print(
            f"failing: failed={st['failed']} python_export_failures={st['python_export_failures']}"
        )
        print(f"closed: rejected_after_shutdown={closed.stats()['rejected_after_shutdown']}")
        st = tiny_py.stats()
        print(
            f"tiny_py: dropped_queue_full={st['dropped_queue_full']} queue_size={st['queue_size']}"
        )
        print(
            f"no_room: dropped_oversize={no_room.stats()['dropped_oversize']} "
            f"py={no_room_py.stats()['dropped_oversize']}"
        )
        st = detach.stats()
        print(f"detach: exported={st['exported']} python_export_calls={st['python_export_calls']}")


if __name__ == "__main__":
    main()
