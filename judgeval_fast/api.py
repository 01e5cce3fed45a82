"""The Judgment HTTP API client (judgeval's ``JudgmentSyncClient``) and its error type.

The tracer never calls this on the caller's thread: every call is queued on the API
worker (judgeval_fast.worker), which looks the methods up *at call time*, so tests can
replace them on the instance (``patch.object(tracer.api_client, "_request", ...)``).

URLs keep the base URL's path: ``https://h/api/`` + ``/projects/resolve/`` is
``https://h/api/projects/resolve/`` (upstream's ``urljoin`` dropped the ``/api``
prefix for API calls but kept it for span export, splitting a proxied deployment).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import httpx
import orjson

__all__ = ["JudgmentAPIError", "JudgmentSyncClient", "url_for"]

DEFAULT_TIMEOUT = 30.0
RESOLVE_TIMEOUT = 5.0  # the project id gates span export: fail fast, the worker retries


class JudgmentAPIError(httpx.HTTPError):
    """An error answer of the Judgment API.

    Accepts judgeval's ``JudgmentAPIError(status_code, detail, response)`` and the
    keyword form ``JudgmentAPIError(status_code=429, message="...")``.
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        response: httpx.Response | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail if detail is not None else (message or "")
        self.message = self.detail
        self.response = response
        super().__init__(f"{status_code}: {self.detail}")

    @property
    def retry_after(self) -> str | None:
        """The Retry-After header of the response, if any."""
        if self.response is None:
            return None
        value = self.response.headers.get("Retry-After")
        return str(value) if value is not None else None


def url_for(path: str, base: str) -> str:
    """``base`` + ``path`` keeping the base's own path prefix."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def _json_default(obj: Any) -> Any:
    # Payloads are built by the tracer from plain data; anything else is sent as its repr
    # rather than failing the call.
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return repr(obj)


_shared: dict[float, httpx.Client] = {}
_shared_lock = threading.Lock()


def _shared_client(timeout: float) -> httpx.Client:
    """One connection pool per process and timeout: an httpx.Client costs ~20 ms (its TLS
    context) and the locust file creates a tracer, so a client, per simulated user."""
    client = _shared.get(timeout)
    if client is None:
        with _shared_lock:
            client = _shared.get(timeout)
            if client is None:
                client = _shared[timeout] = httpx.Client(timeout=timeout)
    return client


def _reset_in_child() -> None:
    # The parent's connections are not ours to use in a fork child.
    global _shared_lock
    _shared.clear()
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_in_child)


class JudgmentSyncClient:
    """Blocking client of the Judgment API (httpx). Meant for the API worker's thread.

    ``client`` (the httpx.Client) is created on first use and shared by every
    JudgmentSyncClient of the process with the same timeout; assigning it replaces it
    for this instance only.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        organization_id: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.organization_id = organization_id
        self.timeout = timeout
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        return self._client if self._client is not None else _shared_client(self.timeout)

    @client.setter
    def client(self, value: httpx.Client) -> None:
        self._client = value

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.organization_id:
            headers["X-Organization-Id"] = self.organization_id
        return headers

    def _handle_response(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", "")
            except Exception:
                detail = response.text
            raise JudgmentAPIError(response.status_code, str(detail), response)
        if not response.content:
            return {}
        return response.json()

    def _request(
        self,
        method: str,
        url: str,
        payload: Any,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """One HTTP call; raises JudgmentAPIError for an error status, httpx errors else."""
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        if method == "GET":
            response = self.client.request(
                method, url, params=payload, headers=self._headers(), **extra
            )
        else:
            body = orjson.dumps(payload, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
            response = self.client.request(
                method, url, content=body, params=params, headers=self._headers(), **extra
            )
        return self._handle_response(response)

    def _url(self, path: str) -> str:
        return url_for(path, self.base_url)

    # -- v0.25.1 endpoints ----------------------------------------------------------

    def projects_resolve(self, payload: dict[str, Any]) -> Any:
        return self._request(
            "POST", self._url("/projects/resolve/"), payload, timeout=RESOLVE_TIMEOUT
        )

    def add_to_run_eval_queue_examples(self, payload: dict[str, Any]) -> Any:
        return self._request("POST", self._url("/add_to_run_eval_queue/examples"), payload)

    def add_to_run_eval_queue_traces(self, payload: dict[str, Any]) -> Any:
        return self._request("POST", self._url("/add_to_run_eval_queue/traces"), payload)

    def traces_tags_add(self, payload: dict[str, Any]) -> Any:
        return self._request("POST", self._url("/traces/tags/add"), payload)

    def otel_v1_traces(self) -> Any:
        return self._request("POST", self._url("/otel/v1/traces"), {})

    def health(self) -> Any:
        return self._request("GET", self._url("/health"), {})

    def close(self) -> None:
        """Close this instance's own httpx.Client (the shared pool stays open)."""
        if self._client is not None:
            self._client.close()
