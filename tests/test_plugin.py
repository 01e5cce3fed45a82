"""The pytest plugin, run the way users run it: pytest in a subprocess, loaded through its
``pytest11`` entry point; and the README's examples, executed as written."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from judgeval_fast.pytest_plugin import API_KEY, ORG_ID, JudgmentBackend

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.native

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(after_heading: str) -> list[str]:
    """The ```python blocks of the README section that starts with after_heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split(after_heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    for marker in ("reliability", "slow", "chaos", "load"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}:*"])


def test_readme_plugin_example_passes(pytester: pytest.Pytester) -> None:
    (block,) = python_blocks("## The pytest plugin")
    pytester.makepyfile(test_readme_example=block)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_tracer_fixture_exports_and_is_shut_down(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_uses_fixture="""
        import pytest

        KEEP = {}

        def test_first(tracer, judgment_backend):
            KEEP["tracer"] = tracer
            with tracer.span("first"):
                pass
            assert tracer.force_flush(5_000)
            (span,) = judgment_backend.wait_for_spans(1, name="first")
            assert span["resource_attributes"]["service.name"] == tracer.project_name

        def test_second_gets_a_fresh_tracer(tracer):
            first = KEEP["tracer"]
            assert tracer is not first
            assert first._shut_down  # the previous test's tracer was shut down
            assert first.get_health_metrics()["spans_exported"] >= 1
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_teardown_is_bounded_with_a_black_holed_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_blackhole="""
        def test_spans_into_a_black_hole(tracer, judgment_backend):
            judgment_backend.set_faults(blackhole=True)
            for i in range(1000):
                with tracer.span(f"lost-{i}"):
                    pass
        """
    )
    t0 = time.monotonic()
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly", "--durations=0")
    elapsed = time.monotonic() - t0
    result.assert_outcomes(passed=1)
    # Not a performance figure: the fixture's shutdown has a 2 s budget; a hang would
    # take the exporter's 30 s retry deadline or forever.
    teardown = [line for line in result.outlines if "teardown" in line and "black" in line]
    assert teardown, result.outlines
    seconds = float(teardown[0].split("s", 1)[0])
    assert seconds < 4.0, teardown
    assert elapsed < 60, elapsed


def test_users_own_fixtures_win(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def tracer():
            return "mine"

        @pytest.fixture(scope="session")
        def judgment_backend():
            return "my backend"
        """
    )
    pytester.makepyfile(
        test_override="""
        def test_mine(tracer, judgment_backend):
            assert tracer == "mine" and judgment_backend == "my backend"
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_without="""
        def test_wants_the_fixture(tracer):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:judgeval_fast", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'tracer' not found*"])


def test_readme_tracer_example_runs(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (block,) = python_blocks("## Using it: the judgeval v1 tracer")
    monkeypatch.setenv("JUDGMENT_API_URL", judgment_backend.url)
    monkeypatch.setenv("JUDGMENT_API_KEY", API_KEY)
    monkeypatch.setenv("JUDGMENT_ORG_ID", ORG_ID)
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    tracer = namespace["tracer"]
    try:
        assert asyncio.run(namespace["agent"]("what?")) == "doc-0"
        assert tracer.force_flush(5_000)
        spans = {s["name"]: s for s in judgment_backend.wait_for_spans(3, name_prefix="")}
        assert {"agent", "search", "post-process"} <= set(spans)
        agent, search = spans["agent"], spans["search"]
        assert search["parent_span_id"] == agent["span_id"]
        assert search["attributes"]["judgment.customer_id"] == "customer-7"
        assert "spans_exported" in capsys.readouterr().out
    finally:
        tracer.shutdown(2_000)
