"""judgeval's ``safe_serialize``: any value to a JSON string, never raising.

orjson does the work (it serialises dataclasses, datetimes, UUIDs, enums and numpy
natively); ``json_encoder`` covers what it does not (pydantic models, sets, bytes,
paths, Decimals, patterns, arbitrary objects). Anything that still fails becomes its
``repr()``, then its type name. Size is bounded later, in C (max_attribute_bytes).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import logging
import pathlib
import re
import types
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

logger = logging.getLogger("judgeval_fast")

Serializer = Callable[[Any], str]

JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_encoder(obj: Any) -> Any:
    """orjson ``default=``: a JSON-able stand-in for obj (judgeval's conversions)."""
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):  # pydantic v2
        dumped = model_dump(mode="json")
        return dumped.get("__root__", dumped) if isinstance(dumped, dict) else dumped
    if isinstance(obj, (set, frozenset, deque, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (pathlib.PurePath, uuid.UUID)):
        return str(obj)
    if isinstance(obj, datetime.timedelta):
        return obj.total_seconds()
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, re.Pattern):
        return obj.pattern
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (types.GeneratorType, types.AsyncGeneratorType)):
        return repr(obj)
    secret = getattr(obj, "get_secret_value", None)
    if callable(secret):  # pydantic SecretStr/SecretBytes: never the secret itself
        return str(obj)
    return repr(obj)


def safe_serialize(obj: Any) -> str:
    """JSON text of obj; its repr() (then its type name) if it cannot be serialised."""
    try:
        return orjson.dumps(obj, default=json_encoder, option=JSON_OPTIONS).decode()
    except Exception as exc:
        logger.debug("safe_serialize fell back to repr(): %s", exc)
        return fallback_repr(obj)


def fallback_repr(obj: Any) -> str:
    """repr(obj), or ``<TypeName>`` when repr itself raises."""
    try:
        return repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__}>"
