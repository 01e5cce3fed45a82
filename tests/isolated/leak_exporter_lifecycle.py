"""Leak check of Exporter lifetimes against a real backend: create/destroy cycles (idle; with
a thread that sent on the native and on the Python path; destroyed with spans still
queued; shut down) and the __init__ error paths. After every round of cycles the runtime's
list of exporters and the native threads must be back to where they were: the threads
exit and their memory returns. (The dead backend: leak_exporter_dead.py.)"""

from __future__ import annotations

from _leakcheck import (
    LeakCheck,
    NullExporter,
    native_threads,
    runtime_counts,
    wait_runtime_back,
    wait_until,
)

from judgeval_fast._native import Exporter, Span
from judgeval_fast.backend import start_backend_process, stop_backend_process

check = LeakCheck(__file__)


class DownExporter:
    def export(self, spans: list[Span]) -> int:
        raise ConnectionError("down")


SMALL = {"schedule_delay": 0.0, "max_batch_bytes": 64 << 10, "retry_deadline": 2.0}
RESOURCE = {"service.name": "leak-tests", "n": 1, "t": ("a", 1)}


def main() -> None:
    proc, url = start_backend_process(db=":memory:")
    try:
        run(url + "/otel/v1/traces")
    finally:
        stop_backend_process(proc)


def run(endpoint: str) -> None:
    base: list[int] = []  # taken just before the cases run, once the long-lived exporters exist

    def back() -> None:
        wait_runtime_back(*base)

    def idle_cycle() -> None:
        e = Exporter(endpoint, {"X-A": "b"}, resource=RESOURCE, scope_name="s", scope_version="1")
        e.stats()
        del e

    def send_cycle() -> None:
        e = Exporter(endpoint, resource=RESOURCE, **SMALL)
        Span("cycle", exporter=e, attributes={"a": 1}).end()
        assert e.force_flush(10.0)
        del e  # the thread sees the stopped queue and exits, freeing its buffers

    def python_cycle() -> None:
        e = Exporter(endpoint, **SMALL)
        e.set_python_exporter(NullExporter())
        Span("cycle-py", exporter=e).end()
        assert e.force_flush(10.0)
        del e  # the thread also deletes the Python thread state it made

    def destroy_queued_cycle() -> None:
        e = Exporter(endpoint, schedule_delay=5.0)
        for _ in range(5):
            Span("queued", exporter=e).end()
        del e  # dealloc stops the queue; the thread still sends them, then exits

    def destroy_queued_python_cycle() -> None:
        e = Exporter(endpoint, schedule_delay=5.0)
        e.set_python_exporter(NullExporter())
        for _ in range(5):
            Span("queued-py", exporter=e).end()
        del e  # the queued span objects are released by dealloc (dropped_shutdown)

    def span_outlives_exporter() -> None:
        e = Exporter(endpoint, **SMALL)
        s = Span("orphan", exporter=e)
        del e  # the span keeps the native exporter alive...
        s.end()  # ...and ends into a stopped queue (refused, freed)
        del s  # the last reference: the exporter is freed

    def abort_python_retry_cycle() -> None:
        e = Exporter(endpoint, schedule_delay=0.0, python_retry_initial=5.0, python_retry_max=5.0)
        e.set_python_exporter(DownExporter())
        Span("retried", exporter=e).end()
        wait_until(
            lambda: e.stats()["python_export_failures"] >= 1,
            5.0,
            lambda: f"a failed export: {e.stats()}",
        )
        e.shutdown(0.0)  # the back-off sleep is aborted: the span is dropped and released

    def shutdown_cycle() -> None:
        e = Exporter(endpoint, **SMALL)
        Span("shutdown", exporter=e).end()
        assert e.shutdown(10.0)
        Span("after", exporter=e).end()  # rejected_after_shutdown
        del e

    def init_errors() -> None:
        for args, kwargs in (
            (("ftp://x/",), {}),
            (("not a url",), {}),
            (("http://h/\x00",), {}),
            ((endpoint, {"Bad:Name": "v"}), {}),
            ((endpoint, {"X": "a\r\nInjected: 1"}), {}),
            ((endpoint, {"X": 1}), {}),
            ((endpoint, [("X", "y", "z")]), {}),
            ((endpoint,), {"resource": 5}),
            ((endpoint,), {"max_queue_size": 0}),
            ((endpoint,), {"max_batch_size": 10, "max_queue_size": 5}),
            ((endpoint,), {"gzip_level": 10}),
            ((endpoint,), {"request_timeout": 0.0}),
            ((endpoint,), {"python_max_attempts": 0}),
            ((endpoint,), {"scope_name": 5}),
            ((5,), {}),
        ):
            try:
                Exporter(*args, **kwargs)
            except (TypeError, ValueError, AttributeError):  # headers=[...]: AttributeError
                pass
        e = Exporter(endpoint)
        try:
            e.__init__(endpoint)
        except RuntimeError:
            pass

    check.case("Exporter() + del (idle, no thread)", idle_cycle, 20_000)
    check.case("Exporter create/send/destroy (native)", send_cycle, 600, warmup=50, settle=back)
    check.case("Exporter create/send/destroy (python)", python_cycle, 600, warmup=50, settle=back)
    check.case(
        "Exporter destroyed with spans queued", destroy_queued_cycle, 300, warmup=30, settle=back
    )
    check.case(
        "Exporter destroyed with span objects queued",
        destroy_queued_python_cycle,
        600,
        warmup=50,
        settle=back,
    )
    check.case("Span outlives its Exporter object", span_outlives_exporter, 2_000, settle=back)
    check.case("Exporter shutdown() cycle", shutdown_cycle, 600, warmup=50, settle=back)
    check.case(
        "Exporter shutdown() aborts a Python retry",
        abort_python_retry_cycle,
        200,
        warmup=20,
        settle=back,
    )
    check.case("Exporter.__init__ error paths", init_errors, 5_000)
    base.extend((*runtime_counts(), native_threads()))
    check.run()


if __name__ == "__main__":
    main()
