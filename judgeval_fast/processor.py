"""judgeval's span processor and exporter, as facades over the native pipeline.

The plan's tests reach into ``tracer._tracer_provider._span_processor._span_exporter``
and replace ``export`` on that instance (DESIGN 3.5, 3.6). When they do, this tracer's
new spans are routed to a processor-private native exporter in Python mode: its thread
takes the GIL once per batch and calls the replacement with one span per call,
retrying failures with back-off. Other tracers sharing the destination are unaffected.
When the replacement is removed, the private exporter encodes what it still holds
natively and is flushed with the processor.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from judgeval_fast._native import Exporter, Span, Store
from judgeval_fast.exporter import ExportResult
from judgeval_fast.keys import UPDATE_ID

if TYPE_CHECKING:
    from judgeval_fast.destination import Destination, DisabledDestination

__all__ = ["JudgmentSpanExporter", "JudgmentSpanProcessor"]

logger = logging.getLogger("judgeval_fast")


class JudgmentSpanExporter:
    """OpenTelemetry SpanExporter contract over a native exporter."""

    _native: Exporter
    _processor: JudgmentSpanProcessor

    def __init__(self, native: Exporter, processor: JudgmentSpanProcessor) -> None:
        object.__setattr__(self, "_native", native)
        object.__setattr__(self, "_processor", processor)

    def export(self, spans: Any) -> ExportResult:
        """POST the spans now (the GIL is released meanwhile); SUCCESS or FAILURE."""
        return ExportResult(self._native.export(list(spans)))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._native.force_flush(timeout_millis / 1000.0))

    def shutdown(self) -> None:
        self._processor.shutdown()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "export":
            self._processor._route_through_python(True)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name == "export":
            self._processor._route_through_python(False)


class JudgmentSpanProcessor:
    """judgeval's JudgmentSpanProcessor surface: internal attributes, flush, shutdown."""

    def __init__(
        self,
        tracer: Any,
        destination: Destination | DisabledDestination,
        *,
        store_capacity: int = 10_000,
        store_ttl: float = 3600.0,
    ) -> None:
        self.tracer = tracer
        self._destination = destination
        self._internal_attributes = Store(store_capacity, store_ttl)
        self._span_exporter = JudgmentSpanExporter(destination.native, self)
        self._python_path: Exporter | None = None
        self._shut_down = False
        # The tracer's native core starts every span: ended spans remove their entries
        # from this store and go to the exporter of the current route.
        tracer._core.store = self._internal_attributes
        self._use(destination.native)

    def _use(self, exporter: Exporter) -> None:
        """Route the spans started from now on to exporter."""
        self.tracer._core.exporter = exporter

    # -- internal attributes ----------------------------------------------------------

    def set_internal_attribute(self, span_context: Any, key: str, value: Any) -> None:
        self._internal_attributes.set(span_context, key, value)

    def get_internal_attribute(self, span_context: Any, key: str, default: Any = None) -> Any:
        return self._internal_attributes.get(span_context, key, default)

    def increment_update_id(self, span_context: Any) -> int:
        return self._internal_attributes.increment(span_context, UPDATE_ID)

    # -- OpenTelemetry SpanProcessor surface ------------------------------------------

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        """Nothing to do: spans inherit in the tracer, not through lifecycle hooks."""

    def on_end(self, span: Span) -> None:
        """Nothing to do: a native span queues itself when it ends."""

    def emit_partial(self) -> None:
        """Partial spans are not emitted (a span is exported once, when it ends)."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush both paths within one deadline (not one each)."""
        deadline = time.monotonic() + max(0.0, timeout_millis / 1000.0)
        ok = True
        if self._python_path is not None:
            ok = self._python_path.force_flush(max(0.0, deadline - time.monotonic()))
        remaining = max(0.0, deadline - time.monotonic())
        return bool(self._destination.native.force_flush(remaining)) and ok

    def shutdown(self, timeout_millis: int = 30000) -> bool:
        """Flush both paths within the timeout, then release them (one deadline)."""
        if self._shut_down:
            return True
        self._shut_down = True
        deadline = time.monotonic() + max(0.0, timeout_millis / 1000.0)
        ok = self.force_flush(timeout_millis)
        if self._python_path is not None:
            ok = self._python_path.shutdown(max(0.0, deadline - time.monotonic())) and ok
        return self._destination.release(max(0.0, deadline - time.monotonic())) and ok

    # -- routing ------------------------------------------------------------------------

    def _route_through_python(self, on: bool) -> None:
        if on:
            if self._python_path is None:
                self._python_path = self._destination.new_exporter()
                self._destination.track(self._python_path)
            self._python_path.set_python_exporter(self._span_exporter)
            self._use(self._python_path)
        else:
            if self._python_path is not None:
                self._python_path.set_python_exporter(None)
            self._use(self._destination.native)


class JudgmentTracerProvider:
    """The provider facade: ``tracer._tracer_provider._span_processor`` is the processor."""

    def __init__(
        self, tracer: Any, processor: JudgmentSpanProcessor, resource: dict[str, Any]
    ) -> None:
        self._tracer = tracer
        self._span_processor = processor
        self.resource = resource

    def get_tracer(self, name: str = "judgeval", *args: Any, **kwargs: Any) -> Any:
        return self._tracer._get_tracer_named(name, *args, **kwargs)

    def add_span_processor(self, processor: Any) -> None:
        """Extra OpenTelemetry processors are not run on the native path: said, not raised
        (an application must not fail to start over its tracing set-up)."""
        logger.error(
            "judgeval_fast: add_span_processor(%s) is ignored: spans are exported natively; "
            "replace tracer._span_processor._span_exporter.export to receive them in Python",
            type(processor).__name__,
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._span_processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._span_processor.shutdown()
