"""Shared fixtures: the implementation switch (native / Python twin) and real backends.

Every test that exports talks to a real backend *process* on loopback (the local
Judgment-compatible server), so its memory and GIL never mix with the SDK's under test.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from judgeval_fast.backend import BackendProcess as Backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-native",
        action="store_true",
        default=False,
        help="deselect tests of the C extension (machines without a compiler)",
    )


def _native_available() -> bool:
    try:
        importlib.import_module("judgeval_fast._native")
    except ImportError:
        return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip whole native-only modules (marked at module level) when the extension is off:
    they import it at the top, so collecting them would be an error, not a deselection."""
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if not config.getoption("--no-native") and _native_available():
        return None
    if "pytestmark = pytest.mark.native" in collection_path.read_text(encoding="utf-8"):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-native"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("native") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass(frozen=True)
class Impl:
    """One implementation of the core data structures (multidict's facade pattern)."""

    is_native: bool

    @property
    def queue(self) -> ModuleType:
        return importlib.import_module(
            "judgeval_fast._native" if self.is_native else "judgeval_fast._model.queue"
        )

    @property
    def store(self) -> ModuleType:
        return importlib.import_module(
            "judgeval_fast._native" if self.is_native else "judgeval_fast._model.store"
        )

    def __str__(self) -> str:
        return "native" if self.is_native else "python"


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(True, marks=pytest.mark.native, id="native"),
        pytest.param(False, id="python"),
    ],
)
def impl(request: pytest.FixtureRequest) -> Impl:
    return Impl(is_native=request.param)


@pytest.fixture(scope="session")
def _backend_process() -> Iterator[Backend]:
    with Backend() as b:
        yield b


@pytest.fixture
def backend(_backend_process: Backend) -> Iterator[Backend]:
    """The session's backend, with faults cleared and storage empty for this test."""
    _backend_process.reset()
    yield _backend_process
    _backend_process.client.clear_faults()


@pytest.fixture(scope="session")
def discard_backend() -> Iterator[Backend]:
    """A backend that reads and counts trace exports without decoding them (throughput)."""
    with Backend(extra_args=["--discard"]) as b:
        yield b
