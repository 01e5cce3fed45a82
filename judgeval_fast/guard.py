"""Exception isolation at the public API boundary (DESIGN 3.8).

``@guarded(fallback)`` turns a method into a data descriptor. Reading the attribute
returns the *current* implementation (the class's function, or a replacement set on
the instance, as ``patch.object(tracer, "set_attribute", side_effect=...)`` does)
wrapped so that an ``Exception`` from it is logged, counted and answered with the
fallback instead of reaching the caller. ``BaseException`` (KeyboardInterrupt,
SystemExit) is the caller's own and passes through.

The wrapped callables are cached per instance, so the cost on the hot path is one dict
lookup and one extra Python frame.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from judgeval_fast._throttle import LogThrottle

logger = logging.getLogger("judgeval_fast")

F = TypeVar("F", bound=Callable[..., Any])

_BOUND = "_jf_guarded"  # instance __dict__ slot: name -> guarded callable
_LOG_EVERY = 10.0


class GuardStats:
    """Per-instance count of isolated SDK errors, with rate-limited logging."""

    __slots__ = ("errors", "throttle")

    def __init__(self) -> None:
        self.errors = 0
        self.throttle = LogThrottle(_LOG_EVERY)

    def record(self, where: str, exc: BaseException) -> None:
        self.errors += 1
        held = self.throttle.allow()
        if held is None:
            return
        logger.warning(
            "judgeval_fast: %s raised %s: %s; the error was isolated%s",
            where,
            type(exc).__name__,
            exc,
            f" ({held} more since the last report)" if held else "",
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )


def stats_of(obj: Any) -> GuardStats:
    """The GuardStats of an instance (created on first use)."""
    stats: GuardStats | None = obj.__dict__.get("_jf_guard_stats")
    if stats is None:
        stats = obj.__dict__["_jf_guard_stats"] = GuardStats()
    return stats


def _wrap(target: Callable[..., Any], where: str, fallback: Callable[..., Any], owner: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return target(*args, **kwargs)
        except Exception as exc:
            stats_of(owner).record(where, exc)
            try:
                return fallback(*args, **kwargs)
            except Exception:  # a fallback must not be the thing that breaks the caller
                return None

    functools.update_wrapper(call, target)
    return call


def _none(*args: Any, **kwargs: Any) -> None:
    return None


class guarded(Generic[F]):
    """Data descriptor for a public method; see the module docstring."""

    def __init__(self, func: F, fallback: Callable[..., Any] = _none) -> None:
        self.func = func
        self.fallback = fallback
        self.name = func.__name__
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> F: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> F: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> F:
        if obj is None:
            return self.func
        bound = obj.__dict__.get(_BOUND)
        if bound is None:
            bound = obj.__dict__[_BOUND] = {}
        fn = bound.get(self.name)
        if fn is None:
            target = self.func.__get__(obj, objtype)
            fn = bound[self.name] = _wrap(target, self.name, self.fallback, obj)
        return fn  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: Any) -> None:
        # A replacement (a mock, a user's wrapper) is guarded like the original.
        bound = obj.__dict__.setdefault(_BOUND, {})
        bound[self.name] = _wrap(value, self.name, self.fallback, obj)
        obj.__dict__.setdefault("_jf_overrides", {})[self.name] = value

    def __delete__(self, obj: object) -> None:
        overrides = obj.__dict__.get("_jf_overrides", {})
        if self.name not in overrides:
            raise AttributeError(self.name)
        del overrides[self.name]
        obj.__dict__.get(_BOUND, {}).pop(self.name, None)


if TYPE_CHECKING:
    # For type checkers a guarded method is the method itself (its signature, bound as
    # usual); at runtime it is the descriptor above.
    def guard(fallback: Callable[..., Any] = _none) -> Callable[[F], F]: ...

else:

    def guard(fallback: Callable[..., Any] = _none) -> Callable[[F], guarded[F]]:
        """Decorator form: ``@guard(lambda *a, **k: False)``."""

        def deco(func: F) -> guarded[F]:
            return guarded(func, fallback)

        return deco
