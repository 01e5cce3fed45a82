"""Leak check of SpanContext: construction (64- and 128-bit ids), properties, hashing,
comparison, repr, argument errors, and the contexts a Span hands out."""

from __future__ import annotations

from _leakcheck import LeakCheck

from judgeval_fast._native import Span, SpanContext

check = LeakCheck(__file__)

TRACE_128 = 0xFEDCBA9876543210_0123456789ABCDEF  # high half set: the 128-bit int paths
SPAN = Span("ctx")
SEEN: dict[SpanContext, int] = {}


def context_new() -> None:
    SpanContext(1, 2)
    SpanContext(TRACE_128, 0xFFFFFFFFFFFFFFFF, True, 0)
    SpanContext(trace_id=TRACE_128, span_id=3, is_remote=False, trace_flags=255)


def context_properties() -> None:
    c = SpanContext(TRACE_128, 0x1122334455667788, is_remote=True)
    c.trace_id  # noqa: B018
    c.span_id  # noqa: B018
    c.trace_flags  # noqa: B018
    c.is_remote  # noqa: B018
    c.is_valid  # noqa: B018
    c.trace_state  # noqa: B018
    c.trace_id_hex  # noqa: B018
    c.span_id_hex  # noqa: B018
    repr(c)
    SpanContext(0, 0).is_valid  # noqa: B018


def context_hash_eq() -> None:
    a = SpanContext(TRACE_128, 7)
    b = SpanContext(TRACE_128, 7)
    hash(a)
    _ = a == b, a != b, a == 5, a != "x"
    SEEN[a] = 1  # equal keys: the dict stays at one entry
    _ = b in SEEN
    {a, b}  # noqa: B018
    try:
        _ = a < b
    except TypeError:
        pass


def context_errors() -> None:
    for args in (
        (-1, 1),
        (2**128, 1),
        (1, 2**64),
        ("x", 1),
        (1, None),
        (1, 1, False, 256),
        (1, 1, False, -1),
    ):
        try:
            SpanContext(*args)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        SpanContext(1)
    except TypeError:
        pass


def span_contexts() -> None:
    SPAN.get_span_context()
    SPAN.context  # noqa: B018
    child = Span("child", parent=SpanContext(TRACE_128, 9, is_remote=True))
    child.parent.trace_id  # noqa: B018
    child.get_span_context().trace_id_hex  # noqa: B018
    child.end()


check.case("SpanContext()", context_new, 60_000)
check.case("SpanContext properties / repr", context_properties, 40_000)
check.case("SpanContext hash / == / in dict", context_hash_eq, 40_000)
check.case("SpanContext argument errors", context_errors, 15_000)
check.case("Span.get_span_context / .context / .parent", span_contexts, 40_000)

if __name__ == "__main__":
    check.run()
