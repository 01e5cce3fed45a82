"""Leak check of the tracer's hot path (csrc/tracing.c): Frame, TracerCore, Observed,
SpanScope and GuardBase, on their success and failure paths: a raising function, a
raising serializer, unserialisable values, a token left in another context, bad calls."""

from __future__ import annotations

import contextvars

import orjson
from _leakcheck import BadRepr, BadStr, LeakCheck, Plain

from judgeval_fast._native import Exporter, Frame, GuardBase, Span, SpanScope, Store, TracerCore
from judgeval_fast.serialize import JSON_OPTIONS, json_encoder

check = LeakCheck(__file__)

CURRENT: contextvars.ContextVar[object] = contextvars.ContextVar("leak_current", default=None)
AGENT: contextvars.ContextVar[object] = contextvars.ContextVar("leak_agent", default=None)
ERRORS: list[str] = []


def on_error(where: str, exc: BaseException) -> None:
    if len(ERRORS) < 10:  # bounded: the point is the C side's references, not this list
        ERRORS.append(where)


class Scope(SpanScope):
    __slots__ = ()


def make_core(exporter: Exporter | None = None) -> TracerCore:
    core = TracerCore(
        CURRENT,
        AGENT,
        dumps=orjson.dumps,
        dumps_default=json_encoder,
        dumps_option=JSON_OPTIONS,
        on_error=on_error,
        invalid_span=None,
        scope_type=Scope,
    )
    core.enabled = 1
    core.exporter = exporter
    core.store = STORE
    return core


STORE = Store(100)
EXPORTER = Exporter("http://127.0.0.1:9/leak", paused=True, max_queue_size=64, max_batch_size=64)
CORE = make_core()
CORE_EXPORTING = make_core(EXPORTER)
RAISING = make_core()


def raising_serializer(value: object) -> str:
    raise ValueError("no")


RAISING.serializer = raising_serializer


def f(a: object, b: object) -> dict[str, object]:
    return {"a": a, "b": b}


def boom(a: object) -> None:
    raise KeyError(a)


def method(self: object, a: object, b: object) -> object:
    return a


class Owner:
    method = CORE.observe(method, "method", "tool", ("self", "a", "b"), lambda a, k: {}, True)


OBSERVED = CORE.observe(f, "f", "function", ("a", "b"), lambda a, k: {"args": a, "kw": k}, True)
OBSERVED_EXPORTING = CORE_EXPORTING.observe(f, "f", None, None, None, True)
OBSERVED_RAISING = CORE.observe(boom, "boom", None, None, None, False)
OBSERVED_BAD_SERIALIZER = RAISING.observe(f, "f", None, ("a", "b"), lambda a, k: {}, True, 1)
OWNER = Owner()
BIG = "x" * 5000


def observed_calls() -> None:
    OBSERVED(1, "two")
    OBSERVED(1, b="kw")  # keywords placed natively
    try:
        OBSERVED(1, c="unknown")  # the capture() path; then f raises its TypeError
    except TypeError:
        pass
    OBSERVED_BAD_SERIALIZER(a=1, b=2)  # a positional-only parameter by keyword: capture()
    OBSERVED([1, 2], {"nested": (3,)})
    OBSERVED(Plain(), BadRepr())  # json_encoder's repr(), and a repr() that raises
    OBSERVED_EXPORTING(BIG, 2)
    OWNER.method(1, 2)


def observed_errors() -> None:
    try:
        OBSERVED_RAISING("k")
    except KeyError:
        pass
    OBSERVED_BAD_SERIALIZER({"a": 1}, [2])
    del ERRORS[:]


def observed_nested() -> None:
    with CORE.span("outer") as outer:
        frame = CURRENT.get()
        assert isinstance(frame, Frame) and frame.span is outer
        frame.inherit("judgment.customer_id", "c-1")
        OBSERVED(1, 2)
    token = AGENT.set(("agent-1", None, "Cls", "inst"))
    OBSERVED(3, 4)
    AGENT.reset(token)


