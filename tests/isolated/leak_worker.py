"""Leak check of Worker: submit of succeeding and raising callables (a classifier that gives
up with None, and one that retries), drop-oldest when full, cancel, flush, shutdown,
stats, argument errors, and create/destroy cycles whose threads must exit."""

from __future__ import annotations

import threading

from _leakcheck import LeakCheck, native_threads, runtime_counts, wait_runtime_back, wait_until

from judgeval_fast._native import Worker

check = LeakCheck(__file__)


def give_up(exc: BaseException, attempt: int) -> float | None:
    return None


def retry_once(exc: BaseException, attempt: int) -> float | None:
    return 0.0001 if attempt < 2 else None


def bad_classifier(exc: BaseException, attempt: int) -> float | None:
    raise RuntimeError("classifier broke")  # counted as give-up


PAYLOAD = {"k": list(range(10))}


def ok() -> dict:
    return PAYLOAD


def _inner() -> None:
    raise ConnectionError("backend down \u00e9")


def fails() -> None:
    _inner()  # a real traceback, released by the worker thread


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def fails_unprintable() -> None:
    raise Unprintable


def main() -> None:
    base: list[int] = []
    worker = Worker(100_000, classifier=give_up)
    retrying = Worker(
        100_000, max_attempts=2, retry_initial=0.0001, retry_max=0.0001, classifier=retry_once
    )
    broken = Worker(100_000, classifier=bad_classifier)
    full = Worker(4, classifier=give_up)
    gate = threading.Event()
    full.submit(gate.wait)  # blocks full's thread: its queue stays full, pushes drop the oldest
    closed = Worker(10)
    closed.shutdown(1.0)

    def flushed(w: Worker):
        def settle() -> None:
            assert w.flush(30.0), w.stats()
            assert w.stats()["pending"] == 0

        return settle

    def back() -> None:
        wait_runtime_back(*base)

    def submit_ok() -> None:
        worker.submit(ok)
        worker.submit(ok, 7)

    def submit_raising() -> None:
        worker.submit(fails)
        worker.submit(fails_unprintable)

    def submit_retrying() -> None:
        retrying.submit(fails)

    def submit_broken_classifier() -> None:
        broken.submit(fails)

    def drop_oldest() -> None:
        full.submit(ok)  # returns 1 once full: the oldest pending call is released

    def cancel() -> None:
        full.cancel(0)  # pending calls of owner 0 (not the running gate)
        for _ in range(3):
            full.submit(ok, 42)
        full.cancel(42)
        full.cancel(2**63)

    def flush_stats() -> None:
        worker.flush()
        worker.flush(0.1)
        worker.flush(timeout=None)
        worker.stats()
        full.stats()
        worker.is_shutdown  # noqa: B018

    def after_shutdown() -> None:
        closed.submit(ok)  # -1: refused, the callable is released
        closed.shutdown()
        closed.flush(0)
        closed.cancel(1)

    def create_destroy() -> None:
        w = Worker(10, classifier=give_up)
        w.submit(ok)
        w.submit(fails)
        assert w.flush(10.0)
        del w  # the thread sees the stopped queue and exits

    def create_destroy_pending() -> None:
        w = Worker(10, classifier=give_up)
        for _ in range(5):
            w.submit(ok)
        del w  # pending calls are cancelled (released) at once; the thread exits

    def abort_retrying() -> None:
        w = Worker(
            10,
            max_attempts=5,
            retry_initial=5.0,
            retry_max=5.0,
            classifier=lambda exc, attempt: 5.0,
        )
        w.submit(fails)
        wait_until(lambda: w.stats()["retried"] >= 1, 5.0, lambda: f"a retry: {w.stats()}")
        w.shutdown(0.0)  # the 5 s back-off sleep is aborted: the call is dropped, released

    def create_shutdown() -> None:
        w = Worker(10)
        w.submit(ok)
        assert w.shutdown(10.0)
        del w

    class Classifier:
        def __call__(self, exc: BaseException, attempt: int) -> float | None:
            return None

    def gc_cycle() -> None:
        c = Classifier()
        c.worker = Worker(10, classifier=c)  # Worker -> classifier -> Worker: GC frees it

    def idle_cycle() -> None:
        Worker(
            10,
            max_attempts=3,
            retry_initial=0.1,
            retry_max=1.0,
            retry_deadline=2.0,
            classifier=give_up,
        )

    def errors() -> None:
        for call in (
            lambda: worker.submit(5),
            lambda: worker.submit(ok, -1),
            lambda: worker.cancel("x"),
            lambda: worker.flush("x"),
            lambda: worker.flush(float("nan")),
            lambda: Worker(0),
            lambda: Worker(10, max_attempts=0),
            lambda: Worker(10, retry_initial=0.0),
            lambda: Worker(10, classifier=5),
            lambda: worker.__init__(),
            lambda: Worker.__new__(Worker).stats(),
        ):
            try:
                call()
            except (TypeError, ValueError, OverflowError, RuntimeError):
                pass

    check.case("Worker.submit (succeeding)", submit_ok, 20_000, settle=flushed(worker))
    check.case(
        "Worker.submit (raising, classifier None)", submit_raising, 8_000, settle=flushed(worker)
    )
    check.case(
        "Worker.submit (retried, then failed)", submit_retrying, 4_000, settle=flushed(retrying)
    )
    check.case(
        "Worker.submit (classifier raises)", submit_broken_classifier, 5_000, settle=flushed(broken)
    )
    check.case("Worker.submit drop-oldest when full", drop_oldest, 60_000)
    check.case("Worker.cancel", cancel, 30_000)
    check.case("Worker.flush / stats idle", flush_stats, 10_000)
    check.case("Worker after shutdown", after_shutdown, 40_000)
    check.case("Worker create/submit/flush/destroy", create_destroy, 600, warmup=50, settle=back)
    check.case(
        "Worker destroyed with calls pending", create_destroy_pending, 800, warmup=50, settle=back
    )
    check.case("Worker shutdown() cycle", create_shutdown, 600, warmup=50, settle=back)
    check.case(
        "Worker shutdown() aborts a retry sleep", abort_retrying, 300, warmup=30, settle=back
    )
    check.case("Worker() + del (idle, no thread)", idle_cycle, 20_000)
    check.case("Worker <-> classifier reference cycle (GC)", gc_cycle, 10_000)
    check.case("Worker argument errors", errors, 5_000)
    # the long-lived workers' threads (worker/retrying/broken start during their cases) are
    # alive when the cycle cases run: the baseline counts them
    for w in (worker, retrying, broken):
        w.submit(ok)
        assert w.flush(10.0)
    base.extend((*runtime_counts(), native_threads()))
    try:
        check.run()
    finally:
        gate.set()
        for name, w in (
            ("worker", worker),
            ("retrying", retrying),
            ("broken", broken),
            ("full", full),
            ("closed", closed),
        ):
            st = w.stats()
            print(
                f"{name}: succeeded={st['succeeded']} failed={st['failed']} "
                f"retried={st['retried']} dropped={st['dropped']} cancelled={st['cancelled']} "
                f"rejected_after_shutdown={st['rejected_after_shutdown']} "
                f"last_error={st['last_error']!r}"
            )


if __name__ == "__main__":
    main()
