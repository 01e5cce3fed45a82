"""Known defects of the plan's files themselves (they are copied verbatim, never edited).

test_chaos.py::TestChaosScenarios::test_concurrent_tracer_shutdown uses ``time`` in the
test and in its thread, but test_chaos.py imports ``time`` only inside another test
function (test_cpu_throttling); the module has no ``import time``. The test therefore
fails with NameError before it reaches ``tracer.shutdown()``, whatever the SDK does.
It is marked xfail(raises=NameError, strict=True): if the plan's file is fixed, the
mark fails loudly and must be removed. The scenario it meant to test (shutting a tracer
down while another thread keeps creating spans) is covered, as written there, by
tests/test_tracer.py::test_concurrent_tracer_shutdown.
"""

from __future__ import annotations

import pytest

PLAN_DEFECTS = {
    "test_chaos.py::TestChaosScenarios::test_concurrent_tracer_shutdown": (
        "the plan's test_chaos.py never imports time at module level (only inside "
        "test_cpu_throttling), so this test raises NameError: name 'time' is not defined"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for suffix, reason in PLAN_DEFECTS.items():
            if item.nodeid.endswith(suffix):
                item.add_marker(pytest.mark.xfail(raises=NameError, strict=True, reason=reason))
                # Its span-creating thread dies of the same NameError; that is this
                # defect too, not a second finding.
                item.add_marker(
                    pytest.mark.filterwarnings(
                        "ignore::pytest.PytestUnhandledThreadExceptionWarning"
                    )
                )
