"""The judgeval v1 Tracer surface, end to end against the local backend.

Every span checked here went through the native pipeline and was decoded by the backend
with the official opentelemetry-proto classes, so each test is also a wire check.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import orjson
import pytest

import judgeval_fast
from judgeval_fast import _native
from judgeval_fast.api import JudgmentAPIError, JudgmentSyncClient
from judgeval_fast.exporter import ExporterConfig
from judgeval_fast.pytest_plugin import API_KEY, ORG_ID, JudgmentBackend
from judgeval_fast.tracer import Tracer
from judgeval_fast.worker import get_control_worker, get_worker

pytestmark = pytest.mark.native


@pytest.fixture
def uid() -> str:
    """A prefix that makes this test's span names unique in the session's backend."""
    return uuid.uuid4().hex[:8]


def spans_named(
    backend: JudgmentBackend, prefix: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """At least count stored spans whose names start with prefix, by start time; raises
    TimeoutError if fewer arrive (so a test cannot pass on an empty result)."""
    found = backend.wait_for_spans(count, timeout=timeout, name_prefix=prefix)
    return sorted(found, key=lambda s: s["start_time_unix_nano"])


def by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in spans}


# -- observe ---------------------------------------------------------------------------------


def test_observe_records_inputs_outputs_and_nesting(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_type="tool", span_name=f"{uid}-inner")
    def inner(x: int, y: int = 2) -> dict[str, int]:
        return {"sum": x + y}

    @tracer.observe(span_name=f"{uid}-outer")
    def outer(a: str) -> str:
        inner(3, y=4)
        return a.upper()

    assert outer("hi") == "HI"
    assert tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 2))
    o, i = spans[f"{uid}-outer"], spans[f"{uid}-inner"]
    assert i["parent_span_id"] == o["span_id"] and i["trace_id"] == o["trace_id"]
    assert o["parent_span_id"] == ""
    assert orjson.loads(o["attributes"]["judgment.input"]) == {"a": "hi"}
    assert o["attributes"]["judgment.output"] == "HI"
    assert o["attributes"]["judgment.span_kind"] == "span"
    assert orjson.loads(i["attributes"]["judgment.input"]) == {"x": 3, "y": 4}
    assert orjson.loads(i["attributes"]["judgment.output"]) == {"sum": 7}
    assert i["attributes"]["judgment.span_kind"] == "tool"
    assert o["resource_attributes"]["service.name"] == tracer.project_name
    assert o["scope_name"] == "judgeval"


def test_positional_only_and_keyword_only_inputs(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    """Upstream recorded {"b": 10} for f(a, /, b, *, c) called as (10, 20, c=30)."""

    @tracer.observe(span_name=f"{uid}-f")
    def f(a: int, /, b: int, *args: int, c: int, **kwargs: int) -> None:
        return None

    f(10, 20, 21, c=30, d=40)
    tracer.force_flush(10_000)
    (span,) = spans_named(judgment_backend, uid, 1)
    assert orjson.loads(span["attributes"]["judgment.input"]) == {
        "a": 10,
        "b": 20,
        "args": [21],
        "c": 30,
        "kwargs": {"d": 40},
    }
    assert span["attributes"]["judgment.output"] == "null"


def test_record_flags_and_unserialisable_values(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-quiet", record_input=False, record_output=False)
    def quiet(x: object) -> object:
        return x

    lock = threading.Lock()

    @tracer.observe(span_name=f"{uid}-odd")
    def odd(x: object) -> object:
        return x

    assert quiet(1) == 1
    assert odd(lock) is lock
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 2))
    assert "judgment.input" not in spans[f"{uid}-quiet"]["attributes"]
    assert "judgment.output" not in spans[f"{uid}-quiet"]["attributes"]
    assert "lock" in spans[f"{uid}-odd"]["attributes"]["judgment.output"]


def test_failing_serializer_never_reaches_the_caller(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    def broken(value: object) -> str:
        raise RuntimeError("serializer bug")

    _env(monkeypatch, judgment_backend)
    t = Tracer(project_name="serializer-test", serializer=broken)
    calls = []

    @t.observe(span_name=f"{uid}-f")
    def f(x: list[int]) -> list[int]:
        calls.append(x)
        return x

    assert f([1, 2]) == [1, 2] and calls == [[1, 2]]  # upstream never called f
    t.force_flush(10_000)
    (span,) = spans_named(judgment_backend, uid, 1)
    assert span["attributes"]["judgment.output"] == "[1, 2]"  # the repr() fallback
    # Not silent: the input and the output each counted one isolated serializer error.
    assert t.get_health_metrics()["sdk_errors_isolated"] == 2
    t.shutdown(2000)


@pytest.mark.parametrize(
    "call",
    [(), (1,), (1, 2), (1, 2, 3), ((), {"b": 2}), ((1,), {"b": 2}), ((), {"a": 1, "b": 2})],
)
def test_input_capture_is_bind_partial(call: Any) -> None:
    """The positional fast path gives exactly what Signature.bind_partial gives."""
    import inspect

    from judgeval_fast.observe import input_capture

    args, kwargs = call if len(call) == 2 and isinstance(call[1], dict) else (call, {})

    def plain(a: int, b: int = 5) -> None: ...

    def posonly(a: int, /, b: int = 5) -> None: ...

    for func in (plain, posonly):
        try:
            expected = dict(inspect.signature(func).bind_partial(*args, **kwargs).arguments)
        except TypeError:
            expected = {"args": args, "kwargs": kwargs}
        got = input_capture(func)(args, kwargs)
        assert got == expected and list(got) == list(expected), (func.__name__, call)


CALLS_TO_BIND: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1,), {}),
    ((1, 2), {}),
    ((1, 2, 3), {}),
    ((1, 2, 3, 4), {}),
    ((), {"b": 2}),
    ((1,), {"b": 2}),
    ((), {"a": 1, "b": 2}),
    ((), {"c": 3, "a": 1}),  # keywords out of parameter order
    ((1,), {"c": 3}),
    ((1,), {"a": 1}),  # repeated
    ((1,), {"zzz": 1}),  # unknown
    ((1, 2, 3), {"c": 3}),  # repeated after every positional
]


@pytest.mark.parametrize("call", CALLS_TO_BIND)
def test_native_input_capture_is_bind_partial(tracer: Tracer, call: Any) -> None:
    """The C wrapper's inputs, fast path or not, are what Signature.bind_partial gives (or
    the raw args/kwargs when it refuses the call), in the same order."""
    import inspect

    args, kwargs = call

    def plain(a: int, b: int = 5, c: int = 6) -> None: ...

    def posonly(a: int, /, b: int = 5, c: int = 6) -> None: ...

    for func in (plain, posonly):
        try:
            expected = dict(inspect.signature(func).bind_partial(*args, **kwargs).arguments)
        except TypeError:
            expected = {"args": list(args), "kwargs": kwargs}
        seen: list[str] = []

        def record(*a: Any, seen: list[str] = seen, **k: Any) -> None:
            seen.append(tracer.get_current_span().attributes["judgment.input"])

        record.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        observed = tracer.observe(record)
        assert isinstance(observed, _native.Observed)
        observed(*args, **kwargs)
        got = orjson.loads(seen[0])
        assert got == expected and list(got) == list(expected), (func.__name__, call, got)


def test_errors_are_recorded_once_and_reraised(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-sync")
    def sync() -> None:
        raise ValueError("sync failure")

    @tracer.observe(span_name=f"{uid}-async")
    async def coro() -> None:
        raise KeyError("async failure")

    with pytest.raises(ValueError, match="sync failure"):
        sync()
    with pytest.raises(KeyError):
        asyncio.run(coro())
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 2))
    for name, message in ((f"{uid}-sync", "sync failure"), (f"{uid}-async", "'async failure'")):
        span = spans[name]
        assert span["status_code"] == 2 and span["status_message"] == message
        assert [e["name"] for e in span["events"]] == ["exception"]  # once, not twice


def test_base_exceptions_still_end_the_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-interrupted")
    def interrupted() -> None:
        raise KeyboardInterrupt

    @tracer.observe(span_name=f"{uid}-cancelled")
    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 2))
    assert set(spans) == {f"{uid}-interrupted", f"{uid}-cancelled"}
    for span in spans.values():  # upstream never ended (so never exported) these
        assert span["status_code"] == 0
        assert span["events"][0]["attributes"]["exception.escaped"] == "True"


def test_async_nesting_across_tasks(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-leaf")
    async def leaf(i: int) -> int:
        await asyncio.sleep(0.001)
        return i

    @tracer.observe(span_name=f"{uid}-root")
    async def root() -> list[int]:
        return list(await asyncio.gather(*(leaf(i) for i in range(3))))

    assert asyncio.run(root()) == [0, 1, 2]
    tracer.force_flush(10_000)
    spans = spans_named(judgment_backend, uid, 4)
    root_span = next(s for s in spans if s["name"] == f"{uid}-root")
    leaves = [s for s in spans if s["name"] == f"{uid}-leaf"]
    assert len(leaves) == 3 and all(s["parent_span_id"] == root_span["span_id"] for s in leaves)


def test_generator_spans(tracer: Tracer, judgment_backend: JudgmentBackend, uid: str) -> None:
    @tracer.observe(span_name=f"{uid}-gen")
    def gen(n: int) -> Iterator[int]:
        yield from range(n)

    @tracer.observe(span_name=f"{uid}-bad")
    def bad() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("mid-stream")

    @tracer.observe(span_name=f"{uid}-plain", disable_generator_yield_span=True)
    def plain() -> Iterator[int]:
        yield 1

    assert list(gen(3)) == [0, 1, 2]
    with pytest.raises(RuntimeError):
        list(bad())
    assert list(plain()) == [1]
    tracer.force_flush(10_000)
    spans = spans_named(judgment_backend, uid, 4 + 3 + 1)
    gen_span = next(
        s
        for s in spans
        if s["name"] == f"{uid}-gen" and s["attributes"]["judgment.span_kind"] == "generator"
    )
    items = [s for s in spans if s["parent_span_id"] == gen_span["span_id"]]
    assert [s["attributes"]["judgment.output"] for s in items] == [0, 1, 2]
    assert {s["attributes"]["judgment.span_kind"] for s in items} == {"generator_item"}
    assert gen_span["attributes"]["judgment.output"] == "<generator>"
    bad_span = next(s for s in spans if s["name"] == f"{uid}-bad" and s["parent_span_id"] == "")
    assert bad_span["status_code"] == 2
    assert len([s for s in spans if s["parent_span_id"] == bad_span["span_id"]]) == 2
    assert len([s for s in spans if s["name"] == f"{uid}-plain"]) == 1


def test_abandoned_generator_span_ends_when_collected(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-gen", record_output=False)
    def gen() -> Iterator[int]:
        yield 1
        yield 2

    g = gen()
    next(g)
    del g
    gc.collect()
    tracer.force_flush(10_000)
    assert len(spans_named(judgment_backend, uid, 1)) == 1


def test_async_generator_spans(tracer: Tracer, judgment_backend: JudgmentBackend, uid: str) -> None:
    @tracer.observe(span_name=f"{uid}-agen")
    async def agen(n: int) -> Any:
        for i in range(n):
            yield i

    async def consume() -> list[int]:
        return [i async for i in agen(2)]

    assert asyncio.run(consume()) == [0, 1]
    tracer.force_flush(10_000)
    spans = spans_named(judgment_backend, uid, 3)
    parent = next(s for s in spans if s["parent_span_id"] == "")
    assert parent["attributes"]["judgment.output"] == "<async_generator>"
    assert parent["attributes"]["judgment.span_kind"] == "generator"
    assert sorted(s["attributes"]["judgment.output"] for s in spans if s is not parent) == [0, 1]


# -- spans and attributes --------------------------------------------------------------------


def test_span_context_manager_and_attributes(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    with tracer.span(f"{uid}-s") as span:
        tracer.set_attribute("plain", "text")
        tracer.set_attribute("number", 3)
        tracer.set_attribute("structured", {"a": [1, 2]})
        tracer.set_attribute("", "ignored")
        tracer.set_attribute("none", None)
        tracer.set_attributes({"x": 1.5, "y": True})
        tracer.set_input({"q": 1})
        tracer.set_output("answer")
        tracer.set_llm_span()
        assert tracer.get_current_span() is span
    assert not span.is_recording()
    tracer.force_flush(10_000)
    (s,) = spans_named(judgment_backend, uid, 1)
    a = s["attributes"]
    assert (a["plain"], a["number"], a["x"], a["y"]) == ("text", 3, 1.5, True)
    assert orjson.loads(a["structured"]) == {"a": [1, 2]}
    assert "none" not in a and "" not in a
    assert orjson.loads(a["judgment.input"]) == {"q": 1} and a["judgment.output"] == "answer"
    assert a["judgment.span_kind"] == "llm"


def test_setters_outside_a_span_do_nothing(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    errors = tracer.get_health_metrics()["sdk_errors_isolated"]
    submitted = get_worker().stats()["submitted"]
    tracer.set_attribute("k", "v")
    tracer.set_customer_id("c")
    tracer.set_session_id("s")
    tracer.set_input({"a": 1})
    tracer.set_llm_span()
    tracer.tag(["t"])
    tracer.async_evaluate(input="i", output="o", scorers=["faithfulness"])
    tracer.async_trace_evaluate("faithfulness")
    assert tracer.get_current_span().is_recording() is False
    # Nothing raised inside the guards (they would have counted it), nothing was queued.
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == errors
    assert get_worker().stats()["submitted"] == submitted
    with tracer.span(f"{uid}-later"):
        pass
    tracer.force_flush(10_000)
    (later,) = spans_named(judgment_backend, uid, 1)
    assert "judgment.customer_id" not in later["attributes"]
    assert "judgment.session_id" not in later["attributes"]


def test_recorded_output_overrides_set_output(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    @tracer.observe(span_name=f"{uid}-f")
    def f() -> str:
        tracer.set_output("intermediate")
        return "final"

    f()
    tracer.force_flush(10_000)
    assert spans_named(judgment_backend, uid, 1)[0]["attributes"]["judgment.output"] == "final"


def test_customer_and_session_ids_stay_in_their_subtree(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    with tracer.span(f"{uid}-root"):
        with tracer.span(f"{uid}-before"):
            pass
        tracer.set_customer_id("cust-1")
        tracer.set_session_id("sess-1")
        with tracer.span(f"{uid}-child"):
            with tracer.span(f"{uid}-grandchild"):
                pass
    with tracer.span(f"{uid}-later"):  # upstream stamped the id on every later span
        pass
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 5))
    for name in ("root", "child", "grandchild"):
        attrs = spans[f"{uid}-{name}"]["attributes"]
        assert (
            attrs["judgment.customer_id"] == "cust-1" and attrs["judgment.session_id"] == "sess-1"
        )
    for name in ("before", "later"):
        assert "judgment.customer_id" not in spans[f"{uid}-{name}"]["attributes"]


def test_start_span_and_use_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    detached = tracer.start_span(f"{uid}-detached")
    assert tracer.get_current_span() is not detached
    with tracer.use_span(detached, end_on_exit=True):
        with tracer.span(f"{uid}-inside"):
            pass
    low = tracer._tracer.start_span(f"{uid}-otel-style", attributes={"k": 1})
    low.end()
    with tracer.get_tracer().start_as_current_span(f"{uid}-current") as cur:
        assert tracer.get_current_span() is cur
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 4))
    assert spans[f"{uid}-inside"]["parent_span_id"] == spans[f"{uid}-detached"]["span_id"]
    assert spans[f"{uid}-otel-style"]["attributes"]["k"] == 1


def test_use_span_records_failures_without_adding_its_own(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("str broke")

    failing = tracer.start_span(f"{uid}-failing")
    with pytest.raises(Unprintable):  # the user's exception, not the SDK's RuntimeError
        with tracer.use_span(failing, end_on_exit=True):
            raise Unprintable()
    interrupted = tracer.start_span(f"{uid}-interrupted")
    with pytest.raises(KeyboardInterrupt):
        with tracer.use_span(interrupted, end_on_exit=True):
            raise KeyboardInterrupt
    quiet = tracer.start_span(f"{uid}-quiet")
    with pytest.raises(ValueError):
        with tracer.use_span(quiet, True, record_exception=False, set_status_on_exception=False):
            raise ValueError("not recorded")
    tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 3))
    assert spans[f"{uid}-failing"]["status_code"] == 2
    assert spans[f"{uid}-failing"]["events"][0]["name"] == "exception"
    assert spans[f"{uid}-interrupted"]["status_code"] == 0  # ended, recorded, not an error
    assert spans[f"{uid}-interrupted"]["events"][0]["attributes"]["exception.escaped"] == "True"
    assert spans[f"{uid}-quiet"]["status_code"] == 0 and spans[f"{uid}-quiet"]["events"] == []


def test_a_scope_left_in_another_context_is_counted(tracer: Tracer) -> None:
    import contextvars

    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    scope = tracer.span("crossing")
    contextvars.copy_context().run(scope.__enter__)
    contextvars.copy_context().run(scope.__exit__, None, None, None)  # no exception escapes
    assert tracer.get_current_span().is_recording() is False  # this context is untouched
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before + 1


def test_agent_context(tracer: Tracer, judgment_backend: JudgmentBackend, uid: str) -> None:
    class Planner:
        name = "planner-7"

        @tracer.agent(identifier="name")
        def run(self) -> None:
            with tracer.span(f"{uid}-step"):
                pass

    Planner().run()
    tracer.force_flush(10_000)
    (step,) = spans_named(judgment_backend, uid, 1)
    a = step["attributes"]
    assert (
        a["judgment.agent_class_name"] == "Planner"
        and a["judgment.agent_instance_name"] == "planner-7"
    )
    assert a["judgment.is_agent_entry_point"] is True and len(a["judgment.agent_id"]) == 36


def test_isolated_tracer_has_its_own_context(
    tracer: Tracer, judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    isolated = Tracer(project_name="isolated-test", isolated=True)
    with tracer.span(f"{uid}-global"):
        with isolated.span(f"{uid}-isolated"):
            pass
    tracer.force_flush(10_000)
    isolated.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 2))
    assert spans[f"{uid}-isolated"]["parent_span_id"] == ""
    isolated.shutdown(2000)


def test_set_span_attribute_on_a_given_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    span = tracer.start_span(f"{uid}-given")
    tracer.set_span_attribute(span, "plain", 3)
    tracer.set_span_attribute(span, "structured", {"a": [1, 2]})
    tracer.set_span_attribute(span, "skipped", None)
    tracer.set_span_attribute(None, "ignored", 1)
    span.end()
    tracer.force_flush(10_000)
    (stored,) = spans_named(judgment_backend, uid, 1)
    assert stored["attributes"]["plain"] == 3
    assert orjson.loads(stored["attributes"]["structured"]) == {"a": [1, 2]}
    assert "skipped" not in stored["attributes"]


def test_override_project_from_the_root_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = f"other-{uid}"
    with tracer.span(f"{uid}-first"):
        tracer.override_project(other)  # not resolved yet: the name goes on the spans
        with tracer.span(f"{uid}-first-child"):
            pass
    assert tracer.force_flush(10_000)
    own_id = tracer.get_effective_project_id()
    projects = {p["project_name"]: p["project_id"] for p in judgment_backend.projects()}
    assert own_id == projects[tracer.project_name]
    assert get_control_worker().flush(10)  # the resolution ran on the control worker
    other_id = {p["project_name"]: p["project_id"] for p in judgment_backend.projects()}[other]
    with tracer.span(f"{uid}-second"):
        tracer.override_project(other)
        assert tracer.get_effective_project_id() == other_id
        with tracer.span(f"{uid}-second-child"):
            with caplog.at_level(logging.ERROR, logger="judgeval_fast"):
                tracer.override_project("not-from-a-child")
    assert "must be called from a root span" in caplog.text
    assert tracer.get_effective_project_id() == own_id  # outside the overridden trace
    assert tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 4))
    for name in (f"{uid}-first", f"{uid}-first-child"):
        assert spans[name]["attributes"]["judgment.project_name_override"] == other
    for name in (f"{uid}-second", f"{uid}-second-child"):
        assert spans[name]["attributes"]["judgment.project_id_override"] == other_id
    assert not any(n == "not-from-a-child" for n in str(spans).split("'"))


# -- API calls: queued on the worker -----------------------------------------------------------


def test_tag_goes_through_the_worker(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    client = JudgmentSyncClient(judgment_backend.url, API_KEY, ORG_ID, timeout=0.5)
    t = Tracer(project_name=f"tags-{uid}", api_client=client)
    with t.span(f"{uid}-resolved"):
        pass
    assert t.force_flush(10_000)  # the project id is known: only the tags are in play
    judgment_backend.set_faults(blackhole=True, paths=["/traces/tags/add"])
    try:
        with t.span(f"{uid}-tagged") as span:
            t.tag([f"{uid}-a", f"{uid}-b"])
            t.tag(f"{uid}-c")
            trace_hex = span.get_span_context().trace_id_hex
        # Had tag() posted on this thread, it would have returned only after the black
        # hole's timeout, with nothing left pending. Both calls are still to be made.
        assert t.get_health_metrics()["api_calls_pending"] >= 2
        # Lift the black hole only once it holds the first attempt, so a retry is certain.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            r["path"] == "/traces/tags/add" and r["fault"] for r in judgment_backend.requests()
        ):
            time.sleep(0.02)
    finally:
        judgment_backend.clear_faults()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the worker times out, backs off and retries
        tags = [x for x in judgment_backend.tags() if x["tag"].startswith(uid)]
        if len(tags) == 3:
            break
        time.sleep(0.02)
    assert sorted(x["tag"] for x in tags) == [f"{uid}-a", f"{uid}-b", f"{uid}-c"]
    assert {x["trace_id"] for x in tags} == {trace_hex}
    assert {x["project_name"] for x in tags} == {t.project_name}
    assert t.get_health_metrics()["api_calls_retried"] >= 1
    t.shutdown(2000)


def test_async_evaluate_both_forms(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    class Scorer:
        def get_scorer_config(self) -> dict[str, Any]:
            return {"score_type": "answer_relevancy", "threshold": 0.5, "name": uid}

    with tracer.span(f"{uid}-evaluated") as span:
        tracer.async_evaluate(Scorer(), {"input": "q", "actual_output": "a"})
        tracer.async_evaluate(input={"prompt": "p"}, output={"response": "r"}, scorers=[Scorer()])
        span_hex = span.get_span_context().span_id_hex
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        evals = [e for e in judgment_backend.evaluations() if uid in orjson.dumps(e).decode()]
        if len(evals) == 2:
            break
        time.sleep(0.02)
    assert len(evals) == 2
    body = orjson.dumps(evals).decode()
    assert (
        f"async_evaluate_{span_hex}" in body
        and '"prompt":"p"' in body
        and '"actual_output":"a"' in body
    )


def test_evaluation_off_means_no_call(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    t = Tracer(project_name="no-eval", enable_evaluation=False)
    with patch.object(t.api_client, "add_to_run_eval_queue_examples") as call:
        with t.span(f"{uid}-s"):
            t.async_evaluate(input="i", output="o", scorers=["faithfulness"])
            t.async_trace_evaluate("faithfulness")

        get_worker().flush(5)
    assert call.call_count == 0
    t.shutdown(2000)


def test_async_trace_evaluate_marks_the_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    with tracer.span(f"{uid}-root"):
        tracer.async_trace_evaluate({"score_type": "faithfulness", "name": "f"})
    tracer.force_flush(10_000)
    (span,) = spans_named(judgment_backend, uid, 1)
    run = orjson.loads(span["attributes"]["judgment.pending_trace_eval"])
    assert run["trace_and_span_ids"] == [[span["trace_id"], span["span_id"]]]
    assert run["judgment_scorers"] == [{"score_type": "faithfulness", "name": "f"}]


def test_api_error_signatures() -> None:
    a = JudgmentAPIError(429, "slow down", None)
    b = JudgmentAPIError(status_code=429, message="Rate limit exceeded")
    assert (a.status_code, a.detail, str(a)) == (429, "slow down", "429: slow down")
    assert (b.status_code, b.detail, str(b)) == (
        429,
        "Rate limit exceeded",
        "429: Rate limit exceeded",
    )


# -- no network I/O on the caller's thread -----------------------------------------------------


def test_construction_and_spans_never_wait_for_the_api(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    """The project id is resolved on a worker: a black-holed API cannot stall the caller."""
    _env(monkeypatch, judgment_backend)
    project = f"unresolved-{uid}"
    judgment_backend.set_faults(blackhole=True, paths=["/projects/resolve/"])
    try:
        t0 = time.perf_counter()
        t = Tracer(project_name=project)
        with t.span(f"{uid}-held"):
            pass
        # A resolution on this thread would wait out the black hole (RESOLVE_TIMEOUT,
        # 5 s); the bound is loose so that a loaded machine cannot fail it.
        assert time.perf_counter() - t0 < 2.0
        assert t.force_flush(300) is False  # held until the project id is known
        assert t.get_health_metrics()["project_resolved"] is False
    finally:
        judgment_backend.clear_faults()
    assert t.force_flush(15_000) is True  # the resolution is retried and the spans go
    (span,) = spans_named(judgment_backend, uid, 1)
    projects = {
        p["project_name"]: p["project_id"]
        for p in judgment_backend.client.request("GET", "/_admin/projects")
    }
    assert span["project_id"] == projects[project]  # the X-Project-Id the exporter sent
    t.shutdown(2000)


def test_export_headers_and_auth(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    with tracer.span(f"{uid}-h"):
        pass
    tracer.force_flush(10_000)
    spans_named(judgment_backend, uid, 1)
    req = next(
        r
        for r in reversed(judgment_backend.requests())
        if r["path"] == "/otel/v1/traces" and r["status"] == 200
    )
    assert req["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert req["headers"]["X-Organization-Id"] == ORG_ID
    assert req["headers"]["X-Project-Id"] and req["headers"]["User-Agent"].startswith(
        "judgeval-fast/"
    )


def test_without_credentials_monitoring_is_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("JUDGMENT_API_KEY", raising=False)
    monkeypatch.delenv("JUDGMENT_ORG_ID", raising=False)
    t = Tracer(project_name="no-creds")

    def f() -> int:
        return 1

    assert t.observe(f) is f and "monitoring is off" in caplog.text
    with t.span("nothing") as span:
        assert not span.is_recording()
    assert t.get_effective_project_id() is None
    assert t.get_health_metrics()["project_resolved"] is False
    # Tracers with monitoring off cost no exporter each: they share one stand-in.
    gc.collect()
    exporters = _native.runtime_info()["exporters"]
    more = [Tracer(project_name=f"no-creds-{i}") for i in range(50)]
    assert _native.runtime_info()["exporters"] <= exporters  # not one more per tracer
    for x in (t, *more):
        x.shutdown(100)
    assert Tracer(project_name="no-creds-after").get_health_metrics()["queue_capacity"] == 1


def test_override_project_resolves_once_on_the_control_worker(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    other = f"busy-{uid}"
    with tracer.span(f"{uid}-own"):
        pass
    assert tracer.force_flush(10_000)  # the tracer's own project is resolved: not counted
    api_before = get_worker().stats()["submitted"]
    before = len(judgment_backend.requests())
    for i in range(200):
        with tracer.span(f"{uid}-{i}"):
            tracer.override_project(other)
    assert get_control_worker().flush(10)
    resolves = [
        r
        for r in judgment_backend.requests()[before:]
        if r["path"] == "/projects/resolve/" and r["status"] == 200
    ]
    assert len(resolves) == 1  # upstream: one blocking POST per call until it succeeds
    assert get_worker().stats()["submitted"] == api_before  # tags' queue left alone
    with tracer.span(f"{uid}-resolved"):
        tracer.override_project(other)
        assert tracer.get_effective_project_id() == next(
            p["project_id"] for p in judgment_backend.projects() if p["project_name"] == other
        )


def test_a_lost_project_resolution_is_queued_again(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    """The control worker drops its oldest call when full; a destination whose resolution
    was dropped must not hold its spans forever."""
    from judgeval_fast import destination

    _env(monkeypatch, judgment_backend)
    monkeypatch.setattr(destination, "RESOLVE_STALE_SECONDS", 0.5)
    control = get_control_worker()
    gate = threading.Event()
    control.submit(lambda: gate.wait(10))  # occupies the control thread
    t = Tracer(project_name=f"lost-{uid}")
    with t.span(f"{uid}-held"):  # queues the resolution behind the gate
        pass
    dropped = control.stats()["dropped"]
    for _ in range(control.stats()["capacity"]):
        control.submit(lambda: None)  # pushes the resolution out (drop-oldest)
    assert control.stats()["dropped"] > dropped
    gate.set()
    assert control.flush(10)
    assert t.get_health_metrics()["project_resolved"] is False  # the call was lost
    assert t.get_health_metrics()["api_calls_dropped"] >= 1  # and counted
    time.sleep(0.6)  # past the stale window, the next span queues it again
    with t.span(f"{uid}-next"):
        pass
    assert t.force_flush(10_000)
    assert {s["name"] for s in spans_named(judgment_backend, uid, 2)} == {
        f"{uid}-held",
        f"{uid}-next",
    }
    t.shutdown(1000)


# -- lifecycle ---------------------------------------------------------------------------------


def test_flush_and_shutdown_are_bounded_with_a_black_hole(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    t = Tracer(project_name="bounded")
    with t.span(f"{uid}-warm"):
        pass
    assert t.force_flush(10_000)
    judgment_backend.set_faults(blackhole=True, paths=["/otel/v1/traces"])
    try:
        for _ in range(100):
            with t.span(f"{uid}-x"):
                pass
        t0 = time.monotonic()
        assert t.force_flush(timeout_millis=300) is False
        assert time.monotonic() - t0 < 0.5
        t0 = time.monotonic()
        t.shutdown(timeout_millis=500)
        assert time.monotonic() - t0 < 0.8
    finally:
        judgment_backend.clear_faults()


def test_after_shutdown_spans_are_counted_no_ops(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, judgment_backend)
    t = Tracer(project_name="after-shutdown")

    @t.observe
    def f() -> int:
        return 5

    t.shutdown(2000)
    t.shutdown(2000)  # a no-op
    assert f() == 5
    with t.span("late") as span:
        assert not span.is_recording()
    assert not t.start_span("late-too").is_recording()
    assert t.get_health_metrics()["spans_after_shutdown"] == 3  # one counter for every path


def test_concurrent_tracer_shutdown(tracer: Tracer) -> None:
    """The plan's test_concurrent_tracer_shutdown, with the `import time` it lacks."""
    errors: list[BaseException] = []

    def create_spans() -> None:
        try:
            for i in range(1000):
                with tracer.span(f"concurrent-{i}"):
                    time.sleep(0.001)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=create_spans)
    thread.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    tracer.shutdown(timeout_millis=5000)
    assert time.monotonic() - t0 < 5.5
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    assert tracer.get_health_metrics()["spans_after_shutdown"] > 0


