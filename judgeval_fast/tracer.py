"""The judgeval v1 ``Tracer``, on the native span pipeline.

Surface: judgeval v0.25.1's ``judgeval.v1.tracer.Tracer`` (spec section 2), plus the
plan's ``Tracer(project_name=..., enable_monitoring=..., enable_evaluation=...)`` form
(credentials from the environment) and ``get_health_metrics()``.

Environment variables (read when a Tracer is created, not at import):
  JUDGMENT_API_URL  base URL of the Judgment API (https://api.judgmentlabs.ai)
  JUDGMENT_API_KEY  API key; without it (or the org id) monitoring is off, with a warning
  JUDGMENT_ORG_ID   organization id
  OTEL_RESOURCE_ATTRIBUTES  extra resource attributes (k=v,k=v)
plus the exporter, worker and limit variables of judgeval_fast.exporter/.worker/.config.

What differs from upstream, on purpose (spec section 6): no network I/O on the caller's
thread (project resolution, tags and evaluations go through the API worker); force_flush
and shutdown honour their timeouts; one exporter thread per destination however many
tracers; every public method isolates its exceptions (judgeval_fast.guard); customer and
session ids stay within their span's subtree; spans end on BaseException; the store of
internal attributes is bounded (LRU + TTL); tracers are held weakly, never forever.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import logging
import os
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar, Token
from typing import Any, ClassVar, TypeVar, overload

import orjson

from judgeval_fast import __version__
from judgeval_fast import keys as K
from judgeval_fast._native import Span, SpanContext, SpanScope, TracerCore
from judgeval_fast.api import JudgmentSyncClient, url_for
from judgeval_fast.context import (
    INVALID_SPAN,
    Frame,
    NonRecordingSpan,
    agent_context,
)
from judgeval_fast.context import current as _global_current
from judgeval_fast.destination import (
    DISABLED,
    Destination,
    DisabledDestination,
    get_destination,
    project_id_for,
)
from judgeval_fast.evaluation import example_dict, example_evaluation_run, trace_evaluation_run
from judgeval_fast.exporter import ExporterConfig
from judgeval_fast.guard import guard, stats_of
from judgeval_fast.metrics import exporter_health
from judgeval_fast.observe import InputCapture, make_observed
from judgeval_fast.processor import JudgmentSpanProcessor, JudgmentTracerProvider
from judgeval_fast.serialize import JSON_OPTIONS, Serializer, json_encoder, safe_serialize
from judgeval_fast.worker import get_worker, worker_stats

__all__ = ["Judgeval", "Tracer", "TracerFactory"]

logger = logging.getLogger("judgeval_fast")

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_API_URL = "https://api.judgmentlabs.ai"
TRACER_NAME = "judgeval"


def _otel_resource_attributes() -> dict[str, str]:
    out: dict[str, str] = {}
    for part in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


class TraceOps:
    """The span steps of one tracer, used by the Python wrappers (async functions,
    generators, start_span, use_span). Most are the tracer's TracerCore methods, which
    never raise; the rest catch and count their failures (judgeval_fast.guard) so the
    user's code goes on. Sync @observe, span() and set_attribute run in C altogether."""

    __slots__ = ("__weakref__", "core", "tracer")

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.core = TracerCore(
            tracer._var,
            agent_context,
            dumps=orjson.dumps,
            dumps_default=json_encoder,
            dumps_option=JSON_OPTIONS,
            on_error=self._error,
            invalid_span=INVALID_SPAN,
            scope_type=_SpanScope,
        )

    def _error(self, where: str, exc: BaseException) -> None:
        stats_of(self.tracer).record(where, exc)

    def enter(self, frame: Frame) -> Token[Frame | None] | None:
        try:
            return self.tracer._var.set(frame)
        except Exception as exc:
            self._error("entering a span", exc)
            return None

    def end(self, span: Span) -> None:
        try:
            span.end()
        except Exception as exc:
            self._error("ending a span", exc)

    def set_raw(self, span: Span, key: str, value: Any) -> None:
        try:
            span.set_attribute(key, value)
        except Exception as exc:
            self._error("set_attribute", exc)

    def record_input(
        self, span: Span, capture: InputCapture, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        try:
            span.set_attribute(K.INPUT, self.core.serialized(capture(args, kwargs)))
        except Exception as exc:
            self._error("recording inputs", exc)

    def record_output(self, span: Span, result: Any) -> None:
        try:
            span.set_attribute(K.OUTPUT, self.core.serialized(result))
        except Exception as exc:
            self._error("recording the output", exc)

    def item_span(self, frame: Frame, name: str, item: Any) -> None:
        try:
            child, _ = self.core.new_span(name, "generator_item", frame)
            child.set_attribute(K.OUTPUT, self.core.serialized(item))
            child.end()
        except Exception as exc:
            self._error("recording a generator item", exc)


class _SpanScope(SpanScope):
    """``with tracer.span(name) as span`` (sync and async): enter and exit are C."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)


class JudgmentTracer:
    """What ``tracer.get_tracer()`` / ``tracer._tracer`` returns (OpenTelemetry Tracer API)."""

    def __init__(self, owner: Tracer) -> None:
        self._owner = owner

    def start_span(
        self,
        name: str,
        context: Any = None,
        kind: Any = None,
        attributes: Mapping[str, Any] | None = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span | NonRecordingSpan:
        """A new span, child of the current one (or of ``context``'s span), not made current."""
        owner = self._owner
        try:
            core = owner._core
            if not core.enabled:
                core.after_shutdown += core.shut_down
                return INVALID_SPAN
            parent = context if isinstance(context, Frame) else owner._var.get()
            span, _ = core.new_span(name, None, parent, kind)
            if attributes:
                span.set_attributes(attributes)
            return span
        except Exception as exc:
            stats_of(owner).record("start_span", exc)
            return INVALID_SPAN

    @contextlib.contextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Any = None,
        kind: Any = None,
        attributes: Mapping[str, Any] | None = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span | NonRecordingSpan]:
        span = self.start_span(name, context, kind, attributes)
        with self._owner.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as s:
            yield s


class _NoOpTracer:
    """What get_tracer() gives a filtered-out instrumentation scope."""

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> NonRecordingSpan:
        return INVALID_SPAN

    @contextlib.contextmanager
    def start_as_current_span(
        self, name: str, *args: Any, **kwargs: Any
    ) -> Iterator[NonRecordingSpan]:
        yield INVALID_SPAN


def _noop_decorator(*args: Any, **kwargs: Any) -> Any:
    """observe's and agent's fallback: the function itself, undecorated."""
    if args and callable(args[0]):
        return args[0]
    return lambda func: func


@contextlib.contextmanager
def _null_scope(*args: Any, **kwargs: Any) -> Iterator[NonRecordingSpan]:
    yield INVALID_SPAN


class Tracer:
    """judgeval's v1 Tracer on the native pipeline.

    Args:
        project_name: the Judgment project.
        enable_evaluation: when False, async_evaluate/async_trace_evaluate do nothing.
        enable_monitoring: when False, observe returns the function itself.
        api_client: a JudgmentSyncClient; by default one from JUDGMENT_API_URL,
            JUDGMENT_API_KEY and JUDGMENT_ORG_ID.
        serializer: value -> str for non-scalar inputs/outputs (default safe_serialize).
        filter_tracer: (name, version, schema_url, attributes) -> bool for get_tracer().
        isolated: keep this tracer's current span in its own context.
        resource_attributes: extra resource attributes (win on conflict).
        initialize: accepted for compatibility (there is no global provider to set).
        project_id: a known project id (skips its resolution).
        exporter_config: bounds and timing of the export (ExporterConfig).
        metadata_capacity, metadata_ttl: bounds of the internal attribute store.
    """

    TRACER_NAME = TRACER_NAME
    _tracers: ClassVar[weakref.WeakSet[Tracer]] = weakref.WeakSet()
    _creation_order: ClassVar[Iterator[int]] = itertools.count()

    def __init__(
        self,
        project_name: str,
        enable_evaluation: bool = True,
        enable_monitoring: bool = True,
        api_client: JudgmentSyncClient | None = None,
        serializer: Serializer | None = None,
        filter_tracer: Callable[..., bool] | None = None,
        isolated: bool = False,
        resource_attributes: Mapping[str, Any] | None = None,
        initialize: bool = True,
        *,
        project_id: str | None = None,
        use_default_span_processor: bool = True,
        api_url: str | None = None,
        api_key: str | None = None,
        organization_id: str | None = None,
        exporter_config: ExporterConfig | None = None,
        metadata_capacity: int = 10_000,
        metadata_ttl: float = 3600.0,
    ) -> None:
        self._var: ContextVar[Frame | None] = (
            ContextVar(f"judgeval_fast_isolated_{id(self)}", default=None)
            if isolated
            else _global_current
        )
        self._shut_down = False
        self._ops = TraceOps(self)
        self._core = self._ops.core
        self.project_name = str(project_name)
        self.enable_evaluation = bool(enable_evaluation)
        self.enable_monitoring = bool(enable_monitoring)
        self.serializer = serializer or safe_serialize
        self.project_id = project_id
        self._filter_tracer = filter_tracer
        self._isolated = bool(isolated)
        base = (api_url or os.environ.get("JUDGMENT_API_URL") or DEFAULT_API_URL).strip()
        key = api_key if api_key is not None else os.environ.get("JUDGMENT_API_KEY")
        org = organization_id if organization_id is not None else os.environ.get("JUDGMENT_ORG_ID")
        self.api_client = (
            api_client if api_client is not None else JudgmentSyncClient(base, key, org)
        )
        base = getattr(self.api_client, "base_url", base) or base
        key = getattr(self.api_client, "api_key", key)
        org = getattr(self.api_client, "organization_id", org)
        self._api_url = base
        self.resource = {
            K.ResourceKeys.SERVICE_NAME.value: self.project_name,
            K.ResourceKeys.TELEMETRY_SDK_NAME.value: "judgeval",
            K.ResourceKeys.TELEMETRY_SDK_VERSION.value: __version__,
            K.ResourceKeys.TELEMETRY_SDK_LANGUAGE.value: "python",
            **_otel_resource_attributes(),
            **dict(resource_attributes or {}),
        }
        if self.enable_monitoring and not (key and org):
            logger.warning(
                "judgeval_fast: no API key or organization id (JUDGMENT_API_KEY, JUDGMENT_ORG_ID); "
                "monitoring is off for project %r",
                self.project_name,
            )
            self.enable_monitoring = False
        destination: Destination | DisabledDestination = DISABLED
        if self.enable_monitoring:
            try:
                destination = get_destination(
                    endpoint=url_for("/otel/v1/traces", base),
                    api_url=base,
                    api_key=key,
                    organization_id=org,
                    project_name=self.project_name,
                    project_id=project_id,
                    resource=self.resource,
                    user_agent=f"judgeval-fast/{__version__}",
                    config=exporter_config,
                )
            except (ValueError, TypeError) as exc:
                logger.error(
                    "judgeval_fast: cannot export to %r (%s); monitoring is off", base, exc
                )
                self.enable_monitoring = False
        self._span_processor = JudgmentSpanProcessor(
            self, destination, store_capacity=metadata_capacity, store_ttl=metadata_ttl
        )
        if destination.project_id is None and self.enable_monitoring:
            self._core.on_unresolved = self._project_resolved
            # Queued now, not at the first span: upstream resolves in its constructor (on
            # the caller's thread); here the control worker does it meanwhile, so spans
            # are rarely held waiting for the id.
            self._project_resolved()
        self._tracer_provider = JudgmentTracerProvider(self, self._span_processor, self.resource)
        self._tracer = JudgmentTracer(self)
        self._created = next(Tracer._creation_order)
        Tracer._tracers.add(self)

    # -- state the native core reads on every span -------------------------------------

    @property
    def enable_monitoring(self) -> bool:
        return self._enable_monitoring

    @enable_monitoring.setter
    def enable_monitoring(self, value: bool) -> None:
        self._enable_monitoring = bool(value)
        self._core.enabled = int(self._enable_monitoring and not self._shut_down)

    @property
    def serializer(self) -> Serializer:
        return self._serializer

    @serializer.setter
    def serializer(self, value: Serializer) -> None:
        self._serializer = value
        # The default runs natively (orjson from C); anything else is called as given.
        self._core.serializer = None if value is safe_serialize else value

    def _project_resolved(self) -> bool:
        """At span start while the project id is unknown: queue its resolution (on the
        control worker, never here); True once it is known, and the core stops asking."""
        destination = self._span_processor._destination
        destination.ensure_resolved(self.api_client)
        return destination.project_id is not None

    # -- factories and context --------------------------------------------------------

    @property
    def tracer_provider(self) -> JudgmentTracerProvider:
        return self._tracer_provider

    def get_tracer(self) -> JudgmentTracer:
        return self._tracer

    def _get_tracer_named(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Any:
        if name == TRACER_NAME:
            return self._tracer
        if self._isolated:
            return _NoOpTracer()
        if self._filter_tracer is not None:
            try:
                if not self._filter_tracer(name, version, schema_url, attributes):
                    return _NoOpTracer()
            except Exception as exc:
                logger.error("judgeval_fast: filter_tracer raised %r; allowing %r", exc, name)
        return self._tracer

    def get_span_processor(self) -> JudgmentSpanProcessor:
        return self._span_processor

    def get_span_exporter(self) -> Any:
        return self._span_processor._span_exporter

    def get_context(self) -> Frame | None:
        """The current span's frame (pass it as start_span(context=...))."""
        return self._var.get()

    def _get_current_span(self) -> Span | NonRecordingSpan:
        frame = self._var.get()
        return frame.span if frame is not None else INVALID_SPAN

    get_current_span = _get_current_span

    # -- spans ---------------------------------------------------------------------------

    @overload
    def observe(
        self,
        func: F,
        span_type: str | None = "span",
        span_name: str | None = None,
        record_input: bool = True,
        record_output: bool = True,
        disable_generator_yield_span: bool = False,
    ) -> F: ...

    @overload
    def observe(
        self,
        func: None = None,
        span_type: str | None = "span",
        span_name: str | None = None,
        record_input: bool = True,
        record_output: bool = True,
        disable_generator_yield_span: bool = False,
    ) -> Callable[[F], F]: ...

    @guard(fallback=_noop_decorator)
    def observe(
        self,
        func: Callable[..., Any] | None = None,
        span_type: str | None = "span",
        span_name: str | None = None,
        record_input: bool = True,
        record_output: bool = True,
        disable_generator_yield_span: bool = False,
    ) -> Any:
        """Decorate a function (sync, async, generator or async generator) with a span."""
        if func is None:

            def decorate(f: Callable[..., Any]) -> Any:
                return self.observe(
                    f,
                    span_type,
                    span_name,
                    record_input,
                    record_output,
                    disable_generator_yield_span,
                )

            return decorate
        if not self.enable_monitoring:
            return func
        return make_observed(
            self._ops,
            func,
            span_type,
            span_name,
            record_input,
            record_output,
            disable_generator_yield_span,
        )

    @guard(fallback=_null_scope, native=lambda t: t._core.span)
    def span(self, span_name: str) -> SpanScope:
        """``with tracer.span(name) as span:`` a child of the current span, made current."""
        return self._core.span(span_name)

    @guard(fallback=lambda *a, **k: INVALID_SPAN)
    def start_span(self, span_name: str, **kwargs: Any) -> Span | NonRecordingSpan:
        """A new span, not made current: the caller ends it."""
        return self._tracer.start_span(span_name, **kwargs)

    @guard(fallback=_null_scope)
    @contextlib.contextmanager
    def use_span(
        self,
        span: Any,
        end_on_exit: bool = False,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Iterator[Any]:
        """Make span current for the block."""
        token = None
        if isinstance(span, Span):
            token = self._var.set(Frame(span, None))
        try:
            yield span
        except BaseException as exc:
            if isinstance(span, Span):
                self._core.abort(span, exc, record_exception, set_status_on_exception)
            raise
        finally:
            self._core.leave(token)
            if end_on_exit:
                self._ops.end(span)

    # -- attributes ------------------------------------------------------------------------

    # The public setters are guarded once each; they share unguarded helpers rather than
    # calling each other, so that one call pays for one guard.

    def _set_on(self, span: Any, key: str, value: Any) -> None:
        if span is None or not key or value is None:
            return
        span.set_attribute(key, self._core.serialized(value))

    def _set_current(self, key: str, value: Any) -> None:
        self._core.set_attribute(key, value)

    @guard(native=lambda t: t._core.set_attribute)
    def set_attribute(self, key: str, value: Any) -> None:
        """Set an attribute on the current span (non-scalars through the serializer)."""
        self._core.set_attribute(key, value)

    @guard()
    def set_span_attribute(self, span: Any, key: str, value: Any) -> None:
        """judgeval 0.32's form: set_attribute's rules, on the span given."""
        self._set_on(span, key, value)

    @guard(fallback=lambda *a, **k: None)
    def get_effective_project_id(self) -> str | None:
        """The project the current trace goes to: its override_project() id if resolved,
        else this tracer's (None while it is still being resolved)."""
        frame = self._var.get()
        inherited = frame.inherited if frame is not None else None
        if inherited and inherited.get(K.PROJECT_ID_OVERRIDE):
            return str(inherited[K.PROJECT_ID_OVERRIDE])
        return self._span_processor._destination.project_id or self.project_id

    @guard()
    def set_attributes(self, attributes: Mapping[str, Any] | None) -> None:
        if not attributes:
            return
        for key, value in attributes.items():
            self.set_attribute(key, value)  # per item, as upstream: a patched one applies

    @guard()
    def set_input(self, value: Any) -> None:
        self._set_current(K.INPUT, value)

    @guard()
    def set_output(self, value: Any) -> None:
        self._set_current(K.OUTPUT, value)

    @guard()
    def set_span_kind(self, kind: str | None) -> None:
        self._set_current(K.SPAN_KIND, kind)

    @guard()
    def set_llm_span(self) -> None:
        self._set_current(K.SPAN_KIND, "llm")

    @guard()
    def set_tool_span(self) -> None:
        self._set_current(K.SPAN_KIND, "tool")

    @guard()
    def set_general_span(self) -> None:
        self._set_current(K.SPAN_KIND, "span")

    def _inherit(self, key: str, value: Any) -> None:
        frame = self._var.get()
        if frame is None or value is None:
            return
        frame.span.set_attribute(key, str(value))
        frame.inherit(key, str(value))

    @guard()
    def set_customer_id(self, customer_id: str) -> None:
        """Set the customer id on the current span and every span started under it."""
        self._inherit(K.CUSTOMER_ID, customer_id)

    @guard()
    def set_customer_user_id(self, customer_user_id: str) -> None:
        self._inherit(K.CUSTOMER_USER_ID, customer_user_id)

    @guard()
    def set_session_id(self, session_id: str) -> None:
        """Set the session id on the current span and every span started under it."""
        self._inherit(K.SESSION_ID, session_id)

    @guard()
    def override_project(
        self, project_name: str, dangerously_allow_non_root_override: bool = False
    ) -> None:
        """Send this trace to another project (from its root span).

        The id is resolved on the API worker; until it is known the span carries
        ``judgment.project_name_override`` instead.
        """
        frame = self._var.get()
        if frame is None:
            logger.error("judgeval_fast: override_project() needs a current span")
            return
        if frame.span.parent is not None and not dangerously_allow_non_root_override:
            logger.error("judgeval_fast: override_project() must be called from a root span")
            return
        known = project_id_for(self._api_url, self.api_client, project_name)
        if known:
            self._inherit(K.PROJECT_ID_OVERRIDE, known)
        else:  # resolving on the control worker; the name stands in until the id is known
            self._inherit("judgment.project_name_override", project_name)

    # -- API calls (queued, never blocking) -------------------------------------------

    def _sampled_context(self) -> SpanContext | None:
        frame = self._var.get()
        if frame is None:
            return None
        ctx = frame.span.get_span_context()
        return ctx if ctx.is_valid and ctx.trace_flags & 1 else None

    def _submit(self, call: Callable[[], Any]) -> None:
        if self._shut_down:
            return
        get_worker().submit(call)

    @guard()
    def tag(self, tags: str | Sequence[str]) -> None:
        """Tag the current trace (the POST runs on the API worker)."""
        if not tags:
            return
        ctx = self._sampled_context()
        if ctx is None:
            return
        payload = {
            "project_name": self.project_name,
            "trace_id": ctx.trace_id_hex,
            "tags": [tags] if isinstance(tags, str) else list(tags),
        }
        tracer = self

        def call() -> Any:
            client = tracer.api_client  # looked up now: tests replace methods on it
            return client._request("POST", url_for("/traces/tags/add", client.base_url), payload)

        self._submit(call)

    @guard()
    def async_evaluate(
        self,
        scorer: Any = None,
        example: Any = None,
        *,
        input: Any = None,
        output: Any = None,
        expected_output: Any = None,
        scorers: Sequence[Any] | None = None,
        **fields: Any,
    ) -> None:
        """Queue an evaluation of the current span: ``(scorer, example)`` or the keyword
        form ``(input=..., output=..., scorers=[...])``."""
        if not self.enable_evaluation:
            return
        if scorer is None and scorers is None:
            logger.error("judgeval_fast: async_evaluate() needs a scorer")
            return
        ctx = self._sampled_context()
        if ctx is None:
            return
        all_scorers = ([scorer] if scorer is not None else []) + list(scorers or [])
        data = example_dict(
            example, input=input, actual_output=output, expected_output=expected_output, **fields
        )
        payload = example_evaluation_run(self.project_name, ctx, all_scorers, data)
        tracer = self

        def call() -> Any:
            return tracer.api_client.add_to_run_eval_queue_examples(payload)

        self._submit(call)

    @guard()
    def async_trace_evaluate(
        self, scorer: Any = None, *, scorers: Sequence[Any] | None = None
    ) -> None:
        """Mark the current trace for evaluation once complete (no HTTP call)."""
        if not self.enable_evaluation:
            return
        if scorer is None and not scorers:
            logger.error("judgeval_fast: async_trace_evaluate() needs a scorer")
            return
        ctx = self._sampled_context()
        frame = self._var.get()
        if ctx is None or frame is None:
            return
        run = trace_evaluation_run(
            self.project_name, ctx, ([scorer] if scorer is not None else []) + list(scorers or [])
        )
        frame.span.set_attribute(K.PENDING_TRACE_EVAL, self._core.serialized(run))

    @guard(fallback=_noop_decorator)
    def agent(
        self, func: Callable[..., Any] | None = None, /, *, identifier: str | None = None
    ) -> Any:
        """Decorate an agent's entry point: spans inside carry its agent ids."""
        if func is None:
            return lambda f: self.agent(f, identifier=identifier)
        qual = getattr(func, "__qualname__", "").split(".")
        class_name = qual[-2] if len(qual) >= 2 else None

        def context_for(args: tuple[Any, ...]) -> tuple[str, str | None, str | None, str | None]:
            parent = agent_context.get()
            instance = None
            if identifier and args:
                value = getattr(args[0], identifier, None)
                instance = str(value) if value is not None else None
            return (str(uuid.uuid4()), parent[0] if parent else None, class_name, instance)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = agent_context.set(context_for(args))
                try:
                    return await func(*args, **kwargs)
                finally:
                    agent_context.reset(token)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = agent_context.set(context_for(args))
            try:
                return func(*args, **kwargs)
            finally:
                agent_context.reset(token)

        return wrapper

    @guard(fallback=lambda client, *a, **k: client)
    def wrap(self, client: Any) -> Any:
        """Trace the calls of an LLM client (OpenAI, Anthropic, Together, google-genai)."""
        from judgeval_fast.instrumentation import wrap_client

        return wrap_client(self, client)

    # -- lifecycle -----------------------------------------------------------------------

    @guard(fallback=lambda *a, **k: False)
    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait (without the GIL) until spans ended so far are exported; False at the deadline."""
        return self._span_processor.force_flush(timeout_millis)

    @guard()
    def shutdown(self, timeout_millis: int = 30000) -> None:
        """Flush within timeout_millis, then stop: later spans are no-ops (counted)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._core.enabled = 0
        self._core.shut_down = 1
        deadline = time.monotonic() + max(0.0, timeout_millis / 1000.0)
        self._span_processor.shutdown(int(timeout_millis * 0.8))
        remaining = max(0.0, deadline - time.monotonic())
        worker = get_worker()
        if worker.stats()["pending"]:
            worker.flush(remaining)

    @guard(fallback=lambda *a, **k: {})
    def get_health_metrics(self) -> dict[str, Any]:
        """Counters of this tracer's pipeline (its destination's exporter is shared by every
        tracer of the project; the API worker by every tracer of the process)."""
        processor = self._span_processor
        exp = exporter_health(processor._destination.native.stats())
        if processor._python_path is not None:
            extra = processor._python_path.stats()
            for k in (
                "exported",
                "failed",
                "rejected",
                "dropped_queue_full",
                "dropped_shutdown",
                "retries",
                "queue_size",
            ):
                exp[k] += extra[k]
        store = processor._internal_attributes
        n, capacity, ttl, lru, expired, _, _ = store.stats()
        # API calls of both workers: tags and evaluations, and project-id resolutions.
        per_worker = [x for x in worker_stats().values() if x is not None]

        def calls(*keys: str) -> int:
            return sum(x[k] for x in per_worker for k in keys)

        return {
            "spans_dropped": exp["dropped_queue_full"]
            + exp["dropped_oversize"]
            + exp["rejected_after_shutdown"]
            + exp["dropped_shutdown"],
            "spans_exported": exp["exported"],
            "export_failures": exp["failed"] + exp["rejected"] + exp["partially_rejected"],
            "export_retries": exp["retries"],
            "queue_size": exp["queue_size"],
            "queue_capacity": exp["queue_capacity"],
            "queue_utilization": exp["queue_utilization"],
            "queue_bytes": exp["queue_bytes"],
            "metadata_entries": n,
            "metadata_capacity": capacity,
            "metadata_ttl": ttl,
            "metadata_evictions": lru + expired,
            "api_calls_pending": calls("pending", "running"),
            "api_calls_succeeded": calls("succeeded"),
            "api_calls_failed": calls("failed"),
            "api_calls_dropped": calls("dropped", "dropped_shutdown", "cancelled"),
            "api_calls_retried": calls("retried"),
            "spans_after_shutdown": self._core.after_shutdown,
            "sdk_errors_isolated": stats_of(self).errors,
            "exporter_gil_acquisitions": exp["gil_acquisitions"],
            "project_resolved": processor._destination.project_id is not None,
            "last_export_error": exp["last_error"],
        }


class TracerFactory:
    """``Judgeval().tracer``: creates tracers that share the client's credentials."""

    def __init__(self, client: Judgeval) -> None:
        self._client = client

    def create(
        self,
        project_name: str,
        enable_evaluation: bool = True,
        enable_monitoring: bool = True,
        serializer: Serializer | None = None,
        filter_tracer: Callable[..., bool] | None = None,
        isolated: bool = False,
        resource_attributes: Mapping[str, Any] | None = None,
        initialize: bool = True,
        **kwargs: Any,
    ) -> Tracer:
        return Tracer(
            project_name,
            enable_evaluation,
            enable_monitoring,
            self._client._internal_client,
            serializer,
            filter_tracer,
            isolated,
            resource_attributes,
            initialize,
            **kwargs,
        )


class Judgeval:
    """judgeval's v1 client: credentials, and a factory of tracers."""

    def __init__(
        self,
        api_key: str | None = None,
        organization_id: str | None = None,
        api_url: str | None = None,
    ) -> None:
        self._api_key = api_key or os.environ.get("JUDGMENT_API_KEY")
        self._organization_id = organization_id or os.environ.get("JUDGMENT_ORG_ID")
        self._api_url = api_url or os.environ.get("JUDGMENT_API_URL") or DEFAULT_API_URL
        if not self._api_key:
            raise ValueError("api_key is required")
        if not self._organization_id:
            raise ValueError("organization_id is required")
        self._internal_client = JudgmentSyncClient(
            self._api_url, self._api_key, self._organization_id
        )

    @property
    def tracer(self) -> TracerFactory:
        return TracerFactory(self)
