"""Leak check of unusual-but-legal Span calls: __init__ run again on an instance whose first
__init__ failed half-way; set_status with a Status-like object whose status_code is itself
Status-like; an attribute value of a str subclass that refers back to its span (a cycle
through the untracked Span). These cases currently LEAK; see the messages."""

from __future__ import annotations

from _leakcheck import BadStr, LeakCheck

from judgeval_fast._native import Exporter, Span, Store

check = LeakCheck(__file__)
ENDPOINT = "http://127.0.0.1:9/v1/traces"  # never contacted: no span reaches a queue


def reinit_after_failed_init_exporter() -> None:
    e = Exporter(ENDPOINT)  # idle: no thread
    s = Span.__new__(Span)
    try:
        s.__init__("x", exporter=e, store=5)  # the exporter is taken, then store= fails
    except TypeError:
        pass
    s.__init__("x", exporter=e)  # allowed (name unset), takes the exporter again
    # s and e go: one native exporter reference is never released


def reinit_after_failed_init_store() -> None:
    st = Store(10)
    s = Span.__new__(Span)
    try:
        s.__init__(BadStr(), store=st)  # the store is taken, then str(name) raises
    except RuntimeError:
        pass
    s.__init__("x", store=st)


class Inner:
    status_code = 2

    def __init__(self, description: str) -> None:
        self.description = description


class Outer:
    description = "outer"

    def __init__(self, description: str) -> None:
        self.status_code = Inner(description)


class Tag(str):
    """A str subclass: kept as is (not copied to a plain str) by attribute normalisation."""


def attribute_cycle() -> None:
    s = Span("cycle")
    tag = Tag("value")
    tag.span = s  # Tag -> Span -> attributes dict -> Tag: Span has no tp_traverse, so the
    s.set_attribute("tag", tag)  # GC never sees this cycle and never frees it


SPAN = Span("status")
_n = [0]


def set_status_nested() -> None:
    _n[0] += 1
    SPAN.set_status(Outer(f"inner description {_n[0]}"))


check.case(
    "Span.__init__ again after a failed one (exporter)", reinit_after_failed_init_exporter, 5_000
)
check.case("Span.__init__ again after a failed one (store)", reinit_after_failed_init_store, 10_000)
check.case("Span.set_status(status_code=Status-like)", set_status_nested, 20_000)
check.case("Span attribute (str subclass) referring to its span", attribute_cycle, 10_000)

if __name__ == "__main__":
    check.run()
