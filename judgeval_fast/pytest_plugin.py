"""pytest plugin of judgeval-fast (entry point ``pytest11``; disable with ``-p no:judgeval_fast``).

- markers: ``reliability``, ``slow``, ``chaos``, ``load``;
- ``judgment_backend`` (session): the local Judgment-compatible backend as a separate
  process on an ephemeral loopback port, requiring an API key and an organization id;
- ``tracer`` (function): a fresh ``Tracer`` exporting to that backend (credentials
  through JUDGMENT_API_URL / JUDGMENT_API_KEY / JUDGMENT_ORG_ID), shut down at teardown
  within ``TEARDOWN_MILLIS``.

A fixture of the same name in the user's conftest.py wins, as pytest fixtures do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from judgeval_fast import compat
from judgeval_fast.backend import BackendProcess

compat.install()  # judgeval.v1 is importable in test modules even from an editable install

MARKERS = {
    "reliability": "Reliability and performance tests",
    "slow": "Tests that take > 30 seconds",
    "chaos": "Chaos engineering tests",
    "load": "Load tests requiring external tools",
}

API_KEY = "judgeval-fast-test-key"
ORG_ID = "judgeval-fast-test-org"
PROJECT = "judgeval-fast-pytest"
TEARDOWN_MILLIS = 2000


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


class JudgmentBackend:
    """The session's backend: where it is, what it stored, and its fault switch."""

    def __init__(self, process: BackendProcess) -> None:
        self.process = process
        self.url = process.url
        self.traces_url = process.traces_url
        self.api_key = API_KEY
        self.org_id = ORG_ID
        self.client = process.client

    def stats(self) -> dict[str, Any]:
        return self.client.stats()

    def spans(self, **filters: Any) -> list[dict[str, Any]]:
        return self.client.spans(**filters)

    def wait_for_spans(
        self, count: int, timeout: float = 10.0, **filters: Any
    ) -> list[dict[str, Any]]:
        return self.client.wait_for_spans(count, timeout=timeout, **filters)

    def tags(self) -> list[dict[str, Any]]:
        return self.client.tags()

    def evaluations(self) -> list[dict[str, Any]]:
        return self.client.evaluations()

    def projects(self) -> list[dict[str, Any]]:
        return self.client.projects()

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self.client.requests(since=since)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return self.client.set_faults(**faults)

    def clear_faults(self) -> dict[str, Any]:
        return self.client.clear_faults()

    def reset(self) -> None:
        self.process.reset()


@pytest.fixture(scope="session")
def judgment_backend() -> Iterator[JudgmentBackend]:
    """A local Judgment-compatible backend process for the whole session."""
    with BackendProcess(extra_args=["--api-key", API_KEY, "--org-id", ORG_ID]) as process:
        yield JudgmentBackend(process)


@pytest.fixture
def tracer(judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh Tracer exporting to judgment_backend, shut down (bounded) at teardown."""
    from judgeval_fast.tracer import Tracer

    monkeypatch.setenv("JUDGMENT_API_URL", judgment_backend.url)
    monkeypatch.setenv("JUDGMENT_API_KEY", API_KEY)
    monkeypatch.setenv("JUDGMENT_ORG_ID", ORG_ID)
    t = Tracer(project_name=PROJECT, enable_monitoring=True, enable_evaluation=True)
    try:
        yield t
    finally:
        t.shutdown(timeout_millis=TEARDOWN_MILLIS)
        judgment_backend.clear_faults()
