"""Thread-safe fault-injection state for the local backend.

Tests flip faults on through ``POST /_admin/faults`` while the SDK under test
is exporting from other threads, so every read-modify-write of the state
(``count`` in particular) happens under one lock.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, replace
from typing import Any

# Keys accepted by ``FaultConfig.from_json``; anything else is a typo in a
# test and is rejected loudly instead of being ignored silently.
FAULT_KEYS = frozenset(
    {
        "latency_ms",
        "status",
        "retry_after",
        "error_rate",
        "reset",
        "blackhole",
        "count",
        "paths",
        "partial_reject",
    }
)


class FaultConfigError(ValueError):
    """Raised when a fault configuration posted by a client is invalid."""


@dataclass(frozen=True)
class FaultConfig:
    """One fault configuration, immutable so snapshots can be shared freely.

    Attributes:
        latency_ms: Delay applied before answering a faulted request.
        status: HTTP status used to answer faulted requests, if any.
        retry_after: Value of the ``Retry-After`` header sent with ``status``.
        error_rate: Probability (0..1) that a matching request is faulted.
        reset: Close the socket with an RST instead of answering.
        blackhole: Never answer; keep the connection open.
        count: Remaining number of requests to fault, ``None`` for unlimited.
        paths: Path prefixes the fault applies to; empty means all.
        partial_reject: Rejected-span count reported in ``partial_success``.
    """

    latency_ms: float = 0.0
    status: int | None = None
    retry_after: str | None = None
    error_rate: float = 1.0
    reset: bool = False
    blackhole: bool = False
    count: int | None = None
    paths: tuple[str, ...] = field(default_factory=tuple)
    partial_reject: int = 0

    @property
    def active(self) -> bool:
        """Whether this configuration injects anything at all.

        Returns:
            True if at least one effect (latency, status, reset, blackhole,
            partial reject) is configured.
        """
        return bool(
            self.latency_ms > 0
            or self.status is not None
            or self.reset
            or self.blackhole
            or self.partial_reject > 0
        )

    def to_json(self) -> dict[str, Any]:
        """Render the configuration as the admin API reports it.

        Returns:
            A JSON-serialisable dict including a derived ``active`` flag.
        """
        return {
            "active": self.active,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "retry_after": self.retry_after,
            "error_rate": self.error_rate,
            "reset": self.reset,
            "blackhole": self.blackhole,
            "count": self.count,
            "paths": list(self.paths),
            "partial_reject": self.partial_reject,
        }

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Validate and build a configuration from an admin request body.

        Args:
            data: Decoded JSON body; must be an object (``{}`` clears faults).

        Returns:
            The new configuration.

        Raises:
            FaultConfigError: If a key is unknown or a value has a bad type
                or range.
        """
        if not isinstance(data, dict):
            raise FaultConfigError("fault config must be a JSON object")
        unknown = set(data) - FAULT_KEYS
        if unknown:
            raise FaultConfigError(f"unknown fault keys: {sorted(unknown)}")

        latency = data.get("latency_ms", 0) or 0
        if not _is_number(latency) or latency < 0:
            raise FaultConfigError("latency_ms must be a number >= 0")

        status = data.get("status")
        if status is not None and (not _is_int(status) or not 100 <= status <= 599):
            raise FaultConfigError("status must be an integer in 100..599")

        retry_after_raw = data.get("retry_after")
        retry_after: str | None
        if retry_after_raw is None:
            retry_after = None
        elif isinstance(retry_after_raw, str):
            retry_after = retry_after_raw
        elif _is_number(retry_after_raw):
            # Retry-After is integer seconds on the wire; keep fractional
            # values as written so tests can probe lenient parsers.
            as_float = float(retry_after_raw)
            retry_after = str(int(as_float)) if as_float.is_integer() else str(as_float)
        else:
            raise FaultConfigError("retry_after must be a string or a number")

        error_rate = data.get("error_rate", 1.0)
        if error_rate is None:
            error_rate = 1.0
        if not _is_number(error_rate) or not 0.0 <= error_rate <= 1.0:
            raise FaultConfigError("error_rate must be a number in 0..1")

        reset = data.get("reset", False)
        blackhole = data.get("blackhole", False)
        if not isinstance(reset, bool) or not isinstance(blackhole, bool):
            raise FaultConfigError("reset and blackhole must be booleans")

        count = data.get("count")
        if count is not None and (not _is_int(count) or count < 1):
            raise FaultConfigError("count must be an integer >= 1")

        paths_raw = data.get("paths") or []
        if not isinstance(paths_raw, list) or not all(isinstance(p, str) for p in paths_raw):
            raise FaultConfigError("paths must be a list of strings")

        partial = data.get("partial_reject", 0) or 0
        if not _is_int(partial) or partial < 0:
            raise FaultConfigError("partial_reject must be an integer >= 0")

        return cls(
            latency_ms=float(latency),
            status=status,
            retry_after=retry_after,
            error_rate=float(error_rate),
            reset=reset,
            blackhole=blackhole,
            count=count,
            paths=tuple(paths_raw),
            partial_reject=partial,
        )


