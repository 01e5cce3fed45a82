"""Span kinds and status codes with OpenTelemetry's values, for the native Span."""

from __future__ import annotations

import enum

from judgeval_fast._native import Event, Span, SpanContext, Status

__all__ = ["Event", "Span", "SpanContext", "SpanKind", "Status", "StatusCode"]


class SpanKind(enum.IntEnum):
    """opentelemetry.trace.SpanKind values (the wire value is this + 1)."""

    INTERNAL = 0
    SERVER = 1
    CLIENT = 2
    PRODUCER = 3
    CONSUMER = 4


class StatusCode(enum.IntEnum):
    """opentelemetry.trace.StatusCode values (identical on the wire)."""

    UNSET = 0
    OK = 1
    ERROR = 2