def scope_paths() -> None:
    with CORE.span("ok"):
        CORE.set_attribute("k", "v")
        CORE.set_attribute("obj", {"x": [1, 2]})
        CORE.set_attribute("", "skipped")
        CORE.set_attribute("none", None)
        CORE.set_attribute(BadStr(), 1)
    try:
        with CORE.span(span_name="fails"):
            raise ValueError("inside")
    except ValueError:
        pass
    scope = CORE.span("twice")
    with scope:
        with scope:  # re-entered: the inner one records nothing
            pass
    CORE.span()  # a bad call: a scope that records nothing, reported
    CORE.set_attribute("one argument only")
    abandoned = CORE.span("abandoned")
    abandoned.__enter__()
    CURRENT.set(None)
    del abandoned  # never exited: the span still ends when the scope goes
    del ERRORS[:]


def core_steps() -> None:
    started = CORE.begin("begin", "span")
    assert started is not None
    span, frame, token = started
    child, _ = CORE.new_span("child", "tool", frame, 2)
    child.end()
    CORE.abort(span, ValueError("x"))
    CORE.abort(span, KeyboardInterrupt(), True, False)
    CORE.abort(span, "not an exception")
    CORE.finish(span, token)
    CORE.leave(None)
    CORE.serialized({"a": 1})
    CORE.serialized("plain")
    CORE.serialized(Plain())
    RAISING.serialized({"a": 1})
    try:
        CORE.new_span("bad", None, "not a frame")
    except TypeError:
        pass
    del ERRORS[:]


def token_from_another_context() -> None:
    started = contextvars.copy_context().run(CORE.begin, "elsewhere", None)
    assert started is not None
    CORE.finish(started[0], started[2])  # the token belongs to the other context
    CURRENT.set(None)
    del ERRORS[:]


def frames() -> None:
    f1 = Frame(Span("s"), {"a": 1, 2: "b"})
    f1.inherit("k", Plain())
    try:
        f1.inherit(BadStr(), 3)
    except Exception:
        pass
    f1.inherited  # noqa: B018
    f1.span.end()
    try:
        Frame("not a span")
    except TypeError:
        pass
    try:
        f1.inherit("only one")
    except TypeError:
        pass


class Guarded(GuardBase):
    def _bind(self, obj: object, objtype: object) -> object:
        fn = obj.__dict__.setdefault("_jf_guarded", {}).setdefault(self.name, len)
        return fn


class HasGuard:
    g = Guarded()
    g.name = "g"
    g.func = len


def guard_lookups() -> None:
    h = HasGuard()
    h.g  # noqa: B018  (miss, then _bind)
    h.g  # noqa: B018  (hit)
    HasGuard.g  # noqa: B018


def observe_errors() -> None:
    bad = (
        (1, "n", None, None, None, True),
        (f, "n", 3, None, None, True),
        (f, "n", None, [], None, True),
        (f, "n", None, ("a",), None, True),
        (f, "n", None, ("a",), len, True, 2),
    )
    for args in bad:
        try:
            CORE.observe(*args)
        except (TypeError, ValueError):
            pass


check.case("Observed calls (fast path, capture, bound method)", observed_calls, 10_000)
check.case("Observed raising function and serializer", observed_errors, 10_000)
check.case("Observed under a span, inherited, agent", observed_nested, 10_000)
check.case("SpanScope paths and set_attribute", scope_paths, 10_000)
check.case("TracerCore begin/new_span/abort/finish", core_steps, 10_000)
check.case("TracerCore token from another context", token_from_another_context, 10_000)
check.case("Frame inherit and errors", frames, 20_000)
check.case("GuardBase lookups", guard_lookups, 30_000)
check.case("TracerCore.observe argument errors", observe_errors, 10_000)

if __name__ == "__main__":
    check.run()
