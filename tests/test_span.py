"""The native Span: OpenTelemetry method semantics, ids, clocks, and bad input.

Bad input never raises from set_attribute/add_event: it is truncated, converted or
dropped, and every such decision is counted in span_counters().
"""

from __future__ import annotations

import enum
import time
import traceback
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from judgeval_fast import _native
from judgeval_fast.span import SpanKind, StatusCode

pytestmark = pytest.mark.native


def delta_since(before: dict[str, int]) -> dict[str, int]:
    after = _native.span_counters()
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


@pytest.fixture
def limits() -> Iterator[None]:
    old = _native.configure()
    yield
    _native.configure(**old)


def test_ids_are_unique_and_nonzero() -> None:
    seen_spans: set[int] = set()
    seen_traces: set[int] = set()
    for _ in range(100_000):
        ctx = _native.Span("x").get_span_context()
        assert ctx.span_id and ctx.trace_id
        seen_spans.add(ctx.span_id)
        seen_traces.add(ctx.trace_id)
    assert len(seen_spans) == 100_000 and len(seen_traces) == 100_000


def test_trace_ids_use_all_128_bits() -> None:
    high = [(_native.Span("x").get_span_context().trace_id >> 64) for _ in range(64)]
    assert any(high) and len(set(high)) > 60


def test_child_inherits_trace_and_records_parent() -> None:
    root = _native.Span("root")
    child = _native.Span("child", parent=root)
    assert child.get_span_context().trace_id == root.get_span_context().trace_id
    assert child.parent == root.get_span_context()
    assert root.parent is None
    remote = _native.SpanContext(7, 8, is_remote=True)
    assert _native.Span("c", parent=remote).parent == remote


def test_times_are_monotonic_and_in_ns() -> None:
    before = time.time_ns()
    span = _native.Span("t")
    time.sleep(0.01)
    span.end()
    after = time.time_ns()
    assert before <= span.start_time <= span.end_time <= after  # type: ignore[operator]
    assert span.end_time - span.start_time >= 9_000_000  # type: ignore[operator]


def test_explicit_times() -> None:
    span = _native.Span("t", start_time=1_000)
    span.end(end_time=5_000)
    assert (span.start_time, span.end_time) == (1_000, 5_000)


def test_end_is_idempotent_and_counted() -> None:
    before = _native.span_counters()
    span = _native.Span("e")
    span.end()
    first_end = span.end_time
    span.end()
    assert span.end_time == first_end and not span.is_recording()
    assert delta_since(before)["spans_end_ignored"] == 1


def test_mutators_are_ignored_after_end() -> None:
    span = _native.Span("e", attributes={"a": 1})
    span.end()
    span.set_attribute("b", 2)
    span.set_attributes({"c": 3})
    span.add_event("late")
    span.set_status(2, "late")
    span.update_name("renamed")
    assert dict(span.attributes) == {"a": 1}
    assert span.events == () and span.status.status_code == 0 and span.name == "e"


def test_attributes_are_read_only_views() -> None:
    span = _native.Span("a", attributes={"k": "v"})
    with pytest.raises(TypeError):
        span.attributes["x"] = 1  # type: ignore[index]


def test_non_string_keys_are_converted_and_counted() -> None:
    before = _native.span_counters()
    span = _native.Span("k")
    span.set_attribute(42, "int key")
    span.set_attribute(("t", 1), "tuple key")
    assert dict(span.attributes) == {"42": "int key", "('t', 1)": "tuple key"}
    assert delta_since(before)["keys_converted"] == 2


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_key_that_cannot_be_converted_is_dropped_and_counted() -> None:
    before = _native.span_counters()
    span = _native.Span("k")
    span.set_attribute(Unprintable(), "v")
    assert dict(span.attributes) == {} and span.dropped_attributes == 1
    assert delta_since(before)["attributes_dropped"] == 1


def test_unknown_value_types_become_their_repr() -> None:
    before = _native.span_counters()
    span = _native.Span("v")
    span.set_attribute("d", {"nested": [1, 2]})
    span.set_attribute("o", SimpleNamespace(a=1))
    span.set_attribute("bad", Unprintable())
    attrs = dict(span.attributes)
    assert attrs["d"] == "{'nested': [1, 2]}"
    assert attrs["o"] == "namespace(a=1)"
    assert attrs["bad"] == "<Unprintable>"
    assert delta_since(before)["attributes_converted"] == 3


class Mutator:
    """A value whose repr() (run while the attributes are normalised) mutates the dict
    being read: clears it, or adds an entry each time."""

    def __init__(self, target: dict[Any, Any], grow: bool) -> None:
        self.target, self.grow = target, grow

    def __repr__(self) -> str:
        if self.grow:
            self.target[object()] = Mutator(self.target, grow=True)
        else:
            self.target.clear()
        return "mutated"


