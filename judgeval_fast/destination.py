"""Where a project's spans go: one shared native exporter per (API, project), whose
project id is resolved on the API worker, never on the caller's thread.

Judgment's span ingestion routes by the ``X-Project-Id`` header, and upstream judgeval
resolved that id with a blocking POST in the tracer's constructor (30 s timeout, failure
cached for the life of the process). Here the exporter is created *paused* and the
resolution is queued on the worker when the first span starts; when it answers, the
header is set and the exporter resumes. Meanwhile spans queue (bounded, drop-oldest,
counted); a failed resolution is retried with back-off, and flush/shutdown stay bounded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from judgeval_fast._native import Exporter
from judgeval_fast.api import JudgmentSyncClient
from judgeval_fast.exporter import ExporterConfig, create_exporter, registry_key
from judgeval_fast.worker import get_control_worker

logger = logging.getLogger("judgeval_fast")

RESOLVE_RETRY_SECONDS = 5.0  # after a failed resolution, before the next is queued
# A queued resolution may be lost (the control worker drops its oldest call when full,
# a fork empties it): past this, a new span queues another rather than waiting forever.
RESOLVE_STALE_SECONDS = 30.0

# (api_url, api_key, project_name) -> project id; only successes are cached.
_project_ids: dict[tuple[str, str | None, str], str] = {}


def fetch_project_id(
    client: JudgmentSyncClient, project_name: str, cache_key: tuple[str, str | None, str]
) -> str | None:
    """POST /projects/resolve/ (on a worker thread); the id, cached, or None if unknown.
    Transport and HTTP errors raise, so that the worker retries them."""
    answer = client.projects_resolve({"project_name": project_name})
    project_id = answer.get("project_id") if isinstance(answer, Mapping) else None
    if not project_id:
        logger.error("judgeval_fast: project %r was not found", project_name)
        return None
    _project_ids[cache_key] = str(project_id)
    return str(project_id)


_override_retry_at: dict[tuple[str, str | None, str], float] = {}


def project_id_for(api_url: str, client: JudgmentSyncClient, project_name: str) -> str | None:
    """The id of another project (override_project) if known; otherwise one resolution is
    queued on the control worker (not one per call) and None is returned. Never blocks."""
    cache_key = (api_url, client.api_key, project_name)
    known = _project_ids.get(cache_key)
    if known or time.monotonic() < _override_retry_at.get(cache_key, 0.0):
        return known
    _override_retry_at[cache_key] = time.monotonic() + RESOLVE_STALE_SECONDS

    def resolve() -> None:
        try:
            found = fetch_project_id(client, project_name, cache_key)
        except BaseException:
            _override_retry_at[cache_key] = time.monotonic() + RESOLVE_RETRY_SECONDS
            raise
        if found is None:
            _override_retry_at[cache_key] = time.monotonic() + RESOLVE_RETRY_SECONDS

    get_control_worker().submit(resolve)
    return None


class Destination:
    """The exporters of one project, the resolution of its id, and who uses them."""

    def __init__(
        self,
        key: tuple[Any, ...],
        endpoint: str,
        headers: Mapping[str, str],
        resource: Mapping[str, Any],
        config: ExporterConfig,
        project_name: str,
        project_id: str | None,
        id_cache_key: tuple[str, str | None, str],
    ) -> None:
        self.key = key
        self.endpoint = endpoint
        self.headers = dict(headers)
        self.resource = dict(resource)
        self.config = config
        self.project_name = project_name
        self._id_cache_key = id_cache_key
        self.project_id = project_id or _project_ids.get(id_cache_key)
        self._lock = threading.Lock()
        self._retry_at = 0.0  # no resolution is queued before this (one in flight, or back-off)
        self.leases = 0
        self.native = self.new_exporter()
        self._extra: weakref.WeakSet[Exporter] = weakref.WeakSet()

    def _current_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.project_id:
            headers["X-Project-Id"] = self.project_id
        return headers

    def new_exporter(self) -> Exporter:
        """A native exporter to this destination (paused while the project id is unknown)."""
        return create_exporter(
            self.endpoint,
            self._current_headers(),
            resource=self.resource,
            config=self.config,
            paused=self.project_id is None,
        )

    def track(self, exporter: Exporter) -> None:
        """Apply the project id to an extra exporter too (a processor's Python-path one)."""
        self._extra.add(exporter)

    def release(self, timeout: float) -> bool:
        """Drop one lease; the last one shuts the exporter down. Returns the flush result."""
        return release_destination(self, timeout)

    # -- project id ------------------------------------------------------------------

    def ensure_resolved(self, client: JudgmentSyncClient) -> None:
        """Queue the resolution of the project id unless known or under way. Never blocks."""
        if self.project_id is not None:
            return
        now = time.monotonic()
        with self._lock:
            if self.project_id or now < self._retry_at:
                return
            self._retry_at = now + RESOLVE_STALE_SECONDS
        get_control_worker().submit(lambda: self._resolve(client))

    def _resolve(self, client: JudgmentSyncClient) -> None:
        # Runs on the worker; an exception makes the worker retry with back-off.
        try:
            project_id = fetch_project_id(client, self.project_name, self._id_cache_key)
        except BaseException:
            self._back_off()
            raise
        if project_id is None:
            self._back_off()  # its spans are held (bounded, counted) until it exists
            return
        self.set_project_id(project_id)

    def _back_off(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RESOLVE_RETRY_SECONDS

    def set_project_id(self, project_id: str) -> None:
        with self._lock:
            self.project_id = project_id
        _project_ids[self._id_cache_key] = project_id
        headers = self._current_headers()
        for exporter in [self.native, *self._extra]:
            exporter.set_headers(headers)
            exporter.resume()


class DisabledDestination:
    """Where a tracer whose monitoring is off points: nothing is exported, and all such
    tracers share one paused exporter (their spans never reach it: observe() returns
    functions undecorated and span() yields the non-recording span)."""

    project_id = None
    key = None

    def __init__(self) -> None:
        self._native: Exporter | None = None
        self._lock = threading.Lock()

    @property
    def native(self) -> Exporter:
        with self._lock:
            if self._native is None:
                self._native = create_exporter(
                    "http://127.0.0.1:9/disabled",
                    paused=True,
                    config=ExporterConfig(max_queue_size=1, max_batch_size=1),
                )
            return self._native

    def ensure_resolved(self, client: Any) -> None:
        pass

    def new_exporter(self) -> Exporter:
        return self.native

    def track(self, exporter: Exporter) -> None:
        pass

    def release(self, timeout: float) -> bool:
        return True


DISABLED = DisabledDestination()


_destinations: weakref.WeakValueDictionary[tuple[Any, ...], Destination] = (
    weakref.WeakValueDictionary()
)
_destinations_lock = threading.Lock()


def get_destination(
    *,
    endpoint: str,
    api_url: str,
    api_key: str | None,
    organization_id: str | None,
    project_name: str,
    project_id: str | None,
    resource: Mapping[str, Any],
    user_agent: str,
    config: ExporterConfig | None = None,
) -> Destination:
    """The shared destination of a project (created on first use)."""
    headers = {"User-Agent": user_agent}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if organization_id:
        headers["X-Organization-Id"] = organization_id
    cfg = config if config is not None else ExporterConfig()  # None and the default agree
    key = (registry_key(endpoint, headers, resource, "judgeval", cfg), project_name, project_id)
    with _destinations_lock:
        dest = _destinations.get(key)
        if dest is None or dest.native.is_shutdown:
            dest = Destination(
                key,
                endpoint,
                headers,
                resource,
                cfg,
                project_name,
                project_id,
                (api_url, api_key, project_name),
            )
            _destinations[key] = dest
        dest.leases += 1
        return dest


def release_destination(dest: Destination, timeout: float) -> bool:
    """Drop one lease; the last one shuts the exporter down. Returns the flush result."""
    with _destinations_lock:
        dest.leases -= 1
        last = dest.leases <= 0
        if last and _destinations.get(dest.key) is dest:
            del _destinations[dest.key]
    if last:
        return dest.native.shutdown(timeout)
    return dest.native.force_flush(timeout)


def _reset_locks_in_child() -> None:
    global _destinations_lock
    _destinations_lock = threading.Lock()
    for dest in list(_destinations.values()):
        dest._lock = threading.Lock()
        dest._retry_at = 0.0  # the control worker's queue did not survive the fork
    _override_retry_at.clear()
    DISABLED._lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_locks_in_child)
