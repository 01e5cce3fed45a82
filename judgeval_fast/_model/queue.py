"""Pure-Python twin of ``_native.SpanQueue`` (csrc/queue.c): bounded FIFO, drop-oldest."""

from __future__ import annotations

from collections import deque

# sizeof(jf_item) on 64-bit Linux: next, seq, owner, ref, cost, len (six 8-byte fields).
ITEM_OVERHEAD = 48


def _owner(value: object) -> int:
    """An owner tag as the C code reads it (PyLong_AsUnsignedLongLong)."""
    if not isinstance(value, int):
        raise TypeError("an integer is required")
    if value < 0:
        raise OverflowError("can't convert negative int to unsigned")
    if value >> 64:
        raise OverflowError("int too big to convert")
    return value


class SpanQueue:
    """Records cost ITEM_OVERHEAD + len(data) bytes against max_bytes."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        if not isinstance(max_items, int) or not isinstance(max_bytes, int):
            raise TypeError("max_items and max_bytes must be ints")
        if max_items <= 0:
            raise ValueError("max_items must be > 0")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be > 0")
        self._items: deque[tuple[bytes, int]] = deque()
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._bytes = 0
        self._high_water = 0
        self._pushed = self._dropped_full = self._dropped_oversize = self._taken = 0

    def push(self, data: bytes, owner: int = 0) -> int:
        """Queue data; return how many oldest records were dropped, or -1 if it can never fit."""
        if not isinstance(data, bytes):
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
        owner = _owner(owner)
        cost = ITEM_OVERHEAD + len(data)
        if cost > self._max_bytes:
            self._dropped_oversize += 1
            return -1
        dropped = 0
        while self._items and (
            len(self._items) >= self._max_items or self._bytes + cost > self._max_bytes
        ):
            old, _ = self._items.popleft()
            self._bytes -= ITEM_OVERHEAD + len(old)
            self._dropped_full += 1
            dropped += 1
        self._items.append((data, owner))
        self._bytes += cost
        self._pushed += 1
        self._high_water = max(self._high_water, len(self._items))
        return dropped

    def pop(self, max_items: int = 512, max_bytes: int = 4 << 20) -> list[bytes]:
        """Take the oldest records (at least one if any)."""
        if max_items <= 0 or max_bytes <= 0:
            raise ValueError("max_items and max_bytes must be > 0")
        out: list[bytes] = []
        taken = 0
        while self._items and len(out) < max_items:
            cost = ITEM_OVERHEAD + len(self._items[0][0])
            if out and taken + cost > max_bytes:
                break
            data, _ = self._items.popleft()
            self._bytes -= cost
            taken += cost
            out.append(data)
        self._taken += len(out)
        return out

    def remove_owner(self, owner: int) -> int:
        """Remove queued records of one owner."""
        owner = _owner(owner)
        keep = deque(item for item in self._items if item[1] != owner)
        removed = len(self._items) - len(keep)
        self._items = keep
        self._bytes = sum(ITEM_OVERHEAD + len(d) for d, _ in keep)
        return removed

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def stats(self) -> tuple[int, int, int, int, int, int, int, int, int]:
        return (
            len(self._items),
            self._bytes,
            self._high_water,
            self._pushed,
            self._dropped_full,
            self._dropped_oversize,
            self._taken,
            self._max_items,
            self._max_bytes,
        )