@pytest.mark.parametrize("grow", [False, True], ids=["cleared", "grows-every-conversion"])
def test_attributes_dict_mutated_while_it_is_read(grow: bool) -> None:
    """set_attributes()/Span(attributes=) read the caller's dict without copying it; a
    conversion that mutates it must stay memory-safe and terminate (at most the original
    number of entries is visited)."""
    for use_init in (False, True):
        d: dict[Any, Any] = {f"k{i}": i for i in range(20)}
        d["m"] = Mutator(d, grow)
        d.update({f"z{i}": "x" * 100 for i in range(20)})
        n = len(d)
        if use_init:
            span = _native.Span("mut", attributes=d)
        else:
            span = _native.Span("mut")
            span.set_attributes(d)
        attrs = dict(span.attributes)
        assert attrs["m"] == "mutated" and len(attrs) <= n
        assert all(attrs[f"k{i}"] == i for i in range(20))
        span.end()


def test_none_values_are_not_set_and_counted() -> None:
    before = _native.span_counters()
    span = _native.Span("n")
    span.set_attribute("k", None)
    assert "k" not in span.attributes and span.dropped_attributes == 1
    assert delta_since(before)["attributes_dropped"] == 1


def test_nested_sequences_are_flattened_to_strings() -> None:
    span = _native.Span("n", attributes={"l": [[1, 2], {"a": 1}, 3]})
    assert span.attributes["l"] == ("[1, 2]", "{'a': 1}", 3)


def test_enum_values_keep_their_int() -> None:
    class Color(enum.IntEnum):
        RED = 3

    span = _native.Span("e", attributes={"c": Color.RED})
    assert span.attributes["c"] == 3


def test_huge_value_is_truncated_when_set(limits: None) -> None:
    _native.configure(max_attribute_bytes=1024)
    before = _native.span_counters()
    span = _native.Span("h")
    huge = "x" * 100_000_000
    span.set_attribute("huge", huge)
    assert len(span.attributes["huge"]) == 1024
    del huge  # the span keeps only the truncated copy
    assert delta_since(before)["attributes_truncated"] == 1


def test_max_attributes_bounds_a_span(limits: None) -> None:
    _native.configure(max_attributes=3)
    span = _native.Span("m", attributes={"a": 1, "b": 2, "c": 3, "d": 4})
    span.set_attribute("e", 5)
    span.set_attribute("a", 10)  # replacing an existing key is always allowed
    assert dict(span.attributes) == {"a": 10, "b": 2, "c": 3}
    assert span.dropped_attributes == 2


def test_max_events_bounds_a_span(limits: None) -> None:
    _native.configure(max_events=2)
    before = _native.span_counters()
    span = _native.Span("m")
    for i in range(5):
        span.add_event(f"e{i}")
    assert [e.name for e in span.events] == ["e0", "e1"] and span.dropped_events == 3
    assert delta_since(before)["events_dropped"] == 3


def test_events_carry_normalised_attributes_and_times() -> None:
    span = _native.Span("ev")
    span.add_event("a", {"k": [1, 2], 3: object}, timestamp=123)
    span.add_event("b")
    (a, b) = span.events
    assert (a.name, a.timestamp, dict(a.attributes)) == (
        "a",
        123,
        {"k": (1, 2), "3": "<class 'object'>"},
    )
    assert b.timestamp >= span.start_time and dict(b.attributes) == {}


class Code(enum.Enum):
    UNSET = 0
    OK = 1
    ERROR = 2


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ([(2, "boom")], (2, "boom")),
        ([(StatusCode.ERROR, "boom")], (2, "boom")),
        ([(Code.ERROR, "boom")], (2, "boom")),
        ([(SimpleNamespace(status_code=Code.ERROR, description="d"), None)], (2, "d")),
        ([(1, "ignored")], (1, None)),
        ([(1, None), (2, "after ok")], (1, None)),  # OK is final
        ([(2, "e"), (0, None)], (2, "e")),  # UNSET never overrides
        ([(2, "first"), (2, "second")], (2, "second")),
    ],
)
def test_status_rules(
    calls: list[tuple[Any, str | None]], expected: tuple[int, str | None]
) -> None:
    span = _native.Span("s")
    for status, description in calls:
        span.set_status(status, description)
    assert tuple(span.status) == expected


def test_status_validation() -> None:
    span = _native.Span("s")
    with pytest.raises(ValueError, match="status code"):
        span.set_status(7)


def test_kind_validation() -> None:
    assert _native.Span("k", kind=SpanKind.CLIENT).kind == 2
    with pytest.raises(ValueError, match="kind"):
        _native.Span("k", kind=9)


def test_record_exception_matches_otel_attributes() -> None:
    span = _native.Span("x")
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        span.record_exception(exc, attributes={"extra": 1}, escaped=True)
    (event,) = span.events
    attrs = dict(event.attributes)
    assert event.name == "exception"
    assert attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "bad value"
    assert "Traceback (most recent call last)" in attrs["exception.stacktrace"]
    assert "raise ValueError" in attrs["exception.stacktrace"]
    assert attrs["exception.escaped"] == "True" and attrs["extra"] == 1


