"""One log line per burst: a dead backend or a broken serializer must not flood the
application's logs, yet the first failure, and how many followed, must be seen."""

from __future__ import annotations

import time


class LogThrottle:
    """Allows one report per ``every`` seconds and counts what it held back."""

    __slots__ = ("every", "last", "suppressed")

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.last = -every  # the first report is always allowed
        self.suppressed = 0

    def allow(self) -> int | None:
        """None if this report is to be held back; otherwise how many were held back
        since the last one (and the count restarts)."""
        now = time.monotonic()
        if now - self.last < self.every:
            self.suppressed += 1
            return None
        held, self.last, self.suppressed = self.suppressed, now, 0
        return held