def test_health_metrics(tracer: Tracer, uid: str) -> None:
    for _ in range(10):
        with tracer.span(f"{uid}-m"):
            pass
    tracer.force_flush(10_000)
    m = tracer.get_health_metrics()
    for key in (
        "spans_dropped",
        "queue_utilization",
        "queue_size",
        "queue_capacity",
        "spans_exported",
        "export_failures",
        "export_retries",
        "metadata_entries",
        "metadata_evictions",
        "api_calls_pending",
        "api_calls_failed",
        "api_calls_dropped",
    ):
        assert key in m, key
    assert (
        m["spans_exported"] >= 10
        and m["queue_capacity"] == 65536
        and 0 <= m["queue_utilization"] <= 1
    )
    assert m["exporter_gil_acquisitions"] == 0
    # The process-wide report (judgeval_fast.health(), `judgeval-fast health`) lists the
    # tracer's exporter too, with the same counters.
    native = tracer.get_span_processor()._destination.native
    reported = [e for e in judgeval_fast.health()["exporters"] if e["endpoint"] == native.endpoint]
    assert reported and max(e["exported"] for e in reported) >= 10
    control = judgeval_fast.health()["control_worker"]  # it resolved the project id
    assert control is not None and control["succeeded"] >= 1


def test_tracers_are_not_kept_alive(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, judgment_backend)
    t = Tracer(project_name="collectable")
    ref = weakref.ref(t)
    with t.span("s"):
        pass
    t.shutdown(2000)
    del t
    gc.collect()
    assert ref() is None


