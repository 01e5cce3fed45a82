"""Pure-Python twin of ``_native.Store`` (csrc/store.c): LRU capacity + TTL from insertion."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

SWEEP_PER_INSERT = 8  # JF_STORE_SWEEP_PER_INSERT

Key = tuple[int, int]


def _uint(value: object, bits: int, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int")
    if value < 0:
        raise ValueError(f"{what} must be >= 0")
    if value >> bits:
        raise OverflowError(f"{what} does not fit in {bits} bits")
    return value


def span_key(span: object) -> Key:
    """(trace_id, span_id) of a Span, SpanContext, tuple or any object with those attributes."""
    if isinstance(span, tuple) and len(span) == 2:
        trace_id, span_id = span
    else:
        context = getattr(span, "get_span_context", None)
        holder = context() if callable(context) and not hasattr(span, "trace_id") else span
        try:
            trace_id, span_id = getattr(holder, "trace_id"), getattr(holder, "span_id")  # noqa: B009
        except AttributeError:
            raise TypeError(
                "expected a Span, a SpanContext, a (trace_id, span_id) tuple or an object with "
                "trace_id and span_id"
            ) from None
    return _uint(trace_id, 128, "trace_id"), _uint(span_id, 64, "span_id")


class Store:
    """Entries expire ttl seconds after insertion; at capacity the least recently used goes."""

    def __init__(
        self,
        capacity: int = 10000,
        ttl: float = 3600.0,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._check_limits(capacity, ttl)
        self._capacity = capacity
        self._ttl_ns = max(1, int(ttl * 1e9))
        self._clock = clock
        self._lru: OrderedDict[Key, dict[Any, Any]] = OrderedDict()  # last = most recent
        self._born: OrderedDict[Key, int] = OrderedDict()  # insertion order = expiry order
        self.lru_evictions = self.ttl_evictions = self.inserted = self.removed = 0

    @staticmethod
    def _check_limits(capacity: int, ttl: float) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        if not (0 < ttl <= 1e9):
            raise ValueError("ttl must be > 0 seconds")

    def _now(self) -> int:
        return int((self._clock() if self._clock else time.monotonic()) * 1e9)

    def _expired(self, key: Key, now: int) -> bool:
        return now - self._born[key] >= self._ttl_ns

    def _unlink(self, key: Key) -> dict[Any, Any]:
        del self._born[key]
        return self._lru.pop(key)

    def _find(self, span: object) -> tuple[Key, dict[Any, Any] | None]:
        # Key first, then one clock reading per operation: the order the C glue uses.
        key = span_key(span)
        return key, self._lookup(key, self._now())

    def _lookup(self, key: Key, now: int) -> dict[Any, Any] | None:
        if key not in self._lru:
            return None
        if self._expired(key, now):
            self._unlink(key)
            self.ttl_evictions += 1
            return None
        self._lru.move_to_end(key)
        return self._lru[key]

    def _entry(self, span: object) -> dict[Any, Any]:
        key = span_key(span)
        now = self._now()
        found = self._lookup(key, now)
        if found is not None:
            return found
        for _ in range(SWEEP_PER_INSERT):
            oldest = next(iter(self._born), None)
            if oldest is None or not self._expired(oldest, now):
                break
            self._unlink(oldest)
            self.ttl_evictions += 1
        while len(self._lru) >= self._capacity:
            self._unlink(next(iter(self._lru)))
            self.lru_evictions += 1
        entry: dict[Any, Any] = {}
        self._lru[key] = entry
        self._born[key] = now
        self.inserted += 1
        return entry

    def set(self, span: object, key: object, value: object) -> None:
        self._entry(span)[key] = value

    def get(self, span: object, key: object, default: object = None) -> Any:
        _, entry = self._find(span)
        return default if entry is None else entry.get(key, default)

    def increment(self, span: object, key: object) -> int:
        entry = self._entry(span)
        old: int = entry.get(key, 0)
        entry[key] = old + 1
        return old

    def get_all(self, span: object) -> dict[Any, Any] | None:
        _, entry = self._find(span)
        return None if entry is None else dict(entry)

    def pop(self, span: object) -> dict[Any, Any] | None:
        key, entry = self._find(span)
        if entry is None:
            return None
        self.removed += 1
        return self._unlink(key)

    def keys(self) -> list[Key]:
        return list(reversed(self._lru))

    def clear(self) -> None:
        self.removed += len(self._lru)
        self._lru.clear()
        self._born.clear()

    def _sweep(self) -> None:
        now = self._now()
        while self._born:
            oldest = next(iter(self._born))
            if not self._expired(oldest, now):
                break
            self._unlink(oldest)
            self.ttl_evictions += 1

    def __len__(self) -> int:
        self._sweep()
        return len(self._lru)

    def __contains__(self, span: object) -> bool:
        return self._find(span)[1] is not None

    def stats(self) -> tuple[int, int, float, int, int, int, int]:
        return (
            len(self._lru),
            self._capacity,
            self._ttl_ns / 1e9,
            self.lru_evictions,
            self.ttl_evictions,
            self.inserted,
            self.removed,
        )

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._set_limits(value, self._ttl_ns / 1e9)

    @property
    def ttl(self) -> float:
        return self._ttl_ns / 1e9

    @ttl.setter
    def ttl(self, value: float) -> None:
        self._set_limits(self._capacity, value)

    def _set_limits(self, capacity: int, ttl: float) -> None:
        self._check_limits(capacity, ttl)
        self._capacity = capacity
        self._ttl_ns = max(1, int(ttl * 1e9))
        while len(self._lru) > self._capacity:
            self._unlink(next(iter(self._lru)))
            self.lru_evictions += 1
