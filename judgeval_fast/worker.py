"""The background API worker: tag and evaluation calls run off the caller's thread.

``get_worker()`` returns the process-wide worker (one native thread, created on the
first call queued). ``RetryPolicy`` decides, per failure, whether to retry:

  retried   timeouts, connection/network errors, HTTP 408, 429 (honouring Retry-After), 5xx
  given up  anything else (4xx, programming errors), and after max_attempts

Environment variables:
  JUDGEVAL_FAST_MAX_PENDING_CALLS  calls queued before the oldest are dropped (1000)
  JUDGEVAL_FAST_API_MAX_ATTEMPTS   attempts per call (5)
  JUDGEVAL_FAST_API_RETRY_DEADLINE seconds from the first attempt to the last (30)
  JUDGEVAL_FAST_MAX_PENDING_RESOLUTIONS  project-id resolutions queued (100), on a
                                   second worker ("control") so spans never wait behind tags
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from judgeval_fast._env import env_float, env_int, require_positive
from judgeval_fast._native import Worker as ApiWorker
from judgeval_fast._throttle import LogThrottle

__all__ = [
    "ApiWorker",
    "RetryPolicy",
    "get_control_worker",
    "get_worker",
    "retry_after_seconds",
    "worker_stats",
]

logger = logging.getLogger("judgeval_fast")

_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_WARN_EVERY_SECONDS = 10.0


def retry_after_seconds(value: object) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after_of(exc: BaseException) -> float | None:
    explicit = getattr(exc, "retry_after", None)
    if explicit is not None:
        return retry_after_seconds(explicit)
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        return retry_after_seconds(headers.get("Retry-After"))
    except Exception:  # a response object of an unknown shape
        return None


def _is_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    try:
        import httpx
    except ImportError:  # httpx is optional for the worker itself
        return False
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


@dataclass
class RetryPolicy:
    """The worker's classifier: retry delay in seconds (0 = back-off) or None to give up."""

    max_attempts: int = field(default_factory=lambda: env_int("JUDGEVAL_FAST_API_MAX_ATTEMPTS", 5))
    retry_deadline: float = field(
        default_factory=lambda: env_float("JUDGEVAL_FAST_API_RETRY_DEADLINE", 30.0, minimum=0.001)
    )
    retry_initial: float = 0.5
    retry_max: float = 8.0
    _throttle: LogThrottle = field(
        default_factory=lambda: LogThrottle(_WARN_EVERY_SECONDS), repr=False, compare=False
    )

    def __post_init__(self) -> None:
        require_positive("max_attempts", self.max_attempts)
        for name in ("retry_deadline", "retry_initial", "retry_max"):
            require_positive(name, getattr(self, name))

    def __call__(self, exc: BaseException, attempt: int) -> float | None:
        status = _status_of(exc)
        if status is not None:
            retry: float | None = None
            if status in _RETRYABLE_STATUS:
                retry = _retry_after_of(exc) if status == 429 else None
                retry = retry if retry is not None else 0.0
        elif _is_transport_error(exc):
            retry = 0.0
        else:
            retry = None
        if retry is None or attempt >= self.max_attempts:
            self._warn(exc, attempt, status)
            return None
        logger.debug("API call failed (attempt %d, %r); retrying", attempt, exc)
        return retry

    def _warn(self, exc: BaseException, attempt: int, status: int | None) -> None:
        held = self._throttle.allow()
        if held is None:
            return
        logger.warning(
            "judgeval API call dropped after %d attempt(s): %s%s%s",
            attempt,
            type(exc).__name__,
            f" (HTTP {status})" if status is not None else "",
            f" ({held} similar failures not logged)" if held else "",
        )

    def make_worker(self, max_pending: int) -> ApiWorker:
        """A native worker that follows this policy."""
        return ApiWorker(
            max_pending,
            max_attempts=self.max_attempts,
            retry_initial=self.retry_initial,
            retry_max=self.retry_max,
            retry_deadline=self.retry_deadline,
            classifier=self,
        )


_worker_lock = threading.Lock()


class _LazyWorker:
    """One process-wide worker, made on first use and remade once shut down."""

    def __init__(self, make: Callable[[], ApiWorker]) -> None:
        self._make = make
        self.worker: ApiWorker | None = None

    def get(self) -> ApiWorker:
        worker = self.worker
        if worker is not None and not worker.is_shutdown:
            return worker
        with _worker_lock:
            if self.worker is None or self.worker.is_shutdown:
                self.worker = self._make()
            return self.worker

    def stats(self) -> dict[str, Any] | None:
        """Its counters, or None if it was never made (nothing was queued)."""
        worker = self.worker
        return worker.stats() if worker is not None else None


_api = _LazyWorker(
    lambda: RetryPolicy().make_worker(env_int("JUDGEVAL_FAST_MAX_PENDING_CALLS", 1000))
)
# Project-id resolutions: few, but spans wait on them, so they get their own bounded queue.
_control = _LazyWorker(
    lambda: RetryPolicy(max_attempts=4, retry_initial=0.2, retry_max=2.0).make_worker(
        env_int("JUDGEVAL_FAST_MAX_PENDING_RESOLUTIONS", 100)
    )
)


def get_worker() -> ApiWorker:
    """The process-wide API worker, created on first use (its thread starts on first call)."""
    return _api.get()


def get_control_worker() -> ApiWorker:
    """A second, small worker for the SDK's own calls (project resolution), so that they
    never queue behind a slow user-facing call (a tag or an evaluation)."""
    return _control.get()


def worker_stats() -> dict[str, dict[str, Any] | None]:
    """Counters of both workers ("api": tags and evaluations; "control": project ids)."""
    return {"api": _api.stats(), "control": _control.stats()}


def _reset_lock_in_child() -> None:
    global _worker_lock
    _worker_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_in_child)
