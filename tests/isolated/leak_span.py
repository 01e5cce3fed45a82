"""Leak check of Span: construction, attributes of every type, conversion and truncation,
end (twice), _encode, properties, store removal and error paths (events, exceptions and
status are in leak_span_events.py)."""

from __future__ import annotations

import collections.abc

from _leakcheck import BadRepr, BadStr, LeakCheck, Plain

from judgeval_fast import _native
from judgeval_fast._native import Span, SpanContext, Store
from judgeval_fast.span import SpanKind

check = LeakCheck(__file__)
BASE = _native.configure()


class Items(collections.abc.Mapping):
    """A mapping that is not a dict: the items() path of attribute updates."""

    def __init__(self, d: dict) -> None:
        self._d = d

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


ALL_TYPES = {
    "str": "value",
    "unicode": "h\u00e9llo \u4e16\u754c \U0001f600",
    "surrogate": "bad\udc80str",
    "bool": True,
    "int": -42,
    "bigint": 2**80,
    "float": 3.25,
    "bytes": b"\x00\x01\x02",
    "tuple": (1, "a", 2.5, True, b"x", None),
    "list": [1, 2, 3],
    "nested": [[1, 2], {"a": 1}, (3,)],
    "none": None,
    "object": Plain(),
    "badrepr": BadRepr(),
    "dict": {"k": "v"},
    7: "int key",
    ("t", 1): "tuple key",
    BadStr(): "dropped key",
}
ITEMS = Items({"m1": 1, "m2": "two", 3: BadRepr()})
LIST_1000 = list(range(1000))
STRS_1000 = [f"element-{i}" for i in range(1000)]
BIG = "x" * 5000
BIG_UTF8 = "\u00e9" * 3000  # 2 bytes per code point: the cut lands mid-character
BIG_BYTES = b"y" * 5000
CTX = SpanContext(0x0123456789ABCDEF0123456789ABCDEF, 0x1122334455667788, is_remote=True)
STORE = Store(100)


def span_plain() -> None:
    s = Span("op")
    s.end()


def span_kwargs() -> None:
    parent = Span("parent", kind=SpanKind.SERVER, start_time=1_700_000_000_000_000_000)
    s = Span(
        "child",
        parent=parent,
        kind=2,
        attributes={"a": 1},
        start_time=1_700_000_000_000_000_001,
        span_id=12345,
    )
    Span("remote", parent=CTX, trace_id=2**100 + 5)
    s.end(end_time=1_700_000_000_000_000_100)
    parent.end()


def span_attributes_all_types() -> None:
    s = Span(b"bytes name", attributes=ALL_TYPES)
    for k, v in ALL_TYPES.items():
        s.set_attribute(k, v)
    s.set_attributes(ALL_TYPES)
    s.set_attributes(ITEMS)
    s.set_attributes(None)
    s.attributes  # noqa: B018  (the read-only view)
    s.end()


def span_truncation() -> None:
    _native.configure(max_attribute_bytes=1000, max_attributes=8)
    s = Span(BIG)
    s.set_attribute("big", BIG)
    s.set_attribute("big_utf8", BIG_UTF8)
    s.set_attribute("big_bytes", BIG_BYTES)
    s.set_attribute("big_list", [BIG, BIG, BIG])
    s.set_attribute(BIG, "oversized key")
    for i in range(12):  # over max_attributes
        s.set_attribute(f"k{i}", i)
    s.update_name(BIG_UTF8)
    s.end()
    _native.configure(**BASE)


def span_unconvertible() -> None:
    s = Span(Plain())
    s.set_attribute("bad", BadRepr())
    s.set_attribute(BadStr(), 1)
    s.set_attribute(BadRepr(), 2)  # key: str() falls back to repr(), which raises
    s.set_attribute("list_of_bad", [BadRepr(), Plain(), None])
    s.set_attributes({"a": BadRepr(), BadStr(): 1})
    s.end()


def span_list_1000() -> None:
    s = Span("lists")
    s.set_attribute("ints", LIST_1000)
    s.set_attribute("strs", STRS_1000)
    s.set_attribute("tuple", tuple(STRS_1000))
    s.end()


def span_end_twice() -> None:
    s = Span("twice", store=STORE)
    STORE.set(s, "k", "v")
    s.end()
    s.end()
    s.end(end_time=1_700_000_000_000_000_000)
    s.set_attribute("after", "end")
    s.set_attributes({"after": "end"})
    s.update_name("after end")
    s.is_recording()


def span_encode() -> None:
    s = Span("encode", attributes={"a": 1, "s": "x" * 100, "t": (1, 2, 3)})
    s.add_event("e", {"k": "v"})
    s.set_status(2, "bad")
    s._encode()
    s.end()
    s._encode()


def span_properties() -> None:
    s = Span("props", parent=CTX)
    s.get_span_context()
    s.context  # noqa: B018
    s.parent  # noqa: B018
    s.name  # noqa: B018
    s.kind  # noqa: B018
    s.start_time  # noqa: B018
    s.end_time  # noqa: B018
    s.dropped_attributes  # noqa: B018
    s.links  # noqa: B018
    repr(s)
    s.end()
    s.end_time  # noqa: B018


def span_init_errors() -> None:
    for kwargs in (
        {"parent": 5},
        {"kind": 9},
        {"kind": "x"},
        {"start_time": -1},
        {"start_time": "x"},
        {"trace_id": -1},
        {"trace_id": 2**130},
        {"span_id": 2**64},
        {"exporter": 5},
        {"store": 5},
        {"attributes": 5},
    ):
        try:
            Span("bad", **kwargs)
        except (TypeError, ValueError, OverflowError, AttributeError):
            pass
    s = Span("x")
    try:
        s.__init__("again")
    except RuntimeError:
        pass
    u = Span.__new__(Span)
    try:
        u.end()
    except RuntimeError:
        pass
    for bad in ({"end_time": -5}, {"end_time": "x"}):
        try:
            s.end(**bad)
        except (TypeError, ValueError):
            pass


def span_with_store() -> None:
    s = Span("stored", store=STORE)
    STORE.set(s, "a", [1, 2, 3])
    STORE.increment(s, "n")
    s.end()


check.case("Span() + end()", span_plain, 100_000)
check.case("Span(parent, kind, ids, start_time)", span_kwargs, 30_000)
check.case("Span attributes of every type", span_attributes_all_types, 8_000)
check.case("Span oversized values (truncation)", span_truncation, 8_000)
check.case("Span unconvertible values/keys", span_unconvertible, 15_000)
check.case("Span lists of 1000 elements", span_list_1000, 3_000)
check.case("Span end() twice (+ store entry)", span_end_twice, 40_000)
check.case("Span _encode()", span_encode, 20_000)
check.case("Span properties / get_span_context", span_properties, 30_000)
check.case("Span init and argument errors", span_init_errors, 5_000)
check.case("Span(store=) end removes the entry", span_with_store, 30_000)

if __name__ == "__main__":
    check.run()
