"""Store: the native core (csrc/store.c) and its Python twin (judgeval_fast/_model/store.py).

Unit tests run against both twins through the ``impl`` fixture (the native Store's
structural self-check ``_check()`` is called after every step when it exists); the
randomised state machine, the native-key-object and the memory tests import both.
"""

from __future__ import annotations

import gc
import importlib
import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from judgeval_fast._model import store as model_store

# stats() field positions
LEN, CAPACITY, TTL, LRU_EVICTIONS, TTL_EVICTIONS, INSERTED, REMOVED = range(7)

BAD_KEY = (
    r"^expected a Span, a SpanContext, a \(trace_id, span_id\) tuple or an object with "
    r"trace_id and span_id$"
)


class FakeClock:
    """clock() for Store: returns .now (seconds), advanced by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Ctx:
    """A SpanContext-like object: just int attributes."""

    def __init__(self, trace_id: object, span_id: object) -> None:
        self.trace_id = trace_id
        self.span_id = span_id


def check(store: Any) -> None:
    """Native structural invariants (hash / LRU / age lists); no-op for the twin."""
    fn = getattr(store, "_check", None)
    if fn is not None:
        fn()


def make(impl: Any, capacity: int = 100, ttl: float = 10.0, clock: FakeClock | None = None) -> Any:
    return impl.store.Store(capacity, ttl, clock=clock if clock is not None else FakeClock())


# --------------------------------------------------------------------------- constructor / limits


def test_defaults(impl: Any) -> None:
    s = impl.store.Store()
    assert s.capacity == 10000
    assert s.ttl == 3600.0
    assert s.stats() == (0, 10000, 3600.0, 0, 0, 0, 0)
    assert len(s) == 0
    assert s.keys() == []
    s.set((1, 2), "k", "v")  # real monotonic clock: alive right away
    assert s.get((1, 2), "k") == "v"
    check(s)


@pytest.mark.native
def test_native_store_has_check() -> None:
    native = importlib.import_module("judgeval_fast._native")
    store = native.Store()
    assert store._check() is None  # release builds verify the invariants too


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0}, r"^capacity must be > 0$"),
        ({"capacity": -3}, r"^capacity must be > 0$"),
        ({"ttl": 0}, r"^ttl must be > 0 seconds$"),
        ({"ttl": 0.0}, r"^ttl must be > 0 seconds$"),
        ({"ttl": -1.0}, r"^ttl must be > 0 seconds$"),
        ({"ttl": math.nan}, r"^ttl must be > 0 seconds$"),
        ({"ttl": math.inf}, r"^ttl must be > 0 seconds$"),
        ({"ttl": 1e10}, r"^ttl must be > 0 seconds$"),
        ({"capacity": 0, "ttl": 0}, r"^capacity must be > 0$"),  # capacity is checked first
    ],
)
def test_constructor_rejects_bad_limits(impl: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        impl.store.Store(**kwargs)


def test_ttl_upper_bound_is_inclusive(impl: Any) -> None:
    assert impl.store.Store(ttl=1e9).ttl == 1e9


def test_positional_capacity_and_ttl_keyword_clock(impl: Any) -> None:
    clock = FakeClock()
    s = impl.store.Store(5, 2.5, clock=clock)
    assert (s.capacity, s.ttl) == (5, 2.5)
    assert s.stats() == (0, 5, 2.5, 0, 0, 0, 0)
    with pytest.raises(TypeError):
        impl.store.Store(5, 2.5, clock)  # clock is keyword-only


def test_clock_exception_propagates(impl: Any) -> None:
    def broken() -> float:
        raise RuntimeError("clock broke")

    s = impl.store.Store(clock=broken)
    with pytest.raises(RuntimeError, match=r"^clock broke$"):
        s.set((1, 1), "k", 1)
    with pytest.raises(RuntimeError, match=r"^clock broke$"):
        s.get((1, 1), "k")
    assert s.stats() == (0, 10000, 3600.0, 0, 0, 0, 0)
    check(s)


# --------------------------------------------------------------------------- basic ops


def test_set_get_default_and_get_never_creates(impl: Any) -> None:
    s = make(impl)
    assert s.get((1, 1), "k") is None
    assert s.get((1, 1), "k", "dflt") == "dflt"
    assert (1, 1) not in s
    assert s.stats()[INSERTED] == 0
    assert len(s) == 0
    s.set((1, 1), "k", "v")
    s.set((1, 1), "other", [1, 2])
    assert s.get((1, 1), "k") == "v"
    assert s.get((1, 1), "missing", 7) == 7
    assert s.get((1, 1), "other") == [1, 2]
    s.set((1, 1), "k", "w")  # overwrite, same entry
    assert s.get((1, 1), "k") == "w"
    assert s.stats() == (1, 100, 10.0, 0, 0, 1, 0)
    check(s)


def test_values_are_stored_by_reference(impl: Any) -> None:
    s = make(impl)
    obj: list[int] = []
    s.set((1, 1), "k", obj)
    assert s.get((1, 1), "k") is obj


def test_increment_returns_old_value_and_stores_plus_one(impl: Any) -> None:
    s = make(impl)
    assert s.increment((1, 1), "n") == 0  # creates the entry
    assert s.increment((1, 1), "n") == 1
    assert s.increment((1, 1), "n") == 2
    assert s.get((1, 1), "n") == 3
    s.set((1, 1), "m", 41)
    assert s.increment((1, 1), "m") == 41
    assert s.get_all((1, 1)) == {"n": 3, "m": 42}
    assert s.stats()[INSERTED] == 1
    check(s)


def test_increment_of_non_number_raises_type_error(impl: Any) -> None:
    s = make(impl)
    s.set((1, 1), "k", "text")
    with pytest.raises(TypeError):
        s.increment((1, 1), "k")
    assert s.get((1, 1), "k") == "text"
    check(s)


def test_get_all_returns_a_copy_or_none(impl: Any) -> None:
    s = make(impl)
    assert s.get_all((1, 1)) is None
    assert s.stats()[INSERTED] == 0
    s.set((1, 1), "a", 1)
    d = s.get_all((1, 1))
    assert d == {"a": 1}
    assert type(d) is dict
    d["b"] = 2
    d["a"] = 99
    assert s.get_all((1, 1)) == {"a": 1}
    assert s.get_all((1, 1)) is not s.get_all((1, 1))


def test_pop_returns_mapping_removes_and_counts(impl: Any) -> None:
    s = make(impl)
    s.set((1, 1), "a", 1)
    s.set((2, 2), "b", 2)
    assert s.pop((1, 1)) == {"a": 1}
    assert (1, 1) not in s
    assert s.pop((1, 1)) is None  # absent: not counted
    assert s.pop((9, 9)) is None
    assert s.stats() == (1, 100, 10.0, 0, 0, 2, 1)
    assert s.keys() == [(2, 2)]
    check(s)


def test_clear_counts_every_entry_as_removed(impl: Any) -> None:
    s = make(impl)
    for i in range(5):
        s.set((i, i), "k", i)
    s.pop((0, 0))
    s.clear()
    assert s.keys() == []
    assert len(s) == 0
    assert s.stats() == (0, 100, 10.0, 0, 0, 5, 5)
    s.clear()  # empty: nothing more counted
    assert s.stats()[REMOVED] == 5
    s.set((1, 1), "k", 1)  # usable after clear
    assert s.keys() == [(1, 1)]
    check(s)


def test_contains(impl: Any) -> None:
    s = make(impl)
    assert (1, 1) not in s
    s.set((1, 1), "k", 1)
    assert (1, 1) in s
    assert (1, 2) not in s
    assert (2, 1) not in s
    assert s.stats()[INSERTED] == 1


# --------------------------------------------------------------------------- LRU


def test_keys_order_follows_every_touch(impl: Any) -> None:
    a, b, c, d = (1, 10), (2, 20), (3, 30), (4, 40)
    s = make(impl)
    s.set(a, "k", 1)
    s.set(b, "k", 1)
    s.set(c, "k", 1)
    assert s.keys() == [c, b, a]
    s.get(a, "k")
    assert s.keys() == [a, c, b]
    s.increment(b, "n")
    assert s.keys() == [b, a, c]
    s.get_all(c)
    assert s.keys() == [c, b, a]
    assert a in s
    assert s.keys() == [a, c, b]
    s.set(b, "k", 2)
    assert s.keys() == [b, a, c]
    s.get(a, "missing-key")  # a lookup of a missing key of a live entry still touches it
    assert s.keys() == [a, b, c]
    # lookups of absent spans do not disturb the order
    s.get(d, "k")
    s.get_all(d)
    assert d not in s
    s.pop(d)
    assert s.keys() == [a, b, c]
    s.pop(b)
    assert s.keys() == [a, c]
    check(s)


def test_capacity_evicts_least_recently_used(impl: Any) -> None:
    a, b, c, d, e = ((i, i) for i in range(1, 6))
    s = make(impl, capacity=3)
    s.set(a, "k", "a")
    s.set(b, "k", "b")
    s.set(c, "k", "c")
    s.get(a, "k")  # order: a, c, b -> b is the LRU
    s.set(d, "k", "d")
    assert s.keys() == [d, a, c]
    assert b not in s
    assert s.stats() == (3, 3, 10.0, 1, 0, 4, 0)
    s.increment(c, "n")  # order: c, d, a -> a is the LRU
    s.set(e, "k", "e")
    assert s.keys() == [e, c, d]
    assert s.get(a, "k") is None
    assert s.stats() == (3, 3, 10.0, 2, 0, 5, 0)
    check(s)


def test_capacity_one(impl: Any) -> None:
    s = make(impl, capacity=1)
    for i in range(5):
        s.set((i, i), "k", i)
        assert s.keys() == [(i, i)]
    assert s.stats() == (1, 1, 10.0, 4, 0, 5, 0)
    check(s)


def test_updating_existing_entry_at_capacity_evicts_nothing(impl: Any) -> None:
    s = make(impl, capacity=2)
    s.set((1, 1), "k", 1)
    s.set((2, 2), "k", 1)
    s.set((1, 1), "k", 2)
    s.increment((2, 2), "n")
    assert s.stats() == (2, 2, 10.0, 0, 0, 2, 0)
    assert s.keys() == [(2, 2), (1, 1)]


# --------------------------------------------------------------------------- TTL


def test_ttl_counts_from_insertion_not_last_use(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=10.0, clock=clock)
    s.set((1, 1), "k", "v")
    for _ in range(9):
        clock.advance(1.0)
        assert s.get((1, 1), "k") == "v"  # reads do not renew
        s.set((1, 1), "k", "v")  # nor do writes to the existing entry
    clock.advance(1.0)  # now exactly 10 s after insertion
    assert s.get((1, 1), "k") is None
    assert s.stats() == (0, 100, 10.0, 0, 1, 1, 0)
    check(s)


@pytest.mark.parametrize("ttl", [1.0, 2.5, 10.0, 0.125])
def test_expiry_boundary_exactly_ttl_expires(impl: Any, ttl: float) -> None:
    clock = FakeClock(0.0)
    s = make(impl, ttl=ttl, clock=clock)
    s.set((1, 1), "k", "v")
    clock.now = ttl - 1e-6
    assert s.get((1, 1), "k") == "v"
    clock.now = ttl
    assert s.get((1, 1), "k") is None
    assert s.stats()[TTL_EVICTIONS] == 1
    check(s)


@pytest.mark.parametrize("op", ["get", "get_all", "contains", "pop", "increment", "set"])
def test_accessing_expired_entry_counts_a_ttl_eviction(impl: Any, op: str) -> None:
    clock = FakeClock()
    s = make(impl, ttl=5.0, clock=clock)
    s.set((1, 1), "k", 1)
    s.set((2, 2), "k", 2)
    clock.advance(5.0)
    key = (1, 1)
    if op == "get":
        assert s.get(key, "k", "gone") == "gone"
        expect = (1, 100, 5.0, 0, 1, 2, 0)
    elif op == "get_all":
        assert s.get_all(key) is None
        expect = (1, 100, 5.0, 0, 1, 2, 0)
    elif op == "contains":
        assert key not in s
        expect = (1, 100, 5.0, 0, 1, 2, 0)
    elif op == "pop":
        assert s.pop(key) is None  # a TTL eviction, not an explicit removal
        expect = (1, 100, 5.0, 0, 1, 2, 0)
    elif op == "increment":
        # the expired entry goes; a fresh one starts from 0. The insert-time sweep then
        # also expires (2, 2), the oldest entry.
        assert s.increment(key, "k") == 0
        assert s.get(key, "k") == 1
        expect = (1, 100, 5.0, 0, 2, 3, 0)
    else:
        s.set(key, "new", 1)
        assert s.get_all(key) == {"new": 1}
        expect = (1, 100, 5.0, 0, 2, 3, 0)
    assert s.stats() == expect
    check(s)


def test_reinserted_key_gets_a_fresh_ttl(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=5.0, clock=clock)
    s.set((1, 1), "k", 1)
    clock.advance(6.0)
    s.set((1, 1), "k", 2)  # expired one removed, new inserted now
    clock.advance(4.0)
    assert s.get((1, 1), "k") == 2
    clock.advance(1.0)
    assert s.get((1, 1), "k") is None
    assert s.stats() == (0, 100, 5.0, 0, 2, 2, 0)


def test_insert_sweep_is_limited_to_8_oldest(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, capacity=100, ttl=10.0, clock=clock)
    old = [(i, i) for i in range(20)]
    for k in old:
        s.set(k, "k", 1)
        clock.advance(0.01)
    # Touch the oldest ones: the sweep goes by insertion age, not by LRU position.
    for k in old[:8]:
        s.get(k, "k")
    clock.advance(10.0)  # every old entry is expired now
    s.set((100, 100), "k", 1)
    assert s.stats() == (13, 100, 10.0, 0, 8, 21, 0)
    assert set(s.keys()) == set(old[8:]) | {(100, 100)}
    check(s)
    s.set((101, 101), "k", 1)  # the next insert sweeps the next 8
    assert s.stats() == (6, 100, 10.0, 0, 16, 22, 0)
    assert set(s.keys()) == set(old[16:]) | {(100, 100), (101, 101)}
    check(s)


def test_insert_sweep_stops_at_first_live_entry(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=10.0, clock=clock)
    for i in range(3):
        s.set((i, i), "k", 1)
    clock.advance(5.0)
    for i in range(3, 6):
        s.set((i, i), "k", 1)
    clock.advance(5.0)  # the first 3 are expired, the next 3 are not
    s.set((9, 9), "k", 1)
    assert s.stats()[TTL_EVICTIONS] == 3
    assert s.stats()[LEN] == 4
    assert s.keys() == [(9, 9), (5, 5), (4, 4), (3, 3)]
    check(s)


def test_sweep_runs_before_capacity_eviction(impl: Any) -> None:
    # At capacity with an expired entry: the sweep makes room, nothing is LRU-evicted.
    clock = FakeClock()
    s = make(impl, capacity=3, ttl=10.0, clock=clock)
    s.set((1, 1), "k", 1)
    clock.advance(5.0)
    s.set((2, 2), "k", 1)
    s.set((3, 3), "k", 1)
    s.get((1, 1), "k")  # (1, 1) most recently used, (2, 2) is the LRU
    clock.advance(5.0)  # (1, 1) expired
    s.set((4, 4), "k", 1)
    assert s.keys() == [(4, 4), (3, 3), (2, 2)]
    assert s.stats() == (3, 3, 10.0, 0, 1, 4, 0)
    check(s)


def test_len_sweeps_every_expired_entry(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=10.0, clock=clock)
    for i in range(20):
        s.set((i, i), "k", 1)
    clock.advance(3.0)
    s.set((50, 50), "k", 1)
    clock.advance(7.0)  # the first 20 expired, (50, 50) is 7 s old
    assert s.stats()[LEN] == 21  # stats() does not sweep
    assert len(s) == 1
    assert s.stats() == (1, 100, 10.0, 0, 20, 21, 0)
    assert s.keys() == [(50, 50)]
    clock.advance(3.0)
    assert len(s) == 0
    assert s.stats() == (0, 100, 10.0, 0, 21, 21, 0)
    check(s)


def test_keys_does_not_sweep(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=1.0, clock=clock)
    s.set((1, 1), "k", 1)
    clock.advance(2.0)
    assert s.keys() == [(1, 1)]
    assert s.stats()[TTL_EVICTIONS] == 0


def test_clear_counts_expired_entries_as_removed(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=1.0, clock=clock)
    s.set((1, 1), "k", 1)
    s.set((2, 2), "k", 1)
    clock.advance(2.0)
    s.clear()
    assert s.stats() == (0, 100, 1.0, 0, 0, 2, 2)


# --------------------------------------------------------------------------- setters


def test_shrinking_capacity_evicts_lru_entries(impl: Any) -> None:
    s = make(impl, capacity=10)
    for i in range(6):
        s.set((i, i), "k", i)
    s.get((0, 0), "k")  # order: 0, 5, 4, 3, 2, 1
    s.capacity = 3
    assert s.capacity == 3
    assert s.keys() == [(0, 0), (5, 5), (4, 4)]
    assert s.stats() == (3, 3, 10.0, 3, 0, 6, 0)
    check(s)
    s.capacity = 50  # growing evicts nothing
    assert s.keys() == [(0, 0), (5, 5), (4, 4)]
    assert s.stats() == (3, 50, 10.0, 3, 0, 6, 0)
    s.capacity = 3  # equal to len: nothing
    assert s.stats()[LRU_EVICTIONS] == 3
    check(s)


def test_capacity_setter_applies_to_later_inserts(impl: Any) -> None:
    s = make(impl, capacity=10)
    s.capacity = 2
    for i in range(4):
        s.set((i, i), "k", i)
    assert s.keys() == [(3, 3), (2, 2)]
    assert s.stats()[LRU_EVICTIONS] == 2


def test_capacity_setter_rejects_non_positive(impl: Any) -> None:
    s = make(impl, capacity=4)
    s.set((1, 1), "k", 1)
    for bad in (0, -1):
        with pytest.raises(ValueError, match=r"^capacity must be > 0$"):
            s.capacity = bad
    assert s.capacity == 4
    assert s.keys() == [(1, 1)]
    assert s.stats() == (1, 4, 10.0, 0, 0, 1, 0)


def test_ttl_setter_applies_to_existing_entries(impl: Any) -> None:
    clock = FakeClock()
    s = make(impl, ttl=100.0, clock=clock)
    s.set((1, 1), "k", 1)
    clock.advance(5.0)
    s.set((2, 2), "k", 1)
    clock.advance(1.0)  # (1, 1) is 6 s old, (2, 2) 1 s
    s.ttl = 6
    assert s.ttl == 6.0
    assert type(s.ttl) is float
    assert s.stats()[TTL_EVICTIONS] == 0  # the setter itself does not sweep
    assert s.keys() == [(2, 2), (1, 1)]
    assert (1, 1) not in s  # exactly ttl old: expired
    assert (2, 2) in s
    s.ttl = 1000.0  # raising the ttl revives nothing already gone, keeps the rest
    clock.advance(100.0)
    assert (2, 2) in s
    assert s.stats() == (1, 100, 1000.0, 0, 1, 2, 0)
    check(s)


@pytest.mark.parametrize("bad", [0, 0.0, -2.0, math.nan, math.inf, 2e9])
def test_ttl_setter_rejects_bad_values(impl: Any, bad: float) -> None:
    s = make(impl, ttl=7.0)
    with pytest.raises(ValueError, match=r"^ttl must be > 0 seconds$"):
        s.ttl = bad
    assert s.ttl == 7.0


def test_tiny_ttl_is_at_least_one_nanosecond(impl: Any) -> None:
    clock = FakeClock(0.0)
    s = make(impl, ttl=1e-12, clock=clock)
    assert s.ttl == 1e-9
    s.set((1, 1), "k", 1)
    assert s.get((1, 1), "k") == 1  # same instant: 0 < 1 ns
    clock.now = 1e-6
    assert s.get((1, 1), "k") is None


# --------------------------------------------------------------------------- key forms


def test_tuple_and_attribute_object_address_the_same_entry(impl: Any) -> None:
    s = make(impl)
    s.set((5, 6), "k", 1)
    assert s.get(Ctx(5, 6), "k") == 1
    s.set(Ctx(5, 6), "j", 2)
    assert s.get_all((5, 6)) == {"k": 1, "j": 2}
    assert Ctx(5, 6) in s
    assert s.keys() == [(5, 6)]
    assert s.pop(Ctx(5, 6)) == {"k": 1, "j": 2}
    assert s.stats()[INSERTED] == 1


def test_native_span_context_and_span_keys(impl: Any) -> None:
    """Native SpanContext / Span objects key the entry by their ids.

    For the Python twin the objects still come from the extension: it must accept them.
    """
    native = impl.store if impl.is_native else pytest.importorskip("judgeval_fast._native")
    s = make(impl)
    ctx = native.SpanContext(2**127 + 3, 2**63 + 1)
    s.set(ctx, "k", "ctx")
    assert s.get((2**127 + 3, 2**63 + 1), "k") == "ctx"
    assert s.keys() == [(2**127 + 3, 2**63 + 1)]

    span = native.Span("x")
    sc = span.get_span_context()
    s.set(span, "k", "span")
    assert s.keys()[0] == (sc.trace_id, sc.span_id)
    assert s.get((sc.trace_id, sc.span_id), "k") == "span"
    assert s.get(sc, "k") == "span"
    assert span in s
    assert s.increment(span, "n") == 0
    assert s.get_all(span) == {"k": "span", "n": 1}
    assert s.pop(span) == {"k": "span", "n": 1}
    assert span not in s

    explicit = native.Span("y", trace_id=2**128 - 1, span_id=2**64 - 1)
    s.set(explicit, "k", 1)
    assert s.get((2**128 - 1, 2**64 - 1), "k") == 1
    check(s)


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [
        (0, 0),
        (1, 1),
        (2**64 - 1, 7),
        (2**64, 7),
        (2**64 + 1, 7),
        (2**127, 2**63),
        (2**128 - 1, 2**64 - 1),
        (0x0123456789ABCDEF0123456789ABCDEF, 0xFEDCBA9876543210),
    ],
)
def test_full_width_ids_round_trip(impl: Any, trace_id: int, span_id: int) -> None:
    s = make(impl)
    s.set((trace_id, span_id), "k", "v")
    keys = s.keys()
    assert keys == [(trace_id, span_id)]
    assert type(keys[0][0]) is int
    assert type(keys[0][1]) is int
    assert s.get(Ctx(trace_id, span_id), "k") == "v"
    check(s)


def test_high_and_low_halves_of_trace_id_are_distinct(impl: Any) -> None:
    s = make(impl)
    ids = [(0, 0), (1, 0), (2**64, 0), (2**64 + 1, 0), (1 << 127, 0), (0, 1), (2**64, 1)]
    for i, k in enumerate(ids):
        s.set(k, "i", i)
    assert len(s) == len(ids)
    for i, k in enumerate(ids):
        assert s.get(k, "i") == i
    assert s.keys() == list(reversed(ids))
    check(s)


def test_bool_ids_are_ints(impl: Any) -> None:
    s = make(impl)
    s.set((True, False), "k", 1)
    assert s.keys() == [(1, 0)]


BAD_KEYS: list[tuple[str, Any, type[Exception], str]] = [
    ("negative-trace", (-1, 1), ValueError, r"^trace_id must be >= 0$"),
    ("negative-trace-int64-min", (-(2**63), 1), ValueError, r"^trace_id must be >= 0$"),
    ("huge-negative-trace", (-(2**70), 1), ValueError, r"^trace_id must be >= 0$"),
    ("negative-span", (1, -1), ValueError, r"^span_id must be >= 0$"),
    ("trace-129-bits", (2**128, 1), OverflowError, r"^trace_id does not fit in 128 bits$"),
    ("span-65-bits", (1, 2**64), OverflowError, r"^span_id does not fit in 64 bits$"),
    ("float-trace", (1.0, 1), TypeError, r"^trace_id must be an int$"),
    ("str-span", (1, "2"), TypeError, r"^span_id must be an int$"),
    ("none-trace-attr", Ctx(None, 1), TypeError, r"^trace_id must be an int$"),
    ("negative-attr", Ctx(-5, 1), ValueError, r"^trace_id must be >= 0$"),
    ("three-tuple", (1, 2, 3), TypeError, BAD_KEY),
    ("one-tuple", (1,), TypeError, BAD_KEY),
    ("list", [1, 2], TypeError, BAD_KEY),
    ("none", None, TypeError, BAD_KEY),
    ("int", 5, TypeError, BAD_KEY),
    ("object", object(), TypeError, BAD_KEY),
]


@pytest.mark.parametrize(
    ("key", "exc", "message"),
    [pytest.param(k, e, m, id=name) for name, k, e, m in BAD_KEYS],
)
def test_bad_keys_raise_exact_errors(
    impl: Any, key: Any, exc: type[Exception], message: str
) -> None:
    s = make(impl)
    with pytest.raises(exc, match=message) as info:
        s.get(key, "k")
    assert type(info.value) is exc
    assert s.stats() == (0, 100, 10.0, 0, 0, 0, 0)
    check(s)


@pytest.mark.parametrize(
    ("key", "exc", "message"),
    [
        pytest.param((1, 2, 3), TypeError, BAD_KEY, id="three-tuple"),
        pytest.param((2**128, 1), OverflowError, r"^trace_id does not fit in 128 bits$", id="big"),
        pytest.param((1, -1), ValueError, r"^span_id must be >= 0$", id="negative-span"),
    ],
)
@pytest.mark.parametrize("op", ["set", "get", "increment", "get_all", "pop", "contains"])
def test_every_operation_validates_the_key(
    impl: Any, op: str, key: Any, exc: type[Exception], message: str
) -> None:
    s = make(impl)
    s.set((1, 1), "k", 1)
    calls = {
        "set": lambda: s.set(key, "k", 1),
        "get": lambda: s.get(key, "k"),
        "increment": lambda: s.increment(key, "k"),
        "get_all": lambda: s.get_all(key),
        "pop": lambda: s.pop(key),
        "contains": lambda: key in s,
    }
    with pytest.raises(exc, match=message):
        calls[op]()
    assert s.stats() == (1, 100, 10.0, 0, 0, 1, 0)
    assert s.keys() == [(1, 1)]
    check(s)


class OnlyTraceId:
    trace_id = 1


@pytest.mark.native
@pytest.mark.parametrize(
    "key",
    [k for _, k, _, _ in BAD_KEYS] + [OnlyTraceId(), (2**63 - 1, -(2**63))],
    ids=[name for name, _, _, _ in BAD_KEYS] + ["only-trace-id", "int64-min-span"],
)
def test_bad_keys_same_type_and_text_in_both_twins(key: Any) -> None:
    native = importlib.import_module("judgeval_fast._native")

    def outcome(cls: Any) -> tuple[type, str]:
        try:
            cls().get(key, "k")
        except Exception as e:
            return type(e), str(e)
        return type(None), ""

    assert outcome(native.Store) == outcome(model_store.Store)


# --------------------------------------------------------------------------- randomised cross-check

ID_POOL = [
    (0, 0),
    (1, 0),
    (0, 1),
    (1, 1),
    (2**64, 1),
    (2**64 + 1, 1),
    (2**128 - 1, 2**64 - 1),
    (12345, 67890),
    (2, 2),
    (3, 3),
    (2**127, 5),
    (5, 2**63),
]  # 12 ids for capacities up to 8: collisions are frequent, yet 8 expired entries plus a
# new id can occur, which is what makes the 8-per-insert sweep limit observable


class StoreTwins(RuleBasedStateMachine):
    """Drives the native Store and the Python twin from one shared fake clock."""

    def __init__(self) -> None:
        super().__init__()
        self.native_mod = importlib.import_module("judgeval_fast._native")
        self.clock = FakeClock(100.0)
        self.n: Any = None
        self.p: Any = None

    # capacity 8 is favoured: a full store of expired entries is where the sweep limit shows
    capacities = st.just(8) | st.integers(1, 8)

    @initialize(capacity=capacities, ttl=st.integers(1, 5) | st.sampled_from([0.5, 1.5, 2.25]))
    def setup(self, capacity: int, ttl: float) -> None:
        self.n = self.native_mod.Store(capacity, ttl, clock=self.clock)
        self.p = model_store.Store(capacity, ttl, clock=self.clock)

    def both(self, fn: Any) -> Any:
        """Run fn on each twin; return values (or exception type and text) must agree."""
        results = []
        for store in (self.n, self.p):
            try:
                results.append(("ok", fn(store)))
            except Exception as e:
                results.append(("err", (type(e), str(e))))
        assert results[0] == results[1]
        self.n._check()
        return results[0]

    keys_ = st.sampled_from(ID_POOL)
    names = st.sampled_from(["a", "b", "n"])

    @rule(span=keys_, key=names, value=st.integers(0, 9) | st.sampled_from(["s", None]))
    def set(self, span: tuple[int, int], key: str, value: object) -> None:
        self.both(lambda s: s.set(span, key, value))

    @rule(span=keys_, key=names)
    def set_via_object(self, span: tuple[int, int], key: str) -> None:
        self.both(lambda s: s.set(Ctx(*span), key, 1))

    @rule(start=st.integers(0, len(ID_POOL) - 1), count=st.integers(2, len(ID_POOL)))
    def burst(self, start: int, count: int) -> None:
        # several inserts in one step, so full stores of expired entries are reachable
        for i in range(count):
            span = ID_POOL[(start + i) % len(ID_POOL)]
            self.both(lambda s, span=span, i=i: s.set(span, "b", i))

    @rule(span=keys_, key=names)
    def get(self, span: tuple[int, int], key: str) -> None:
        self.both(lambda s: s.get(span, key, "missing"))

    @rule(span=keys_, key=names)
    def increment(self, span: tuple[int, int], key: str) -> None:
        # values may be "s"/None: both twins must raise the same TypeError then
        self.both(lambda s: s.increment(span, key))

    @rule(span=keys_)
    def get_all(self, span: tuple[int, int]) -> None:
        self.both(lambda s: s.get_all(span))

    @rule(span=keys_)
    def pop(self, span: tuple[int, int]) -> None:
        self.both(lambda s: s.pop(span))

    @rule(span=keys_)
    def contains(self, span: tuple[int, int]) -> None:
        self.both(lambda s: span in s)

    @rule()
    def length(self) -> None:
        self.both(len)

    @rule()
    def keys(self) -> None:
        self.both(lambda s: s.keys())

    @rule()
    def clear(self) -> None:
        self.both(lambda s: s.clear())

    @rule(seconds=st.sampled_from([0, 0.25, 0.5, 1, 1.5, 2, 3]) | st.floats(0, 3))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(capacity=capacities)
    def set_capacity(self, capacity: int) -> None:
        def setter(s: Any) -> int:
            s.capacity = capacity
            return int(s.capacity)

        self.both(setter)

    @rule(ttl=st.integers(1, 5) | st.sampled_from([0.5, 2.5]))
    def set_ttl(self, ttl: float) -> None:
        def setter(s: Any) -> float:
            s.ttl = ttl
            return float(s.ttl)

        self.both(setter)

    @invariant()
    def same_state(self) -> None:
        if self.n is None:
            return
        self.n._check()
        assert self.n.keys() == self.p.keys()
        assert self.n.stats() == self.p.stats()
        assert self.n.capacity == self.p.capacity
        assert self.n.ttl == self.p.ttl
        stats = self.n.stats()
        assert stats[LEN] <= stats[CAPACITY]


StoreTwins.TestCase.settings = settings(
    max_examples=500,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreTwins = pytest.mark.native(StoreTwins.TestCase)


# --------------------------------------------------------------------------- memory


@pytest.mark.native
def test_native_store_returns_memory_after_clear() -> None:
    native = importlib.import_module("judgeval_fast._native")
    n = 20_000
    gc.collect()
    tracemalloc.start()
    try:
        s = native.Store(capacity=10 * n, ttl=3600.0, clock=FakeClock())
        base = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            s.set((i, i), "k", 1)
        full = tracemalloc.get_traced_memory()[0]
        s._check()
        s.clear()
        s._check()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert s.stats() == (0, 10 * n, 3600.0, 0, 0, n, n)
    # Sanity: entries, their dicts and the bucket array were traced ...
    assert full - base >= n * 100
    # ... and went back on clear (the bucket array too: it shrinks to nothing).
    assert after - base < 64 * 1024, f"{after - base} bytes still traced after clear"
