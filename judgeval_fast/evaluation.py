"""Payloads of judgeval's evaluation runs (spec section 4.3), built from plain data.

Scorers may be judgeval scorer objects (``get_scorer_config()``; custom scorers with
``to_dict()``), dicts, or names; examples may be judgeval ``Example`` objects
(``to_dict()``), dicts, or the plan's ``input=`` / ``output=`` keywords.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from judgeval_fast._native import SpanContext


def _now_aware() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _now_naive() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()


def _is_custom(scorer: Any) -> bool:
    return type(scorer).__name__ == "CustomScorer" or hasattr(scorer, "server_hosted")


def scorer_lists(scorers: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(judgment_scorers, custom_scorers) as judgeval sends them."""
    judgment: list[Any] = []
    custom: list[Any] = []
    for scorer in scorers:
        if scorer is None:
            continue
        if isinstance(scorer, Mapping):
            judgment.append(dict(scorer))
        elif isinstance(scorer, str):
            judgment.append({"score_type": scorer, "name": scorer})
        elif _is_custom(scorer) and callable(getattr(scorer, "to_dict", None)):
            custom.append(scorer.to_dict())
        elif callable(getattr(scorer, "get_scorer_config", None)):
            judgment.append(scorer.get_scorer_config())
        elif callable(getattr(scorer, "to_dict", None)):
            judgment.append(scorer.to_dict())
        else:
            judgment.append({"score_type": type(scorer).__name__, "name": type(scorer).__name__})
    return judgment, custom


def example_dict(example: Any = None, **fields: Any) -> dict[str, Any]:
    """One example as judgeval's ``Example.to_dict()`` gives it."""
    if example is not None and callable(getattr(example, "to_dict", None)):
        data = dict(example.to_dict())
    elif isinstance(example, Mapping):
        data = dict(example)
    else:
        data = {}
    data.update({k: v for k, v in fields.items() if v is not None})
    data.setdefault("example_id", str(uuid.uuid4()))
    data.setdefault("created_at", _now_naive())
    data.setdefault("name", None)
    return data


def example_evaluation_run(
    project_name: str, ctx: SpanContext, scorers: Iterable[Any], example: dict[str, Any]
) -> dict[str, Any]:
    """An ``ExampleEvaluationRun`` for the span ctx."""
    judgment, custom = scorer_lists(scorers)
    return {
        "project_name": project_name,
        "eval_name": f"async_evaluate_{ctx.span_id_hex}",
        "trace_id": ctx.trace_id_hex,
        "trace_span_id": ctx.span_id_hex,
        "examples": [example],
        "judgment_scorers": judgment,
        "custom_scorers": custom,
        "created_at": _now_aware(),
    }


def trace_evaluation_run(
    project_name: str, ctx: SpanContext, scorers: Iterable[Any]
) -> dict[str, Any]:
    """A ``TraceEvaluationRun`` for the span ctx."""
    judgment, custom = scorer_lists(scorers)
    return {
        "project_name": project_name,
        "eval_name": f"async_trace_evaluate_{ctx.span_id_hex}",
        "trace_and_span_ids": [[ctx.trace_id_hex, ctx.span_id_hex]],
        "judgment_scorers": judgment,
        "custom_scorers": custom,
        "is_offline": False,
        "is_behavior": False,
        "created_at": _now_aware(),
    }
