"""``@tracer.observe``: spans around sync, async, generator and async-generator functions.

A sync function gets the C wrapper (``TracerCore.observe``, csrc/tracing.c): no Python
frame of ours between the caller and the function. The others need a Python frame to
await or yield in, and use the same native span steps through ``TraceOps``.

The user's function is called exactly as it would be undecorated: its exceptions are
recorded once on the span and re-raised untouched, its return value is returned
untouched, and nothing the SDK does (serialising inputs or outputs, starting or ending
the span) can raise into it: every SDK step goes through ``TraceOps`` methods that
catch and count their own failures.

Fixes of upstream behaviour (spec section 6): inputs are bound with the real signature
(positional-only and keyword-only parameters are recorded under their names); a
coroutine's error is recorded once, not twice; a BaseException (KeyboardInterrupt,
CancelledError, GeneratorExit) still ends the span; a generator span ends on
exhaustion, error, close() or garbage collection.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from judgeval_fast.context import Frame
from judgeval_fast.keys import OUTPUT, SPAN_KIND

if TYPE_CHECKING:
    from judgeval_fast._native import Span
    from judgeval_fast.tracer import TraceOps

F = TypeVar("F", bound=Callable[..., Any])

InputCapture = Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]


class CapturePlan(NamedTuple):
    """How a function's inputs are recorded (see capture_plan)."""

    names: tuple[str, ...] | None  # every parameter, when none is *args/**kwargs/keyword-only
    posonly: int  # how many of names are positional-only
    capture: InputCapture  # (args, kwargs) -> {name: value}, as bind_partial binds them


