"""Exception isolation at the public API boundary (DESIGN 3.8).

``@guarded(fallback)`` turns a method into a data descriptor. Reading the attribute
returns the *current* implementation (the class's function, or a replacement set on
the instance, as ``patch.object(tracer, "set_attribute", side_effect=...)`` does)
wrapped so that an ``Exception`` from it is logged, counted and answered with the
fallback instead of reaching the caller. ``BaseException`` (KeyboardInterrupt,
SystemExit) is the caller's own and passes through.

The wrapped callables are cached per instance and ``__get__`` is C (GuardBase), so the
cost on the hot path is two dict lookups, plus one Python frame for a Python method; a
method with a never-raising C implementation (``native=``: span, set_attribute) is
cached without a wrapper and costs no Python frame at all.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from judgeval_fast._native import GuardBase
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


class guarded(GuardBase, Generic[F]):
    """Data descriptor for a public method; see the module docstring.

    ``__get__`` is GuardBase's (C): two dict lookups in the instance's cache, no Python
    frame. On a miss it calls ``_bind``, which fills the cache. ``native`` maps an
    instance to a C callable that never raises (its own failures are counted in C): that
    callable is cached as is, with no wrapper around it, unless the method is replaced
    on the instance.
    """

    def __init__(
        self,
        func: F,
        fallback: Callable[..., Any] = _none,
        native: Callable[[Any], Callable[..., Any] | None] | None = None,
    ) -> None:
        self.func = func
        self.fallback = fallback
        self.native = native
        self.name = func.__name__
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _bind(self, obj: object, objtype: type | None) -> F:
        bound = obj.__dict__.get(_BOUND)
        if bound is None:
            bound = obj.__dict__[_BOUND] = {}
        fn: Any = bound.get(self.name)
        if fn is None:
            fn = self.native(obj) if self.native is not None else None
            if fn is None:
                target = self.func.__get__(obj, objtype)
                fn = _wrap(target, self.name, self.fallback, obj)
            bound[self.name] = fn
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
    def guard(
        fallback: Callable[..., Any] = _none,
        native: Callable[[Any], Callable[..., Any] | None] | None = None,
    ) -> Callable[[F], F]: ...

else:

    def guard(
        fallback: Callable[..., Any] = _none,
        native: Callable[[Any], Callable[..., Any] | None] | None = None,
    ) -> Callable[[F], guarded[F]]:
        """Decorator form: ``@guard(lambda *a, **k: False)``."""

        def deco(func: F) -> guarded[F]:
            return guarded(func, fallback, native)

        return deco
