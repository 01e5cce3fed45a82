"""Leak check of encode_request(resource, scope_name, scope_version, spans): resources of
every attribute type, many and large span records, and the error paths."""

from __future__ import annotations

from _leakcheck import BadRepr, LeakCheck

from judgeval_fast._native import Span, encode_request

check = LeakCheck(__file__)


RESOURCE = {
    "service.name": "leaks",
    "int": 1,
    "float": 2.5,
    "bool": False,
    "bytes": b"\x00",
    "tuple": ("a", 1, None),
    "big": 2**70,
    "bad": BadRepr(),
    5: "non-str key",
    "none": None,
}
SPANS = []
for i in range(20):
    s = Span(f"s{i}", attributes={"i": i, "text": "t" * 50})
    s.add_event("e", {"k": i})
    s.end()
    SPANS.append(s._encode())
BIG = [b"\x0a" + b"x" * 100_000]  # framing does not look inside a record


def encode_small() -> None:
    encode_request({}, "scope", "", [SPANS[0]])
    encode_request({"a": "b"}, "", "1.0", ())


def encode_resource_types() -> None:
    encode_request(RESOURCE, "judgeval", "1.2.3", SPANS)


def encode_large() -> None:
    encode_request(RESOURCE, "judgeval", "", BIG + SPANS)


def encode_errors() -> None:
    for args in (
        (RESOURCE, "s", "v", [b"ok", "not bytes"]),
        (RESOURCE, "s", "v", 5),
        (5, "s", "v", []),
        ({}, b"not str", "v", []),
        ({}, "s", None, []),
        ({}, "s", "v"),
    ):
        try:
            encode_request(*args)
        except TypeError:
            pass


check.case("encode_request small", encode_small, 60_000)
check.case("encode_request resource of every type", encode_resource_types, 20_000)
check.case("encode_request 100 KB record", encode_large, 5_000)
check.case("encode_request errors", encode_errors, 15_000)

if __name__ == "__main__":
    check.run()
