"""SpanQueue: the native core (csrc/queue.c) and its Python twin (judgeval_fast/_model/queue.py).

Unit tests run against both twins through the ``impl`` fixture; the randomised state
machine and the memory test import both / the native module explicitly.
"""

from __future__ import annotations

import gc
import importlib
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from judgeval_fast._model import queue as model_queue

OVERHEAD = model_queue.ITEM_OVERHEAD  # 48; checked against the native constant below

# stats() field positions
COUNT, NBYTES, HIGH_WATER, PUSHED, DROPPED_FULL, DROPPED_OVERSIZE, TAKEN, MAX_ITEMS, MAX_BYTES = (
    range(9)
)


def rec(i: int, size: int = 10) -> bytes:
    """A distinguishable record of exactly `size` bytes."""
    tag = f"{i:06d}".encode()
    return (tag * (size // len(tag) + 1))[:size]


def make(impl: Any, max_items: int, max_bytes: int) -> Any:
    return impl.queue.SpanQueue(max_items, max_bytes)


# --------------------------------------------------------------------------- constants


@pytest.mark.native
def test_item_overhead_matches_between_twins() -> None:
    native = importlib.import_module("judgeval_fast._native")
    assert native.ITEM_OVERHEAD == model_queue.ITEM_OVERHEAD == 48


# --------------------------------------------------------------------------- constructor


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 100), r"^max_items must be > 0$"),
        ((-1, 100), r"^max_items must be > 0$"),
        ((10, 0), r"^max_bytes must be > 0$"),
        ((10, -5), r"^max_bytes must be > 0$"),
        ((0, 0), r"^max_items must be > 0$"),  # max_items is checked first
    ],
)
def test_constructor_rejects_non_positive_limits(
    impl: Any, args: tuple[int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        impl.queue.SpanQueue(*args)


def test_fresh_queue_is_empty(impl: Any) -> None:
    q = make(impl, 7, 1000)
    assert len(q) == 0
    assert q.nbytes == 0
    assert q.pop() == []
    assert q.stats() == (0, 0, 0, 0, 0, 0, 0, 7, 1000)


# --------------------------------------------------------------------------- push / FIFO


def test_fifo_order_and_cost_accounting(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    records = [rec(i, size) for i, size in enumerate([0, 1, 10, 100, 7])]
    for r in records:
        assert q.push(r) == 0
    assert len(q) == 5
    assert q.nbytes == 5 * OVERHEAD + sum(len(r) for r in records)
    out = q.pop()
    assert out == records
    assert all(type(b) is bytes for b in out)
    assert len(q) == 0
    assert q.nbytes == 0


def test_empty_record_costs_exactly_the_overhead(impl: Any) -> None:
    q = make(impl, 10, OVERHEAD)
    assert q.push(b"") == 0
    assert q.nbytes == OVERHEAD
    # A second empty record needs the whole budget again: the first one is dropped.
    assert q.push(b"") == 1
    assert len(q) == 1
    assert q.stats()[DROPPED_FULL] == 1


def test_drop_oldest_by_count(impl: Any) -> None:
    q = make(impl, 3, 1_000_000)
    results = [q.push(rec(i)) for i in range(6)]
    assert results == [0, 0, 0, 1, 1, 1]
    assert len(q) == 3
    assert q.pop() == [rec(3), rec(4), rec(5)]
    st_ = q.stats()
    assert st_[PUSHED] == 6
    assert st_[DROPPED_FULL] == 3
    assert st_[DROPPED_OVERSIZE] == 0
    assert st_[HIGH_WATER] == 3
    assert st_[TAKEN] == 3


def test_max_items_one_keeps_only_the_newest(impl: Any) -> None:
    q = make(impl, 1, 10_000)
    assert q.push(rec(0)) == 0
    assert q.push(rec(1)) == 1
    assert q.push(rec(2)) == 1
    assert q.pop(10) == [rec(2)]
    assert q.stats()[DROPPED_FULL] == 2


def test_byte_limit_drops_several_oldest_for_one_big_record(impl: Any) -> None:
    # 5 records of cost 58 = 290 of 300 bytes; a record of cost 198 needs bytes <= 102,
    # so the 4 oldest go (290 -> 232 -> 174 -> 116 -> 58).
    q = make(impl, 100, 300)
    for i in range(5):
        assert q.push(rec(i, 10)) == 0
    assert q.nbytes == 290
    big = rec(99, 150)
    assert q.push(big) == 4
    assert len(q) == 2
    assert q.nbytes == 58 + 198
    st_ = q.stats()
    assert st_[DROPPED_FULL] == 4
    assert st_[PUSHED] == 6
    assert st_[HIGH_WATER] == 5
    assert q.pop() == [rec(4, 10), big]


def test_byte_limit_drop_stops_as_soon_as_it_fits(impl: Any) -> None:
    # Exactly-fitting after one drop: 3 * 58 = 174 of 174; pushing another 58 drops one.
    q = make(impl, 100, 3 * 58)
    for i in range(3):
        assert q.push(rec(i, 10)) == 0
    assert q.push(rec(3, 10)) == 1
    assert q.nbytes == 174
    assert q.pop() == [rec(1, 10), rec(2, 10), rec(3, 10)]


def test_big_record_can_empty_the_whole_queue(impl: Any) -> None:
    q = make(impl, 100, 500)
    for i in range(4):
        q.push(rec(i, 20))
    whole = rec(7, 500 - OVERHEAD)  # cost == max_bytes exactly: fits alone
    assert q.push(whole) == 4
    assert len(q) == 1
    assert q.nbytes == 500
    assert q.pop() == [whole]


def test_count_and_byte_limits_combined(impl: Any) -> None:
    # count limit forces one drop, then bytes force one more
    q = make(impl, 3, 3 * 58)
    for i in range(3):
        q.push(rec(i, 10))
    assert q.push(rec(3, 68)) == 2  # cost 116: count drop -> 116 bytes; +116 > 174 -> drop
    assert q.pop() == [rec(2, 10), rec(3, 68)]


# --------------------------------------------------------------------------- oversize


def test_record_of_exactly_max_bytes_is_accepted(impl: Any) -> None:
    q = make(impl, 10, 200)
    assert q.push(b"x" * (200 - OVERHEAD)) == 0
    assert q.nbytes == 200
    assert q.stats()[DROPPED_OVERSIZE] == 0


def test_oversize_record_is_refused_and_queue_untouched(impl: Any) -> None:
    q = make(impl, 10, 200)
    q.push(rec(0, 10))
    q.push(rec(1, 10))
    before = q.stats()
    assert q.push(b"x" * (200 - OVERHEAD + 1)) == -1
    assert q.push(b"y" * 10_000) == -1
    after = q.stats()
    assert len(q) == 2
    assert q.nbytes == 116
    assert after[DROPPED_OVERSIZE] == 2
    assert after[PUSHED] == before[PUSHED] == 2
    assert after[DROPPED_FULL] == 0
    assert after[:DROPPED_OVERSIZE] == before[:DROPPED_OVERSIZE]
    assert q.pop() == [rec(0, 10), rec(1, 10)]


def test_tiny_max_bytes_refuses_even_empty_records(impl: Any) -> None:
    q = make(impl, 10, OVERHEAD - 1)
    assert q.push(b"") == -1
    assert q.stats() == (0, 0, 0, 0, 0, 1, 0, 10, OVERHEAD - 1)


# --------------------------------------------------------------------------- pop


def test_pop_count_limit(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    for i in range(10):
        q.push(rec(i))
    assert q.pop(3) == [rec(0), rec(1), rec(2)]
    assert q.pop(max_items=4) == [rec(3), rec(4), rec(5), rec(6)]
    assert len(q) == 3
    assert q.nbytes == 3 * 58
    assert q.pop(100) == [rec(7), rec(8), rec(9)]
    assert q.stats()[TAKEN] == 10


def test_pop_default_count_is_512(impl: Any) -> None:
    q = make(impl, 1000, 10_000_000)
    for i in range(600):
        q.push(rec(i, 1))
    first = q.pop()
    assert len(first) == 512
    assert first[0] == rec(0, 1)
    assert len(q) == 88


def test_pop_byte_limit_stops_before_exceeding(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    for i in range(5):
        q.push(rec(i, 10))  # cost 58 each
    assert q.pop(100, 58 * 2 + 57) == [rec(0, 10), rec(1, 10)]  # a third would exceed by 1
    assert q.pop(100, 58 * 2) == [rec(2, 10), rec(3, 10)]  # exact fit is taken
    assert q.pop(max_bytes=1000) == [rec(4, 10)]
    assert q.nbytes == 0


def test_pop_byte_limit_does_not_skip_a_big_head(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    q.push(rec(0, 10))
    q.push(rec(1, 500))
    q.push(rec(2, 10))
    # The big record does not fit after the first: pop stops, it does not skip ahead.
    assert q.pop(100, 200) == [rec(0, 10)]
    assert q.pop(100, 200) == [rec(1, 500)]  # at least one, even over the limit
    assert q.pop(100, 200) == [rec(2, 10)]


def test_pop_returns_at_least_one_record(impl: Any) -> None:
    q = make(impl, 10, 10_000)
    q.push(rec(0, 1000))
    q.push(rec(1, 1000))
    assert q.pop(5, 1) == [rec(0, 1000)]
    assert len(q) == 1
    assert q.nbytes == OVERHEAD + 1000
    assert q.stats()[TAKEN] == 1


def test_pop_empty_queue_returns_empty_list_and_counts_nothing(impl: Any) -> None:
    q = make(impl, 10, 10_000)
    assert q.pop(1, 1) == []
    q.push(rec(0))
    q.pop()
    assert q.pop() == []
    assert q.stats()[TAKEN] == 1


@pytest.mark.parametrize("args", [(0, 10), (10, 0), (-1, 10), (10, -1)])
def test_pop_rejects_non_positive_limits(impl: Any, args: tuple[int, int]) -> None:
    q = make(impl, 10, 10_000)
    q.push(rec(0))
    with pytest.raises(ValueError, match=r"^max_items and max_bytes must be > 0$"):
        q.pop(*args)
    assert len(q) == 1
    assert q.stats()[TAKEN] == 0


def test_push_after_pop_reuses_budget(impl: Any) -> None:
    q = make(impl, 2, 10_000)
    q.push(rec(0))
    q.push(rec(1))
    assert q.pop(1) == [rec(0)]
    assert q.push(rec(2)) == 0  # one slot freed: no drop
    assert q.push(rec(3)) == 1
    assert q.pop() == [rec(2), rec(3)]


# --------------------------------------------------------------------------- remove_owner


def test_remove_owner_removes_only_that_owner_and_keeps_order(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    owners = [1, 2, 1, 3, 1, 2, 0]
    for i, o in enumerate(owners):
        q.push(rec(i, 10 + i), owner=o)
    assert q.remove_owner(1) == 3
    assert len(q) == 4
    assert q.nbytes == sum(OVERHEAD + 10 + i for i in (1, 3, 5, 6))
    assert q.remove_owner(1) == 0
    assert q.remove_owner(42) == 0
    assert q.pop() == [rec(1, 11), rec(3, 13), rec(5, 15), rec(6, 16)]


def test_remove_owner_default_owner_is_zero(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    q.push(rec(0))
    q.push(rec(1), 5)
    q.push(rec(2))
    assert q.remove_owner(0) == 2
    assert q.pop() == [rec(1)]


def test_remove_owner_does_not_touch_counters(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    for i in range(4):
        q.push(rec(i), owner=i % 2)
    before = q.stats()
    assert q.remove_owner(0) == 2
    after = q.stats()
    assert after[COUNT] == 2
    assert after[NBYTES] == 2 * 58
    assert after[HIGH_WATER:] == before[HIGH_WATER:]  # high_water, pushed, drops, taken, limits


def test_remove_owner_of_tail_then_push_appends_correctly(impl: Any) -> None:
    q = make(impl, 100, 100_000)
    q.push(rec(0), owner=1)
    q.push(rec(1), owner=2)
    q.push(rec(2), owner=2)
    assert q.remove_owner(2) == 2  # removes the tail
    q.push(rec(3), owner=3)
    assert q.pop() == [rec(0), rec(3)]
    q.push(rec(4), owner=4)
    assert q.remove_owner(4) == 1  # removes the only record (head and tail)
    assert len(q) == 0
    assert q.nbytes == 0
    q.push(rec(5))
    assert q.pop() == [rec(5)]


def test_remove_owner_frees_budget_for_later_pushes(impl: Any) -> None:
    q = make(impl, 3, 100_000)
    q.push(rec(0), 1)
    q.push(rec(1), 2)
    q.push(rec(2), 1)
    assert q.remove_owner(1) == 2
    assert q.push(rec(3)) == 0
    assert q.push(rec(4)) == 0
    assert q.push(rec(5)) == 1  # now full by count again: rec(1) goes
    assert q.pop() == [rec(3), rec(4), rec(5)]


@pytest.mark.native
@pytest.mark.parametrize(
    ("owner", "remove"),
    [(-1, -1), (2**64 + 3, 3), (2**64 + 3, 2**64 + 3)],
    ids=["negative", "wrapped-alias", "over-64-bits"],
)
def test_owner_domain_is_the_same_in_both_twins(owner: int, remove: int) -> None:
    """push(owner=X) then remove_owner(Y) must give the same result in both twins.

    Native push parses owner with the unchecked "K" format (wraps modulo 2**64, accepts
    negatives) while remove_owner uses a checked conversion (OverflowError outside
    0..2**64-1); the Python twin keeps the raw int. So natively push(owner=2**64+3) is
    removed by remove_owner(3), and push(owner=-1) is accepted but remove_owner(-1)
    raises.
    """
    native = importlib.import_module("judgeval_fast._native")

    def run(cls: Any) -> object:
        q = cls(10, 10_000)
        try:
            q.push(b"a", owner=owner)
            return q.remove_owner(remove)
        except Exception as e:  # the exception type is what must agree
            return type(e)

    assert run(native.SpanQueue) == run(model_queue.SpanQueue)


# --------------------------------------------------------------------------- stats


def test_stats_fields_after_a_scripted_sequence(impl: Any) -> None:
    q = make(impl, 4, 400)
    for i in range(4):
        assert q.push(rec(i, 10), owner=i) == 0  # 4 x 58 = 232
    assert q.push(rec(4, 10)) == 1  # count: drops rec(0)
    assert q.push(rec(5, 200)) == 2  # 232 + 248 > 400: drops rec(1), rec(2) -> 116 + 248 = 364
    assert q.push(b"z" * 400) == -1
    assert q.stats() == (3, 364, 4, 6, 3, 1, 0, 4, 400)
    assert q.pop(2) == [rec(3, 10), rec(4, 10)]
    assert q.stats() == (1, 248, 4, 6, 3, 1, 2, 4, 400)
    assert q.remove_owner(0) == 1  # rec(5) was pushed with the default owner 0
    assert q.stats() == (0, 0, 4, 6, 3, 1, 2, 4, 400)
    assert len(q) == 0
    assert q.nbytes == 0


def test_high_water_is_the_maximum_count_seen(impl: Any) -> None:
    q = make(impl, 10, 100_000)
    for i in range(6):
        q.push(rec(i))
    q.pop(5)
    q.push(rec(6))
    assert q.stats()[HIGH_WATER] == 6
    for i in range(20):
        q.push(rec(i))
    assert q.stats()[HIGH_WATER] == 10


# --------------------------------------------------------------------------- randomised cross-check


class QueueTwins(RuleBasedStateMachine):
    """Drives the native SpanQueue and the Python twin with the same operations."""

    def __init__(self) -> None:
        super().__init__()
        self.native_mod = importlib.import_module("judgeval_fast._native")
        self.n: Any = None
        self.p: Any = None
        self.counter = 0

    @initialize(max_items=st.integers(1, 20), max_bytes=st.integers(48, 3000))
    def setup(self, max_items: int, max_bytes: int) -> None:
        self.n = self.native_mod.SpanQueue(max_items, max_bytes)
        self.p = model_queue.SpanQueue(max_items, max_bytes)

    @rule(size=st.integers(0, 300), owner=st.integers(0, 3))
    def push(self, size: int, owner: int) -> None:
        self.counter += 1
        data = rec(self.counter, size)
        assert self.n.push(data, owner) == self.p.push(data, owner)

    @rule(max_items=st.integers(1, 25), max_bytes=st.integers(1, 4000))
    def pop(self, max_items: int, max_bytes: int) -> None:
        assert self.n.pop(max_items, max_bytes) == self.p.pop(max_items, max_bytes)

    @rule()
    def pop_default(self) -> None:
        assert self.n.pop() == self.p.pop()

    @rule(owner=st.integers(0, 3))
    def remove_owner(self, owner: int) -> None:
        assert self.n.remove_owner(owner) == self.p.remove_owner(owner)

    @invariant()
    def same_state(self) -> None:
        if self.n is None:
            return
        assert len(self.n) == len(self.p)
        assert self.n.nbytes == self.p.nbytes
        stats = self.n.stats()
        assert stats == self.p.stats()
        assert stats[COUNT] <= stats[MAX_ITEMS]
        assert stats[NBYTES] <= stats[MAX_BYTES]
        self.n._check()  # the C core's own structural invariants (csrc/queue.h)


QueueTwins.TestCase.settings = settings(
    max_examples=1000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueTwins = pytest.mark.native(QueueTwins.TestCase)


# --------------------------------------------------------------------------- memory


@pytest.mark.native
def test_native_queue_returns_memory_after_drain() -> None:
    native = importlib.import_module("judgeval_fast._native")
    data = b"r" * 16
    n = 100_000
    gc.collect()
    tracemalloc.start()
    try:
        q = native.SpanQueue(10 * n, 1 << 40)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            q.push(data)
        full = tracemalloc.get_traced_memory()[0]
        popped = 0
        while len(q):
            popped += len(q.pop(4096, 1 << 30))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert popped == n
    assert q.stats()[TAKEN] == n
    # Sanity: the records were traced (at least their item headers) ...
    assert full - base >= n * OVERHEAD
    # ... and all of it went back once drained.
    assert after - base < 64 * 1024, f"{after - base} bytes still traced after draining"
