"""The API worker: queued calls run off the caller's thread, bounded, retried, counted."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from judgeval_fast import _native
from judgeval_fast.backend import BackendProcess as Backend
from judgeval_fast.worker import RetryPolicy, retry_after_seconds

pytestmark = pytest.mark.native

MakeWorker = Callable[..., _native.Worker]


@pytest.fixture
def make_worker() -> Iterator[MakeWorker]:
    made: list[_native.Worker] = []

    def make(max_pending: int = 1000, **kw: Any) -> _native.Worker:
        kw.setdefault("retry_initial", 0.01)
        kw.setdefault("retry_max", 0.05)
        w = _native.Worker(max_pending, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown(timeout=0.5)


class ApiError(Exception):
    """Shaped like judgeval's JudgmentAPIError: status_code and an httpx-like response."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(f"{status}: injected")
        self.status_code = status
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.response = SimpleNamespace(status_code=status, headers=headers)


def test_submit_returns_at_once_and_runs_elsewhere(make_worker: MakeWorker) -> None:
    worker = make_worker()
    ran_on: list[int] = []

    def slow() -> None:
        time.sleep(0.3)
        ran_on.append(threading.get_ident())

    t0 = time.perf_counter()
    assert worker.submit(slow) == 0
    assert time.perf_counter() - t0 < 0.01
    assert worker.flush(5)
    assert ran_on and ran_on[0] != threading.get_ident()
    stats = worker.stats()
    assert stats["succeeded"] == 1 and stats["pending"] == 0 and stats["gil_acquisitions"] == 1


def test_calls_run_in_order_one_at_a_time(make_worker: MakeWorker) -> None:
    worker = make_worker()
    order: list[int] = []
    for i in range(50):
        worker.submit(lambda i=i: order.append(i))
    assert worker.flush(5)
    assert order == list(range(50))


def test_failure_without_classifier_is_not_retried(make_worker: MakeWorker) -> None:
    worker = make_worker()
    calls = []

    def boom() -> None:
        calls.append(1)
        raise ValueError("nope")

    worker.submit(boom)
    assert worker.flush(5)
    stats = worker.stats()
    assert len(calls) == 1 and stats["failed"] == 1 and stats["retried"] == 0
    assert stats["last_error"] == "ValueError: nope"