def capture_plan(func: Callable[..., Any]) -> CapturePlan:
    """capture maps (args, kwargs) to {parameter name: value} as ``Signature.bind_partial``
    gives it (explicit arguments only, in parameter order). names is set when every
    parameter is positional (positional-only or positional-or-keyword): the C wrapper then
    builds that dict itself for any call bind_partial accepts (the positional arguments by
    name, then the keywords in parameter order; bind_partial costs ~1.5 us) and leaves the
    rest to capture."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return CapturePlan(
            None, 0, lambda args, kwargs: {"args": args, "kwargs": kwargs} if args or kwargs else {}
        )

    def bound(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(sig.bind_partial(*args, **kwargs).arguments)
        except TypeError:  # the call itself is wrong; the function will raise, we still record
            return {"args": args, "kwargs": kwargs}

    params = sig.parameters.values()
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY)
    if all(p.kind in plain for p in params):
        posonly = sum(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params)
        return CapturePlan(tuple(sig.parameters), posonly, bound)
    return CapturePlan(None, 0, bound)


def input_capture(func: Callable[..., Any]) -> InputCapture:
    """capture_plan's rule as one Python function (the async and generator wrappers)."""
    names, _, bound = capture_plan(func)
    if names is None:
        return bound
    count = len(names)

    def positional(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not kwargs and len(args) <= count:
            return dict(zip(names, args, strict=False))  # fewer args: defaults unrecorded
        return bound(args, kwargs)

    return positional


def make_observed(
    ops: TraceOps,
    func: Callable[..., Any],
    span_type: str | None,
    span_name: str | None,
    record_input: bool,
    record_output: bool,
    disable_generator_yield_span: bool,
) -> Callable[..., Any]:
    """The wrapper of func for its kind of callable."""
    name = span_name or getattr(func, "__name__", None) or type(func).__name__
    items = record_output and not disable_generator_yield_span
    wrapper: Callable[..., Any]
    if not (
        inspect.iscoroutinefunction(func)
        or inspect.isgeneratorfunction(func)
        or inspect.isasyncgenfunction(func)
    ):
        if record_input:
            names, posonly, bound = capture_plan(func)
            wrapper = ops.core.observe(func, name, span_type, names, bound, record_output, posonly)
        else:
            wrapper = ops.core.observe(func, name, span_type, None, None, record_output)
        _copy_metadata(wrapper, func)
        return wrapper
    capture = input_capture(func) if record_input else None
    if inspect.iscoroutinefunction(func):
        wrapper = _coroutine(ops, func, name, span_type, capture, record_output)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator(
            ops, func, name, span_type, capture, record_output, items, TracedGenerator
        )
    else:
        wrapper = _generator(
            ops, func, name, span_type, capture, record_output, items, TracedAsyncGenerator
        )
    _copy_metadata(wrapper, func)
    return wrapper


def _copy_metadata(wrapper: Any, func: Callable[..., Any]) -> None:
    try:
        functools.update_wrapper(wrapper, func)
    except Exception:  # callables without the usual attributes (partials, C functions)
        pass


def _coroutine(
    ops: TraceOps,
    func: Callable[..., Any],
    name: str,
    span_type: str | None,
    capture: InputCapture | None,
    record_output: bool,
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = ops.core.begin(name, span_type)
        if started is None:
            return await func(*args, **kwargs)
        span, _frame, token = started
        if capture is not None:
            ops.record_input(span, capture, args, kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:  # a BaseException still ends the span (not an error)
            ops.core.abort(span, exc)
            ops.core.finish(span, token)
            raise
        if record_output:
            ops.record_output(span, result)
        ops.core.finish(span, token)
        return result

    return wrapper


def _generator(
    ops: TraceOps,
    func: Callable[..., Any],
    name: str,
    span_type: str | None,
    capture: InputCapture | None,
    record_output: bool,
    items: bool,
    traced: type[TracedGenerator] | type[TracedAsyncGenerator],
) -> Callable[..., Any]:
    """The wrapper of a generator or async-generator function: calling it starts the span
    and returns the traced generator, which ends the span when it is done."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = ops.core.begin(name, span_type)
        if started is None:
            return func(*args, **kwargs)
        span, frame, token = started
        if capture is not None:
            ops.record_input(span, capture, args, kwargs)
        try:
            gen = func(*args, **kwargs)
        except BaseException as exc:
            ops.core.abort(span, exc)
            ops.core.finish(span, token)
            raise
        # The span stays open for the generator's life, current only during its steps.
        ops.core.leave(token)
        if record_output:
            ops.set_raw(span, OUTPUT, traced.PLACEHOLDER)
        return traced(gen, ops, span, frame, name, items)

    return wrapper


class _TracedBase:
    """A generator or async generator whose span covers its whole life: it ends on
    exhaustion, error, close or garbage collection, whichever comes first. Each item
    may get a child span."""

    __slots__ = ("__weakref__", "_done", "_frame", "_gen", "_items", "_name", "_ops", "_span")

    def __init__(
        self,
        gen: Generator[Any, Any, Any] | AsyncGenerator[Any, Any],
        ops: TraceOps,
        span: Span,
        frame: Frame,
        name: str,
        items: bool,
    ) -> None:
        self._gen: Any = gen
        self._ops = ops
        self._span = span
        self._frame = frame
        self._name = name
        self._items = items
        self._done = False

    def _failed(self, token: Any, exc: BaseException) -> None:
        self._ops.core.leave(token)
        self._ops.core.abort(self._span, exc)
        self._end()

    def _yielded(self, token: Any, item: Any) -> Any:
        self._ops.core.leave(token)
        if self._items:
            self._ops.item_span(self._frame, self._name, item)
        return item

    def _end(self) -> None:
        if not self._done:
            self._done = True
            self._ops.set_raw(self._span, SPAN_KIND, "generator")
            self._ops.end(self._span)

    def __del__(self) -> None:
        # Never ended by exhaustion or close(): end it when it is collected.
        if not self._done:
            self._end()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gen, name)  # gi_frame, ag_running, ... of the real generator


class TracedGenerator(_TracedBase):
    __slots__ = ()
    PLACEHOLDER = "<generator>"  # the output recorded on the generator's own span

    def __iter__(self) -> TracedGenerator:
        return self

    def __next__(self) -> Any:
        return self._step(self._gen.__next__, ())

    def send(self, value: Any) -> Any:
        return self._step(self._gen.send, (value,))

    def throw(self, *args: Any) -> Any:
        return self._step(self._gen.throw, args)

    def close(self) -> None:
        try:
            self._gen.close()
        finally:
            self._end()

    def _step(self, step: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._done:
            return step(*args)
        token = self._ops.enter(self._frame)
        try:
            item = step(*args)
        except StopIteration:
            self._ops.core.leave(token)
            self._end()
            raise
        except BaseException as exc:
            self._failed(token, exc)
            raise
        return self._yielded(token, item)


class TracedAsyncGenerator(_TracedBase):
    __slots__ = ()
    PLACEHOLDER = "<async_generator>"

    def __aiter__(self) -> TracedAsyncGenerator:
        return self

    async def __anext__(self) -> Any:
        return await self._step(self._gen.__anext__, ())

    async def asend(self, value: Any) -> Any:
        return await self._step(self._gen.asend, (value,))

    async def athrow(self, *args: Any) -> Any:
        return await self._step(self._gen.athrow, args)

    async def aclose(self) -> None:
        try:
            await self._gen.aclose()
        finally:
            self._end()

    async def _step(self, step: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._done:
            return await step(*args)
        token = self._ops.enter(self._frame)
        try:
            item = await step(*args)
        except StopAsyncIteration:
            self._ops.core.leave(token)
            self._end()
            raise
        except BaseException as exc:
            self._failed(token, exc)
            raise
        return self._yielded(token, item)