def test_tracers_share_an_exporter_only_with_the_same_bounds(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    small = ExporterConfig(max_queue_size=16, max_batch_size=16)
    a = Tracer(project_name=f"bounds-{uid}", exporter_config=small)
    b = Tracer(
        project_name=f"bounds-{uid}",
        exporter_config=ExporterConfig(max_queue_size=16, max_batch_size=16),
    )
    c = Tracer(project_name=f"bounds-{uid}")

    def native(t: Tracer) -> _native.Exporter:
        return t.get_span_processor()._destination.native

    assert native(a) is native(b) and native(a) is not native(c)
    d = Tracer(project_name=f"bounds-{uid}", exporter_config=ExporterConfig())
    assert native(d) is native(c)  # the default, spelled out or not, is one destination
    d.shutdown(1000)
    assert native(a).stats()["queue_capacity"] == 16
    assert native(c).stats()["queue_capacity"] > 16
    for t in (a, b, c):
        t.shutdown(1000)


def test_two_thousand_tracers_share_one_exporter(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The locust file makes one tracer per simulated user."""
    _env(monkeypatch, judgment_backend)
    before_threads = threading.active_count()
    before_exporters = _native.runtime_info()["exporters"]
    t0 = time.perf_counter()
    tracers = [
        Tracer(project_name="load-test-shared", enable_evaluation=False) for _ in range(2000)
    ]
    elapsed = time.perf_counter() - t0
    for t in tracers[:50]:
        with t.span("user-span"):
            pass
    assert tracers[0].force_flush(10_000)
    assert _native.runtime_info()["exporters"] <= before_exporters + 1
    assert threading.active_count() == before_threads  # native threads are not Python threads
    # How fast tracers are made is a benchmark's business; printed for the record only.
    print(f"2000 tracers in {elapsed:.2f}s")
    for t in tracers:
        t.shutdown(100)


# -- guarded public API ------------------------------------------------------------------------


def test_a_replaced_method_that_raises_is_isolated(tracer: Tracer) -> None:
    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    with patch.object(tracer, "set_attribute", side_effect=TypeError("Cannot serialize")):
        with tracer.span("guarded"):
            assert tracer.set_attribute("key", object()) is None
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before + 1
    # the real implementation is back after the patch
    assert "_jf_overrides" in vars(tracer) and "set_attribute" not in vars(tracer)["_jf_overrides"]


def test_isolated_errors_are_counted_each_and_logged_once_per_burst(
    tracer: Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    with patch.object(tracer, "tag", side_effect=RuntimeError("tag bug")):
        with caplog.at_level(logging.WARNING, logger="judgeval_fast"):
            for _ in range(50):
                assert tracer.tag("x") is None
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before + 50
    reports = [r.getMessage() for r in caplog.records if "was isolated" in r.getMessage()]
    assert len(reports) == 1 and "tag bug" in reports[0], reports


def test_python_exporter_override_is_scoped_to_its_tracer(
    tracer: Tracer, judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    _env(monkeypatch, judgment_backend)
    other = Tracer(project_name=tracer.project_name)  # same destination, same shared exporter
    seen: list[str] = []

    def record(spans: Any) -> None:
        seen.extend(s.name for s in spans)

    exporter = tracer._tracer_provider._span_processor._span_exporter
    with patch.object(exporter, "export", side_effect=record):
        with tracer.span(f"{uid}-patched"):
            pass
        with other.span(f"{uid}-other"):
            pass
        tracer.force_flush(10_000)
        other.force_flush(10_000)
    assert seen == [f"{uid}-patched"]
    assert [s["name"] for s in spans_named(judgment_backend, uid, 1)] == [f"{uid}-other"]
    other.shutdown(2000)


@contextlib.contextmanager
def both_paths_held(
    backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> Iterator[Tracer]:
    """A resolved tracer with one span held on each path: the native one by a black-holed
    trace route, the Python one by an export() that hangs until the block exits."""
    _env(monkeypatch, backend)
    t = Tracer(project_name=f"held-{uid}")
    with t.span(f"{uid}-resolve"):
        pass
    assert t.force_flush(10_000)
    release = threading.Event()
    backend.set_faults(blackhole=True, paths=["/otel/v1/traces"])
    try:
        with t.span(f"{uid}-native"):
            pass
        exporter = t._tracer_provider._span_processor._span_exporter
        exporter.export = lambda spans: release.wait(10)
        with t.span(f"{uid}-python"):
            pass
        yield t
    finally:
        release.set()
        backend.clear_faults()
        t.shutdown(1_000)


def test_force_flush_of_both_paths_shares_one_deadline(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    with both_paths_held(judgment_backend, monkeypatch, uid) as t:
        t0 = time.monotonic()
        assert t.force_flush(1_000) is False
        assert time.monotonic() - t0 < 1.6  # one second in all, not one per path


def test_shutdown_of_both_paths_shares_one_deadline(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    with both_paths_held(judgment_backend, monkeypatch, uid) as t:
        t0 = time.monotonic()
        assert t.get_span_processor().shutdown(1_000) is False
        assert time.monotonic() - t0 < 1.6  # one second in all, not one per path
        deadline = time.monotonic() + 5  # the held span is counted once its send is aborted
        while t.get_health_metrics()["spans_dropped"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert t.get_health_metrics()["spans_dropped"] >= 1


def test_add_span_processor_is_refused_without_raising(
    tracer: Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="judgeval_fast"):
        assert tracer.tracer_provider.add_span_processor(object()) is None
    assert "add_span_processor(object) is ignored" in caplog.text


# -- LLM client wrapping -----------------------------------------------------------------------


class _Completions:
    def create(self, **kwargs: Any) -> Any:
        from types import SimpleNamespace

        message = SimpleNamespace(content=f"echo {kwargs['messages'][-1]['content']}")
        return SimpleNamespace(
            choices=[SimpleNamespace(message=message)],
            model=kwargs["model"],
            usage=SimpleNamespace(prompt_tokens=11, completion_tokens=7),
        )


class _Chat:
    completions = _Completions()


class FakeOpenAI:
    """Shaped like openai.OpenAI (wrap() recognises clients by their module)."""

    chat = _Chat()


FakeOpenAI.__module__ = "openai._client"


def test_wrap_traces_llm_calls(tracer: Tracer, judgment_backend: JudgmentBackend, uid: str) -> None:
    client = tracer.wrap(FakeOpenAI())
    with tracer.span(f"{uid}-agent"):
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.choices[0].message.content == "echo hi"
    tracer.force_flush(10_000)
    spans = spans_named(judgment_backend, "OPENAI_API_CALL", 1)
    call = spans[-1]
    a = call["attributes"]
    assert a["judgment.span_kind"] == "llm" and a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["judgment.output"] == "echo hi" and a["gen_ai.usage.input_tokens"] == 11
    assert a["gen_ai.usage.output_tokens"] == 7 and a["judgment.llm.provider"] == "openai"


def _fresh_openai() -> FakeOpenAI:
    client = FakeOpenAI()
    client.chat = _Chat()  # type: ignore[misc]  # its own method, not the class-shared one
    client.chat.completions = _Completions()  # type: ignore[misc]
    return client


def test_module_wrap_uses_the_newest_live_tracer(
    judgment_backend: JudgmentBackend, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    from judgeval.v1.instrumentation import wrap

    _env(monkeypatch, judgment_backend)
    old = Tracer(project_name=f"wrap-old-{uid}")
    new = Tracer(project_name=f"wrap-new-{uid}")
    newest_but_shut = Tracer(project_name=f"wrap-shut-{uid}")
    newest_but_shut.shutdown(1000)
    client = wrap(_fresh_openai())
    with new.span(f"{uid}-root"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert new.force_flush(10_000)
    root, call = spans_named(judgment_backend, f"{uid}-root", 1)[0], None
    for span in judgment_backend.spans(name="OPENAI_API_CALL"):
        if span["trace_id"] == root["trace_id"]:
            call = span
    assert call is not None and call["parent_span_id"] == root["span_id"]
    assert call["resource_attributes"]["service.name"] == new.project_name
    assert newest_but_shut.get_health_metrics()["spans_after_shutdown"] == 0
    for t in (old, new):
        t.shutdown(1000)


def _env(monkeypatch: pytest.MonkeyPatch, backend: JudgmentBackend) -> None:
    monkeypatch.setenv("JUDGMENT_API_URL", backend.url)
    monkeypatch.setenv("JUDGMENT_API_KEY", API_KEY)
    monkeypatch.setenv("JUDGMENT_ORG_ID", ORG_ID)


# -- the native hot path (csrc/tracing.c) ------------------------------------------------


def test_sync_observe_is_a_c_callable_with_no_python_frame_of_ours(tracer: Tracer) -> None:
    """Between the caller's frame and the function's there is nothing in Python: the
    traceback of an exception raised inside goes straight from this test to the function."""

    @tracer.observe
    def fails(x: int) -> None:
        raise ValueError(x)

    assert isinstance(fails, _native.Observed)
    with pytest.raises(ValueError) as info:
        fails(1)
    frames = [entry.name for entry in info.traceback]
    assert frames == ["test_sync_observe_is_a_c_callable_with_no_python_frame_of_ours", "fails"]


def test_observed_keeps_the_function_metadata_and_binds_as_a_method(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    import inspect
    import pickle

    class Agent:
        def __init__(self, name: str) -> None:
            self.name = name

        @tracer.observe(span_name=f"{uid}-method")
        def act(self, task: str, *, loud: bool = False) -> str:
            """Act on a task."""
            return f"{self.name}:{task.upper() if loud else task}"

        @staticmethod
        @tracer.observe(span_name=f"{uid}-static")
        def helper(x: int) -> int:
            return x + 1

    a = Agent("bot")
    assert a.act("go") == "bot:go" and a.act("go", loud=True) == "bot:GO"
    assert Agent.act(a, "x") == "bot:x" and a.helper(1) == 2 and Agent.helper(2) == 3
    assert Agent.act.__name__ == "act" and Agent.act.__doc__ == "Act on a task."
    assert Agent.act.__qualname__.endswith("Agent.act")
    assert (
        str(inspect.signature(Agent.act)) == "(self, task: 'str', *, loud: 'bool' = False) -> 'str'"
    )
    plain = module_level_observed
    observed = tracer.observe(plain)
    globals()["module_level_observed"] = observed  # where pickle looks it up by name
    try:
        assert pickle.loads(pickle.dumps(observed)) is observed
    finally:
        globals()["module_level_observed"] = plain
    assert tracer.force_flush(10_000)
    spans = spans_named(judgment_backend, uid, 5)
    inputs = [
        orjson.loads(s["attributes"]["judgment.input"]) for s in spans if "method" in s["name"]
    ]
    assert {"task": "go", "loud": True} == {k: v for k, v in inputs[1].items() if k != "self"}
    assert inputs[0]["task"] == "go" and "self" in inputs[0]


def test_native_set_attribute_and_span_still_yield_to_a_replacement(tracer: Tracer) -> None:
    """tracer.span / tracer.set_attribute are the C methods themselves (no wrapper), until a
    test or user replaces them on the instance: then the replacement is guarded as before."""
    assert tracer.set_attribute == tracer._core.set_attribute
    assert tracer.span == tracer._core.span
    with patch.object(tracer, "set_attribute", side_effect=TypeError("Cannot serialize")):
        with tracer.span("x"):
            tracer.set_attribute("k", "v")  # isolated, not raised
    assert tracer.set_attribute == tracer._core.set_attribute
    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    tracer.set_attribute("only-one-argument")  # type: ignore[call-arg]
    with tracer.span() as s:  # type: ignore[call-arg]
        assert not s.is_recording()
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before + 2


def test_a_reentrant_serializer_does_not_corrupt_the_shared_arguments(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    """json_encoder runs user code (model_dump) that may call observed code, which
    serialises again while the outer orjson call is still reading its arguments."""

    @tracer.observe(span_name=f"{uid}-inner")
    def inner(v: int) -> int:
        return v

    class Model:
        def model_dump(self, mode: str) -> dict[str, int]:
            return {"inner": inner(41) + 1}

    @tracer.observe(span_name=f"{uid}-outer")
    def outer(m: Model) -> Model:
        return m

    assert isinstance(outer(Model()), Model)
    assert tracer.force_flush(10_000)
    spans = by_name(spans_named(judgment_backend, uid, 3))  # outer, and inner once per dump
    assert orjson.loads(spans[f"{uid}-outer"]["attributes"]["judgment.input"]) == {
        "m": {"inner": 42}
    }
    assert orjson.loads(spans[f"{uid}-outer"]["attributes"]["judgment.output"]) == {"inner": 42}


def test_the_core_follows_the_tracer_state(tracer: Tracer) -> None:
    """Shutdown, monitoring off and the serializer reach the native core at once."""
    core = tracer._core
    assert core.enabled == 1 and core.serializer is None  # the default runs natively
    tracer.serializer = repr
    assert core.serializer is repr
    tracer.enable_monitoring = False
    assert core.enabled == 0
    with tracer.span("off") as s:
        assert not s.is_recording()
    tracer.enable_monitoring = True
    tracer.shutdown(1000)
    assert core.enabled == 0 and core.shut_down == 1
    with tracer.span("after"):
        pass
    assert tracer.get_health_metrics()["spans_after_shutdown"] == 1


def module_level_observed() -> None:
    """Observed in a test, and pickled by reference as the function would be."""


def test_a_keyboard_interrupt_inside_an_sdk_step_reaches_the_user(tracer: Tracer) -> None:
    """Ctrl-C while we run the user's repr() (serialising an input) is not an SDK error to
    swallow: it surfaces in the user's code right after, as KeyboardInterrupt."""

    class Interrupting:
        def __repr__(self) -> str:
            raise KeyboardInterrupt

    @tracer.observe
    def takes(x: object) -> int:
        return 1

    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    with pytest.raises(KeyboardInterrupt):
        takes(Interrupting())
        for _ in range(1_000_000):  # the re-armed interrupt fires at the next check
            pass
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before


def test_a_scope_entered_and_never_exited_still_ends_its_span(
    tracer: Tracer, judgment_backend: JudgmentBackend, uid: str
) -> None:
    """A generator abandoned inside ``with tracer.span(...)`` never runs __exit__: the span
    ends (and is exported) when the scope object goes."""
    scope = tracer.span(f"{uid}-abandoned")
    span = scope.__enter__()
    assert span.is_recording()
    tracer._var.set(None)  # what the abandoned frame's context would have been left as
    del scope
    gc.collect()
    assert not span.is_recording()
    assert tracer.force_flush(10_000)
    assert spans_named(judgment_backend, f"{uid}-abandoned", 1)


def test_a_scope_entered_twice_keeps_its_span_open_and_reports_it(tracer: Tracer) -> None:
    scope = tracer.span("twice")
    before = tracer.get_health_metrics()["sdk_errors_isolated"]
    with scope as outer:
        with scope as inner:
            assert not inner.is_recording()
        assert outer.is_recording()  # the inner exit did not end it
    assert not outer.is_recording()
    assert tracer.get_health_metrics()["sdk_errors_isolated"] == before + 1
