"""The current span, and what child spans inherit, in a ContextVar.

A ``Frame`` (native: ``judgeval_fast._native.Frame``) is pushed for every span made
current (by ``observe``, ``span()``, ``use_span``) and popped when it ends, so async tasks
and threads each see their own current span. ``Frame.inherited`` holds the attributes
that children copy at start (customer/session ids, the project override): set on a
frame, they reach the spans started under it and nothing else: unlike upstream's
attached-and-never-detached contexts, a customer id cannot leak to later, unrelated spans.
"""

from __future__ import annotations

import contextvars

from judgeval_fast._native import Frame, SpanContext

__all__ = [
    "INVALID_SPAN",
    "INVALID_SPAN_CONTEXT",
    "Frame",
    "NonRecordingSpan",
    "agent_context",
    "current",
]


current: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "judgeval_fast_current_span", default=None
)

# Agent context of agent(): (agent_id, parent_agent_id, class_name, instance_name).
agent_context: contextvars.ContextVar[tuple[str, str | None, str | None, str | None] | None] = (
    contextvars.ContextVar("judgeval_fast_agent", default=None)
)


INVALID_SPAN_CONTEXT = SpanContext(0, 0, trace_flags=0)


class NonRecordingSpan:
    """OpenTelemetry's INVALID_SPAN: what "the current span" is when there is none."""

    __slots__ = ()

    def get_span_context(self) -> SpanContext:
        return INVALID_SPAN_CONTEXT

    @property
    def context(self) -> SpanContext:
        return INVALID_SPAN_CONTEXT

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: object, value: object) -> None:
        pass

    def set_attributes(self, attributes: object) -> None:
        pass

    def add_event(self, name: object, attributes: object = None, timestamp: object = None) -> None:
        pass

    def record_exception(self, exception: BaseException, *args: object, **kwargs: object) -> None:
        pass

    def set_status(self, status: object, description: object = None) -> None:
        pass

    def update_name(self, name: object) -> None:
        pass

    def end(self, end_time: object = None) -> None:
        pass

    def __repr__(self) -> str:
        return "NonRecordingSpan()"


INVALID_SPAN = NonRecordingSpan()