@dataclass(frozen=True)
class AppliedFault:
    """The fault chosen for one request.

    Attributes:
        config: Snapshot of the configuration that matched.
        partial_reject: Rejected-span count to report (0 if not applicable).
        label: Short description stored in the request log, e.g.
            ``"latency+status:503"``.
    """

    config: FaultConfig
    partial_reject: int
    label: str


class FaultState:
    """Holds the active fault configuration and decides per request."""

    def __init__(self, seed: int | None = None) -> None:
        """Create an empty (no faults) state.

        Args:
            seed: Optional RNG seed so ``error_rate`` runs can be reproduced.
        """
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(seed)

    def get(self) -> FaultConfig:
        """Return the current configuration.

        Returns:
            The active (possibly empty) configuration.
        """
        with self._lock:
            return self._config

    def set(self, config: FaultConfig) -> FaultConfig:
        """Replace the configuration wholesale (no merging).

        Args:
            config: New configuration; an inactive one clears faults.

        Returns:
            The configuration now in effect.
        """
        with self._lock:
            self._config = config if config.active else FaultConfig()
            return self._config

    def clear(self) -> FaultConfig:
        """Remove every fault.

        Returns:
            The empty configuration now in effect.
        """
        return self.set(FaultConfig())

    def decide(self, path: str, is_trace_export: bool) -> AppliedFault | None:
        """Pick the fault (if any) for one incoming non-admin request.

        A request only consumes ``count`` when the fault really has an
        effect on it, so e.g. a ``partial_reject``-only fault is not used up
        by tag or project requests.

        Args:
            path: Request path without the query string.
            is_trace_export: Whether the request is an OTLP trace export.

        Returns:
            The applied fault, or None if the request proceeds normally.
        """
        with self._lock:
            cfg = self._config
            if not cfg.active:
                return None
            if cfg.paths and not any(path.startswith(p) for p in cfg.paths):
                return None
            parts: list[str] = []
            if cfg.latency_ms > 0:
                parts.append("latency")
            if cfg.reset:
                parts.append("reset")
            elif cfg.blackhole:
                parts.append("blackhole")
            elif cfg.status is not None:
                parts.append(f"status:{cfg.status}")
            elif cfg.partial_reject > 0 and is_trace_export:
                parts.append("partial_reject")
            if not parts:
                return None
            if cfg.error_rate < 1.0 and self._rng.random() >= cfg.error_rate:
                return None
            if cfg.count is not None:
                remaining = cfg.count - 1
                self._config = FaultConfig() if remaining <= 0 else replace(cfg, count=remaining)
            partial = cfg.partial_reject if "partial_reject" in parts else 0
            return AppliedFault(config=cfg, partial_reject=partial, label="+".join(parts))


def _is_int(value: Any) -> bool:
    # bool is an int subclass; ``"status": true`` must not mean 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
