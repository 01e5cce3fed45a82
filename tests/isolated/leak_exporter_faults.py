"""Leak check of the Exporter's response handling against a real backend with injected
faults: partial_success (rejected spans parsed from the body), 413 (the batch is halved
down to single spans), 400 (rejected), 503 with Retry-After (retried), connection resets
(transport retry), on export() sync calls and on the exporter thread; plus gzip off."""

from __future__ import annotations

from _leakcheck import LeakCheck

from judgeval_fast._native import Exporter, Span
from judgeval_fast.backend import BackendClient, start_backend_process, stop_backend_process

check = LeakCheck(__file__)


def main() -> None:
    proc, url = start_backend_process(db=":memory:")
    try:
        run(url, BackendClient(url))
    finally:
        stop_backend_process(proc)


def run(url: str, admin: BackendClient) -> None:
    endpoint = url + "/otel/v1/traces"
    opts = {
        "retry_initial": 0.001,
        "retry_max": 0.002,
        "retry_deadline": 2.0,
        "schedule_delay": 0.0,
        "max_batch_bytes": 64 << 10,
    }
    sync = Exporter(endpoint, **opts)
    plain = Exporter(endpoint, gzip_level=-1, **opts)
    level0 = Exporter(endpoint, gzip_level=0, **opts)
    queued = Exporter(endpoint, **opts)
    spans = [Span(f"f{i}", attributes={"i": i, "s": "x" * 64}) for i in range(4)]
    for s in spans:
        s.end()

    def faults(**kw):
        def arm() -> None:
            admin.clear_faults()
            if kw:
                admin.set_faults(paths=["/otel/v1/traces"], **kw)

        return arm

    def export_ok() -> None:
        assert sync.export(spans) == 0

    def export_plain() -> None:
        assert plain.export(spans) == 0
        assert level0.export(spans) == 0

    def export_partial() -> None:
        sync.export(spans)  # 2xx with partial_success.rejected_spans: parsed and counted

    def export_413() -> None:
        assert sync.export(spans) == 1  # 4 -> 2+2 -> 1+1+1+1, each single span rejected

    def export_400() -> None:
        assert sync.export(spans, timeout=1.0) == 1

    def export_retry_after() -> None:
        assert sync.export(spans, timeout=5.0) == 0  # 503 + Retry-After: 0 until a 200

    def export_reset() -> None:
        sync.export(spans, timeout=5.0)  # reset by peer: transport retries until a 200

    def thread_413() -> None:
        for s in ("a", "b", "c"):
            Span(s, exporter=queued).end()

    def flushed() -> None:
        assert queued.force_flush(20.0), queued.stats()

    check.case("export() 200", export_ok, 1_500, setup=faults())
    check.case("export() gzip off / level 0", export_plain, 1_000, setup=faults())
    check.case("export() partial_success", export_partial, 1_500, setup=faults(partial_reject=2))
    check.case("export() 413: batch halved", export_413, 400, setup=faults(status=413))
    check.case("export() 400: rejected", export_400, 1_500, setup=faults(status=400))
    # half of the requests faulted: the retry loops run a couple of times per call
    check.case(
        "export() 503 + Retry-After",
        export_retry_after,
        1_000,
        setup=faults(status=503, retry_after="0", error_rate=0.5),
    )
    check.case(
        "export() connection reset", export_reset, 600, setup=faults(reset=True, error_rate=0.5)
    )
    check.case(
        "exporter thread 413 split", thread_413, 1_000, setup=faults(status=413), settle=flushed
    )
    try:
        check.run()
    finally:
        admin.clear_faults()
        for name, e in (("sync", sync), ("queued", queued)):
            st = e.stats()
            print(
                f"{name}: requests={st['requests']} request_errors={st['request_errors']} "
                f"rejected={st['rejected']} partially_rejected={st['partially_rejected']} "
                f"retries={st['retries']} last_status={st['last_status']} "
                f"last_retry_after={st['last_retry_after']} last_error={st['last_error']!r}"
            )


if __name__ == "__main__":
    main()
