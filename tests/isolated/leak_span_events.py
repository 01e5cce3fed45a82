"""Leak check of Span events, record_exception (real tracebacks), __exit__ with an
exception and set_status in every form."""

from __future__ import annotations

from _leakcheck import BadRepr, BadStr, LeakCheck, Plain

from judgeval_fast import _native
from judgeval_fast._native import Span, Status
from judgeval_fast.span import StatusCode

check = LeakCheck(__file__)
BASE = _native.configure()


ITEMS_LIKE = {"m1": 1, "m2": "two", 3: BadRepr()}


def span_events() -> None:
    _native.configure(max_events=4)
    s = Span("events")
    s.add_event("e1")
    s.add_event("e2", {"a": 1, "b": "x", "bad": BadRepr(), 5: None})
    s.add_event(Plain(), ITEMS_LIKE, timestamp=1_700_000_000_000_000_000)
    for i in range(6):  # over max_events
        s.add_event(f"more{i}", {"i": i})
    s.events  # noqa: B018
    s.dropped_events  # noqa: B018
    try:
        s.add_event("bad", attributes=42)
    except TypeError:
        pass
    s.end()
    s.add_event("after end")
    _native.configure(**BASE)


def _raise_nested(depth: int) -> None:
    if depth == 0:
        raise ValueError("boom \u00e9")
    _raise_nested(depth - 1)


NO_TB = OSError(2, "no traceback")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def span_record_exception() -> None:
    s = Span("exc")
    try:
        _raise_nested(2)
    except ValueError as exc:
        s.record_exception(exc)
    s.record_exception(
        NO_TB, {"extra": 1, "bad": BadRepr()}, timestamp=1_700_000_000_000_000_000, escaped=True
    )
    s.record_exception(Unprintable())
    s.record_exception(KeyError("no traceback"))
    s.end()
    s.record_exception(KeyError("after end"))


def span_context_manager_exception() -> None:
    try:
        with Span("cm") as s:
            s.set_attribute("a", 1)
            _raise_nested(1)
    except ValueError:
        pass
    with Span("cm-ok"):
        pass


class StatusLike:
    status_code = 2
    description = "from object"


def span_set_status() -> None:
    s = Span("status")
    s.set_status(0)
    s.set_status(2, "desc")
    s.set_status(StatusCode.ERROR, "enum desc")
    s.set_status(StatusCode.ERROR, BadStr())  # description is converted with str()
    s.set_status(StatusLike())
    s.set_status(StatusLike(), "explicit wins")
    s.set_status(Status((2, "structseq")))
    s.status  # noqa: B018
    for bad in (5, -1, "x", object()):
        try:
            s.set_status(bad)
        except (ValueError, TypeError, AttributeError):
            pass
    s.set_status(1)  # OK is final
    s.set_status(2, "ignored")
    s.end()
    s.set_status(2, "after end")


check.case("Span add_event (+ over max_events)", span_events, 10_000)
check.case("Span record_exception (real traceback)", span_record_exception, 5_000)
check.case("Span __exit__ with an exception", span_context_manager_exception, 3_000)
check.case("Span set_status (every form)", span_set_status, 15_000)

if __name__ == "__main__":
    check.run()
