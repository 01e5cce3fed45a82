"""Configuration sources in OpenTelemetry's order: argument, then environment, then default.

A malformed environment value is logged and ignored (the default applies): a typo in a
deployment's environment must not take the application down.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("judgeval_fast")


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    """Return the int in environment variable ``name``, or ``default`` if unset or invalid."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        logger.warning("ignoring %s=%r: not an integer; using %d", name, raw, default)
        return default
    if value < minimum:
        logger.warning("ignoring %s=%r: must be >= %d; using %d", name, raw, minimum, default)
        return default
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Return the float in environment variable ``name``, or ``default`` if unset or invalid."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        logger.warning("ignoring %s=%r: not a number; using %g", name, raw, default)
        return default
    if not value >= minimum:
        logger.warning("ignoring %s=%r: must be >= %g; using %g", name, raw, minimum, default)
        return default
    return value


def require_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise ValueError naming ``name`` unless value > 0 (or >= 0 with allow_zero)."""
    if allow_zero and value >= 0:
        return
    if not allow_zero and value > 0:
        return
    rule = ">= 0" if allow_zero else "> 0"
    raise ValueError(f"{name} must be {rule}, got {value!r}")