def test_policy_retries_timeouts_until_max_attempts(make_worker: MakeWorker) -> None:
    policy = RetryPolicy(max_attempts=4, retry_initial=0.01, retry_max=0.02)
    worker = make_worker(max_attempts=4, classifier=policy)
    calls = []

    def timeout() -> None:
        calls.append(time.monotonic())
        raise httpx.TimeoutException("Request timeout")

    worker.submit(timeout)
    assert worker.flush(5)
    stats = worker.stats()
    assert len(calls) == 4 and stats["retried"] == 3 and stats["failed"] == 1
    assert stats["gil_acquisitions"] == 4  # one per attempt: never held while waiting


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (TimeoutError("t"), True),
        (ConnectionResetError("reset"), True),
        (ApiError(429), True),
        (ApiError(500), True),
        (ApiError(503), True),
        (ApiError(408), True),
        (ApiError(400), False),
        (ApiError(401), False),
        (ApiError(404), False),
        (ValueError("bug"), False),
        (KeyError("bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_policy_classification(exc: BaseException, retried: bool, make_worker: MakeWorker) -> None:
    policy = RetryPolicy(max_attempts=2)
    worker = make_worker(max_attempts=2, classifier=policy)
    calls = []

    def fail() -> None:
        calls.append(1)
        raise exc

    worker.submit(fail)
    assert worker.flush(5)
    assert len(calls) == (2 if retried else 1)


def test_retry_after_is_honoured(make_worker: MakeWorker) -> None:
    worker = make_worker(classifier=RetryPolicy(max_attempts=3))
    calls: list[float] = []

    def limited() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise ApiError(429, retry_after="0.5")

    worker.submit(limited)
    assert worker.flush(5)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.48


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 0.25 ") == 0.25
    assert retry_after_seconds("-5") == 0.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_seconds(future) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_seconds(past) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_retry_deadline_bounds_the_retries(make_worker: MakeWorker) -> None:
    worker = make_worker(
        max_attempts=100,
        retry_deadline=0.3,
        retry_initial=0.05,
        retry_max=0.05,
        classifier=lambda exc, attempt: 0.1,
    )
    calls = []

    def fail() -> None:
        calls.append(1)
        raise ConnectionError("down")

    t0 = time.monotonic()
    worker.submit(fail)
    assert worker.flush(5)
    assert time.monotonic() - t0 < 1.0 and 2 <= len(calls) <= 4
    assert "retry deadline" in worker.stats()["last_error"]


def test_giving_up_is_logged_once_per_burst(
    make_worker: MakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(max_attempts=1)
    worker = make_worker(max_attempts=1, classifier=policy)
    with caplog.at_level(logging.WARNING, logger="judgeval_fast"):
        for _ in range(20):
            worker.submit(lambda: (_ for _ in ()).throw(ApiError(400)))
        assert worker.flush(5)
    dropped = [r for r in caplog.records if "dropped after" in r.getMessage()]
    assert len(dropped) == 1 and "HTTP 400" in dropped[0].getMessage()
    assert worker.stats()["failed"] == 20


def test_full_queue_drops_the_oldest_and_counts(make_worker: MakeWorker) -> None:
    worker = make_worker(max_pending=10)
    gate = threading.Event()
    ran: list[int] = []
    worker.submit(gate.wait)  # occupies the thread
    time.sleep(0.1)
    dropped = [worker.submit(lambda i=i: ran.append(i)) for i in range(25)]
    assert dropped == [0] * 10 + [1] * 15
    gate.set()
    assert worker.flush(5)
    assert ran == list(range(15, 25))
    stats = worker.stats()
    assert stats["dropped"] == 15 and stats["succeeded"] == 11


def test_cancel_removes_one_owner(make_worker: MakeWorker) -> None:
    worker = make_worker()
    gate = threading.Event()
    ran: list[str] = []
    worker.submit(gate.wait)
    time.sleep(0.1)
    for i in range(6):
        worker.submit(lambda i=i: ran.append(f"a{i}"), owner=1)
        worker.submit(lambda i=i: ran.append(f"b{i}"), owner=2)
    assert worker.cancel(1) == 6
    gate.set()
    assert worker.flush(5)
    assert ran == [f"b{i}" for i in range(6)] and worker.stats()["cancelled"] == 6


def test_flush_returns_by_its_deadline(make_worker: MakeWorker) -> None:
    worker = make_worker()
    gate = threading.Event()
    worker.submit(gate.wait)
    t0 = time.monotonic()
    assert worker.flush(0.3) is False
    assert time.monotonic() - t0 < 0.5
    gate.set()
    assert worker.flush(5)


def test_shutdown_is_bounded_and_counts_what_it_drops(make_worker: MakeWorker) -> None:
    worker = make_worker()
    gate = threading.Event()
    worker.submit(gate.wait)
    time.sleep(0.05)
    for _ in range(5):
        worker.submit(lambda: None)
    t0 = time.monotonic()
    assert worker.shutdown(0.3) is False
    assert time.monotonic() - t0 < 0.5
    assert worker.submit(lambda: None) == -1
    stats = worker.stats()
    assert stats["dropped_shutdown"] == 5 and stats["rejected_after_shutdown"] == 1
    gate.set()
    assert worker.shutdown(1) is True  # second call: no-op


def test_base_exceptions_in_calls_do_not_kill_the_worker(make_worker: MakeWorker) -> None:
    worker = make_worker()
    ok = []
    worker.submit(lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    worker.submit(lambda: (_ for _ in ()).throw(SystemExit(3)))
    worker.submit(lambda: ok.append(1))
    assert worker.flush(5)
    stats = worker.stats()
    assert ok == [1] and stats["failed"] == 2 and stats["succeeded"] == 1


def test_classifier_errors_mean_give_up(make_worker: MakeWorker) -> None:
    def broken(exc: BaseException, attempt: int) -> float:
        raise RuntimeError("classifier bug")

    worker = make_worker(classifier=broken)
    calls = []
    worker.submit(lambda: calls.append(1) or (_ for _ in ()).throw(ConnectionError("x")))
    assert worker.flush(5)
    assert len(calls) == 1 and worker.stats()["failed"] == 1


def test_real_http_calls_retry_against_a_failing_server(
    backend: Backend, make_worker: MakeWorker
) -> None:
    backend.client.set_faults(status=503, count=2, paths=["/traces/tags/add"])
    worker = make_worker(classifier=RetryPolicy(max_attempts=5, retry_initial=0.01, retry_max=0.05))
    client = httpx.Client(timeout=5)

    def tag() -> None:
        r = client.post(
            backend.url + "/traces/tags/add",
            json={"project_name": "p", "trace_id": "ab" * 16, "tags": ["t1"]},
        )
        if r.status_code >= 400:
            raise ApiError(r.status_code)

    worker.submit(tag)
    assert worker.flush(10)
    statuses = [r["status"] for r in backend.client.requests() if r["path"] == "/traces/tags/add"]
    assert statuses == [503, 503, 200]
    assert [t["tag"] for t in backend.client.tags()] == ["t1"]
    client.close()


def test_validation() -> None:
    with pytest.raises(ValueError, match="max_pending must be > 0"):
        _native.Worker(0)
    with pytest.raises(TypeError, match="classifier must be callable"):
        _native.Worker(classifier=3)  # type: ignore[arg-type]
    w = _native.Worker()
    with pytest.raises(TypeError, match="fn must be callable"):
        w.submit(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_worker_dropped_while_its_classifier_runs() -> None:
    """The worker thread holds its own reference to the classifier during the call (the
    sanitizer run turns a use-after-free here into a failure)."""
    lock = threading.Lock()
    lock.acquire()
    worker = _native.Worker(classifier=lock.acquire, retry_deadline=5.0)  # (exc, 1): waits 1 s
    del lock

    def boom() -> None:
        raise RuntimeError("x")

    worker.submit(boom)
    time.sleep(0.3)  # the thread is inside lock.acquire(), GIL released
    del worker
    time.sleep(1.2)  # acquire times out and the call returns into our code
