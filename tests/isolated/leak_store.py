"""Leak check of Store: set/get/increment/get_all/pop/keys/clear, LRU eviction, TTL expiry
with a fake clock (find, insert sweep, pop, len), capacity/ttl setters, every key form,
argument errors and dealloc with entries."""

from __future__ import annotations

from _leakcheck import LeakCheck

from judgeval_fast._native import DEBUG_BUILD, Span, SpanContext, Store

check = LeakCheck(__file__)


class Clock:
    """A fake clock: the store calls it for "now" (seconds)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Ids:
    """Any object with int trace_id and span_id is a key."""

    trace_id = 2**100 + 1
    span_id = 99


class BadClock:
    def __call__(self) -> float:
        raise RuntimeError("clock broke")


VALUE = {"k": [1, 2, 3]}
SPAN = Span("stored")
CTX = SpanContext(2**90 + 3, 4)
STORE = Store(1000, 3600.0)
LRU = Store(8)
CLOCK = Clock()
TTL = Store(1000, 1.0, clock=CLOCK)
BROKEN = Store(10, clock=BadClock())
_n = [0]


def set_get() -> None:
    STORE.set(SPAN, "a", VALUE)
    STORE.set(CTX, "b", "x")
    STORE.set((5, 6), 7, 8.5)
    STORE.set(Ids(), "i", None)
    STORE.get(SPAN, "a")
    STORE.get(CTX, "missing", "default")
    STORE.get((123, 456), "absent")
    STORE.get_all(SPAN)
    STORE.get_all((123, 456))
    _ = SPAN in STORE, (123, 456) in STORE


def increment() -> None:
    STORE.increment(CTX, "n")
    STORE.increment((5, 6), "n")


def pop_cycle() -> None:
    key = (1, _n[0])
    _n[0] += 1
    STORE.set(key, "a", VALUE)
    STORE.increment(key, "n")
    STORE.pop(key)
    STORE.pop(key)  # absent now: None


def keys_len_stats() -> None:
    STORE.keys()
    len(STORE)
    STORE.stats()
    STORE.capacity  # noqa: B018
    STORE.ttl  # noqa: B018


def lru_eviction() -> None:
    _n[0] += 1
    LRU.set((2, _n[0]), "v", [_n[0]])  # full: every insert evicts the least recently used


def ttl_expiry() -> None:
    _n[0] += 1
    a, b, c = (3, _n[0]), (3, _n[0] + 10**9), (3, _n[0] + 2 * 10**9)
    TTL.set(a, "v", [1])
    TTL.set(b, "w", [2])
    CLOCK.t += 1.1
    TTL.get(a, "v")  # an expired entry found: unlinked and released
    TTL.pop(b)  # an expired pop: None, counted as a TTL eviction
    TTL.set(c, "x", [3])
    CLOCK.t += 1.1
    TTL.set(a, "v", [4])  # the insert sweep expires c
    CLOCK.t += 1.1
    len(TTL)  # sweeps a


def clear() -> None:
    for i in range(10):
        STORE.set((4, i), "x", [i])
    STORE.clear()
    STORE.set(SPAN, "a", VALUE)  # keep the shared entries for the other cases
    STORE.set(CTX, "b", "x")


def setters() -> None:
    s = Store(50)
    for i in range(20):
        s.set((6, i), "v", [i])
    s.capacity = 5  # evicts 15
    s.ttl = 10.0
    s.capacity = 50
    if DEBUG_BUILD:
        s._check()


def errors() -> None:
    for call in (
        lambda: STORE.set("not a key", "k", 1),
        lambda: STORE.set((-1, 1), "k", 1),
        lambda: STORE.set((1, 2**64), "k", 1),
        lambda: STORE.set((1, 2), [], 1),  # unhashable key inside the entry dict
        lambda: STORE.get(object(), "k"),
        lambda: STORE.increment(SPAN, "a"),  # "a" holds a dict: dict + 1 raises
        lambda: STORE.pop(None),
        lambda: BROKEN.set((1, 1), "k", 1),  # the clock raises
        lambda: len(BROKEN),
        lambda: Store(0),
        lambda: Store(10, -1.0),
        lambda: Store(10, clock=5),
        lambda: STORE.__init__(),
        lambda: setattr(STORE, "capacity", 0),
        lambda: setattr(STORE, "ttl", "x"),
        lambda: Store.__new__(Store).keys(),
    ):
        try:
            call()
        except (TypeError, ValueError, OverflowError, RuntimeError, AttributeError):
            pass


def cycle() -> None:
    s = Store(10)
    s.set((8, 1), "self", s)  # Store -> entry dict -> Store: only the GC (traverse) frees it
    s.set((8, 2), "clock", [s])


def dealloc_with_entries() -> None:
    s = Store(100, clock=Clock())
    for i in range(10):
        s.set((7, i), "v", {"i": i})
    span = Span("owned", store=s)
    s.set(span, "own", [1])
    del s  # the span keeps the core alive
    span.end()


check.case("Store set / get / get_all / in", set_get, 30_000)
check.case("Store increment", increment, 60_000)
check.case("Store set + pop", pop_cycle, 40_000)
check.case("Store keys / len / stats", keys_len_stats, 30_000)
check.case("Store LRU eviction", lru_eviction, 60_000)
check.case("Store TTL expiry (fake clock)", ttl_expiry, 30_000)
check.case("Store clear", clear, 10_000)
check.case("Store capacity / ttl setters", setters, 5_000)
check.case("Store argument errors", errors, 5_000)
check.case("Store dealloc with entries", dealloc_with_entries, 10_000)
check.case("Store <-> value reference cycle (GC)", cycle, 10_000)

if __name__ == "__main__":
    ttl_expiry()
    assert TTL.stats()[4] == 4, TTL.stats()  # every expiry path above was taken
    check.run()
