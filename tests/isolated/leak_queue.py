"""Leak check of SpanQueue: push/pop, drop-oldest by count and by bytes, oversize records,
remove_owner, stats/len/nbytes, argument errors and dealloc with records still queued."""

from __future__ import annotations

from _leakcheck import LeakCheck

from judgeval_fast._native import ITEM_OVERHEAD, SpanQueue

check = LeakCheck(__file__)

RECORD = b"r" * 200
BIG = b"B" * 4000
Q = SpanQueue(1000, 1 << 20)
SMALL = SpanQueue(4, 10 * (ITEM_OVERHEAD + len(RECORD)))  # drops the oldest at the 5th push
BYTES = SpanQueue(100, 2 * (ITEM_OVERHEAD + len(BIG)))  # two BIG records fill it
TINY = SpanQueue(100, ITEM_OVERHEAD + 100)  # BIG can never fit


def push_pop() -> None:
    Q.push(RECORD)
    Q.push(RECORD, 7)
    Q.push(b"")
    Q.pop()
    Q.pop(1, 1)


def drop_oldest() -> None:
    SMALL.push(RECORD)  # once full, every push drops the oldest record


def drop_oldest_by_bytes() -> None:
    for _ in range(5):
        BYTES.push(RECORD)
    dropped = BYTES.push(BIG) + BYTES.push(BIG)
    assert dropped >= 1  # no room left by bytes: the oldest records went


def oversize() -> None:
    assert TINY.push(BIG) == -1  # can never fit: the record is freed at once


def remove_owner() -> None:
    Q.push(RECORD, 1)
    Q.push(RECORD, 2)
    Q.push(RECORD, 1)
    Q.remove_owner(1)
    Q.remove_owner(99)
    Q.pop(10)


def introspection() -> None:
    Q.stats()
    len(Q)
    Q.nbytes  # noqa: B018
    Q._check()


def errors() -> None:
    for call in (
        lambda: Q.push("not bytes"),
        lambda: Q.push(RECORD, -1),
        lambda: Q.pop(0),
        lambda: Q.pop(1, -1),
        lambda: Q.remove_owner("x"),
        lambda: SpanQueue(0, 1),
        lambda: SpanQueue(1, 0),
        lambda: Q.__init__(1, 1),
        lambda: SpanQueue.__new__(SpanQueue).push(RECORD),
    ):
        try:
            call()
        except (TypeError, ValueError, OverflowError, RuntimeError):
            pass


def dealloc_with_records() -> None:
    q = SpanQueue(64, 1 << 20)
    for _ in range(20):
        q.push(RECORD)
    del q


check.case("SpanQueue push / pop", push_pop, 60_000)
check.case("SpanQueue drop-oldest (count)", drop_oldest, 150_000)
check.case("SpanQueue drop-oldest (bytes)", drop_oldest_by_bytes, 30_000)
check.case("SpanQueue oversize push (-1)", oversize, 150_000)
check.case("SpanQueue remove_owner", remove_owner, 40_000)
check.case("SpanQueue stats / len / nbytes", introspection, 60_000)
check.case("SpanQueue argument errors", errors, 10_000)
check.case("SpanQueue dealloc with records queued", dealloc_with_records, 10_000)

if __name__ == "__main__":
    for _ in range(5):
        SMALL.push(RECORD)
    assert SMALL.push(RECORD) == 1, "SMALL should drop one record per push once full"
    check.run()