def test_record_exception_with_unprintable_exception() -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("nope")

    span = _native.Span("x")
    span.record_exception(Weird())
    attrs = dict(span.events[0].attributes)
    assert attrs["exception.message"] == "<unprintable exception>"
    assert attrs["exception.type"].endswith("Weird")


def test_context_manager_records_errors_and_reraises() -> None:
    with pytest.raises(KeyError):
        with _native.Span("cm") as span:
            raise KeyError("missing")
    assert not span.is_recording()
    assert span.status.status_code == 2 and span.status.description == "KeyError: 'missing'"
    assert span.events[0].name == "exception"


def test_context_manager_runs_the_exception_str_once() -> None:
    """__exit__ records the event and the status from one str(exc): the user's __str__
    runs once on our side (traceback.format_exception, for the stacktrace attribute,
    runs it as well, exactly as when it formats the exception on its own)."""

    class Counted(Exception):
        calls = 0

        def __str__(self) -> str:
            Counted.calls += 1
            return "counted"

    try:
        raise Counted
    except Counted as exc:
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    by_traceback = Counted.calls
    Counted.calls = 0
    with pytest.raises(Counted):
        with _native.Span("cm") as span:
            raise Counted
    assert Counted.calls == 1 + by_traceback
    assert span.status.description == f"{__name__}.{Counted.__qualname__}: counted"
    assert dict(span.events[0].attributes)["exception.message"] == "counted"


def test_context_manager_with_an_unprintable_exception() -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("nope")

    with pytest.raises(Weird):
        with _native.Span("cm") as span:
            raise Weird
    assert span.status.description == f"{__name__}.{Weird.__qualname__}"
    assert dict(span.events[0].attributes)["exception.message"] == "<unprintable exception>"


def test_context_manager_base_exception_still_ends_the_span() -> None:
    with pytest.raises(KeyboardInterrupt):
        with _native.Span("cm") as span:
            raise KeyboardInterrupt
    assert not span.is_recording() and span.status.status_code == 0


def test_update_name() -> None:
    span = _native.Span("a")
    span.update_name("b")
    assert span.name == "b"


def test_non_string_name_is_converted() -> None:
    assert _native.Span(123).name == "123"


def test_end_removes_the_span_metadata_from_its_store() -> None:
    store = _native.Store(100)
    span = _native.Span("s", store=store)
    store.set(span, "k", "v")
    assert len(store) == 1
    span.end()
    assert len(store) == 0 and store.get(span, "k") is None


def test_span_keeps_store_alive_and_releases_it() -> None:
    store = _native.Store(10)
    span = _native.Span("s", store=store)
    store.set(span, "k", object())
    del store
    span.end()  # the store core is still referenced by the span: no crash, entry removed


def test_span_context_value_semantics() -> None:
    a = _native.SpanContext(1, 2)
    b = _native.SpanContext(1, 2)
    assert a == b and hash(a) == hash(b) and a != _native.SpanContext(1, 3)
    assert (
        a.is_valid
        and not _native.SpanContext(0, 2).is_valid
        and not _native.SpanContext(1, 0).is_valid
    )
    assert (a.trace_flags, a.is_remote, a.trace_state) == (1, False, None)
    assert "trace_id=0x" in repr(a)
    with pytest.raises(ValueError, match=">= 0"):
        _native.SpanContext(-1, 2)
    with pytest.raises(OverflowError):
        _native.SpanContext(2**128, 2)
    with pytest.raises(OverflowError):
        _native.SpanContext(1, 2**64)


def test_span_is_not_subclassable() -> None:
    with pytest.raises(TypeError):
        type("Sub", (_native.Span,), {})


def test_uninitialised_span_raises_cleanly() -> None:
    span = _native.Span.__new__(_native.Span)
    with pytest.raises(RuntimeError, match="__init__"):
        span.set_attribute("a", 1)


def test_readable_span_properties() -> None:
    span = _native.Span("r", kind=1, attributes={"a": 1})
    assert span.links == () and span.end_time is None and span.kind == 1
    assert span.context == span.get_span_context()
    span.end()
    assert isinstance(span.end_time, int)


def test_context_manager_status_is_bounded_and_valid(limits: None) -> None:
    _native.configure(max_attribute_bytes=1000)
    with pytest.raises(ValueError):
        with _native.Span("cm") as big:
            raise ValueError("x" * 100_000)
    assert len(big.status.description.encode()) <= 1000  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        with _native.Span("cm") as bad:
            raise ValueError("bad \ud800")
    assert bad.status.description == "ValueError: bad ?"
    assert b"bad ?" in bad._encode()


def test_self_referential_status_raises_instead_of_recursing() -> None:
    class Loop:
        @property
        def status_code(self) -> Loop:
            return self

    span = _native.Span("s")
    with pytest.raises((TypeError, ValueError, AttributeError)):
        span.set_status(Loop())
