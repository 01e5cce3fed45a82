"""Process-wide limits of the span path, applied to the native runtime.

Environment variables (read once, when this module is imported):
  JUDGEVAL_FAST_MAX_ATTRIBUTE_BYTES  UTF-8 bytes kept of one attribute value (1 MiB)
  JUDGEVAL_FAST_MAX_ATTRIBUTES       attributes per span and per event (128)
  JUDGEVAL_FAST_MAX_EVENTS           events per span (128)
  JUDGEVAL_FAST_EXIT_TIMEOUT         seconds the flush at interpreter exit may take (5)
"""

from __future__ import annotations

from dataclasses import dataclass

from judgeval_fast import _native
from judgeval_fast._env import env_float, env_int, require_positive

DEFAULT_MAX_ATTRIBUTE_BYTES = 1 << 20
DEFAULT_MAX_ATTRIBUTES = 128
DEFAULT_MAX_EVENTS = 128
DEFAULT_EXIT_TIMEOUT = 5.0


@dataclass(frozen=True)
class RuntimeConfig:
    """The limits in force. Every one is enforced in C and every overflow is counted."""

    max_attribute_bytes: int
    max_attributes: int
    max_events: int
    exit_timeout: float


def configure(
    *,
    max_attribute_bytes: int | None = None,
    max_attributes: int | None = None,
    max_events: int | None = None,
    exit_timeout: float | None = None,
) -> RuntimeConfig:
    """Change the span-path limits; arguments left as None keep their current value.

    Args:
        max_attribute_bytes: longer string/bytes values are cut (at a UTF-8 boundary).
        max_attributes: further attributes of a span or event are dropped.
        max_events: further events of a span are dropped.
        exit_timeout: seconds the one flush at interpreter exit may take.

    Returns:
        The configuration now in force.

    Raises:
        ValueError: a value is out of range (the message names the parameter).
    """
    for name, value in (
        ("max_attribute_bytes", max_attribute_bytes),
        ("max_attributes", max_attributes),
        ("max_events", max_events),
    ):
        if value is not None:
            require_positive(name, value)
    if exit_timeout is not None:
        require_positive("exit_timeout", exit_timeout, allow_zero=True)
    applied = _native.configure(
        max_attribute_bytes=max_attribute_bytes,
        max_attributes=max_attributes,
        max_events=max_events,
        exit_timeout=exit_timeout,
    )
    return RuntimeConfig(**applied)


def current() -> RuntimeConfig:
    """The configuration in force."""
    return RuntimeConfig(**_native.configure())


def _apply_environment() -> None:
    configure(
        max_attribute_bytes=env_int(
            "JUDGEVAL_FAST_MAX_ATTRIBUTE_BYTES", DEFAULT_MAX_ATTRIBUTE_BYTES
        ),
        max_attributes=env_int("JUDGEVAL_FAST_MAX_ATTRIBUTES", DEFAULT_MAX_ATTRIBUTES),
        max_events=env_int("JUDGEVAL_FAST_MAX_EVENTS", DEFAULT_MAX_EVENTS),
        exit_timeout=env_float("JUDGEVAL_FAST_EXIT_TIMEOUT", DEFAULT_EXIT_TIMEOUT),
    )


_apply_environment()
