"""``tracer.wrap(client)``: an "llm" span around every call of an LLM client.

Recognised by the client's module: OpenAI / AsyncOpenAI (``chat.completions.create``,
``responses.create``), Anthropic (``messages.create``), Together
(``chat.completions.create``) and google-genai (``models.generate_content``). Any other
client with ``chat.completions.create`` is wrapped as OpenAI-compatible, with a warning.
The methods are patched in place and the client is returned. Each span records the
request (model, messages) as judgment.input, the answer text as judgment.output, and the
token usage under judgment.usage.* / gen_ai.usage.*. A streamed answer is recorded as
"<stream>": the span covers the call, not the consumption of the stream.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from judgeval_fast import keys as K

if TYPE_CHECKING:
    from judgeval_fast._native import Span
    from judgeval_fast.tracer import Tracer

logger = logging.getLogger("judgeval_fast")

__all__ = ["wrap_client"]

# (module prefix, provider, span name, dotted method paths)
_PROVIDERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("openai", "openai", "OPENAI_API_CALL", ("chat.completions.create", "responses.create")),
    ("anthropic", "anthropic", "ANTHROPIC_API_CALL", ("messages.create",)),
    ("together", "together", "TOGETHER_API_CALL", ("chat.completions.create",)),
    ("google.genai", "google", "GOOGLE_API_CALL", ("models.generate_content",)),
)


def _resolve(obj: Any, dotted: str) -> tuple[Any, str] | None:
    *path, last = dotted.split(".")
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return (obj, last) if callable(getattr(obj, last, None)) else None


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _output_text(provider: str, result: Any) -> Any:
    if provider in ("openai", "together"):
        content = _get(result, "choices")
        if content:
            return _get(content[0], "message", "content")
        return _get(result, "output_text")
    if provider == "anthropic":
        blocks = _get(result, "content") or []
        texts = [_get(b, "text") for b in blocks if _get(b, "text") is not None]
        return "".join(texts) if texts else None
    if provider == "google":
        return _get(result, "text")
    return None


def _usage(provider: str, result: Any) -> dict[str, Any]:
    usage = _get(result, "usage") or _get(result, "usage_metadata")
    if usage is None:
        return {}
    if provider == "anthropic":
        fields = {
            K.AttributeKeys.GEN_AI_USAGE_INPUT_TOKENS.value: _get(usage, "input_tokens"),
            K.AttributeKeys.GEN_AI_USAGE_OUTPUT_TOKENS.value: _get(usage, "output_tokens"),
            K.AttributeKeys.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS.value: _get(
                usage, "cache_read_input_tokens"
            ),
            K.AttributeKeys.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS.value: _get(
                usage, "cache_creation_input_tokens"
            ),
        }
    elif provider == "google":
        fields = {
            K.AttributeKeys.GEN_AI_USAGE_INPUT_TOKENS.value: _get(usage, "prompt_token_count"),
            K.AttributeKeys.GEN_AI_USAGE_OUTPUT_TOKENS.value: _get(usage, "candidates_token_count"),
        }
    else:
        fields = {
            K.AttributeKeys.GEN_AI_USAGE_INPUT_TOKENS.value: _get(usage, "prompt_tokens")
            or _get(usage, "input_tokens"),
            K.AttributeKeys.GEN_AI_USAGE_OUTPUT_TOKENS.value: _get(usage, "completion_tokens")
            or _get(usage, "output_tokens"),
        }
    out = {k: v for k, v in fields.items() if isinstance(v, int)}
    if K.AttributeKeys.GEN_AI_USAGE_OUTPUT_TOKENS.value in out:
        out[K.AttributeKeys.JUDGMENT_USAGE_OUTPUT_TOKENS.value] = out[
            K.AttributeKeys.GEN_AI_USAGE_OUTPUT_TOKENS.value
        ]
    if K.AttributeKeys.GEN_AI_USAGE_INPUT_TOKENS.value in out:
        out[K.AttributeKeys.JUDGMENT_USAGE_NON_CACHED_INPUT_TOKENS.value] = out[
            K.AttributeKeys.GEN_AI_USAGE_INPUT_TOKENS.value
        ]
    return out


def _record_request(tracer: Tracer, span: Span, provider: str, kwargs: dict[str, Any]) -> None:
    span.set_attribute(K.AttributeKeys.JUDGMENT_LLM_PROVIDER.value, provider)
    span.set_attribute(K.AttributeKeys.GEN_AI_SYSTEM.value, provider)
    model = kwargs.get("model")
    if model is not None:
        span.set_attribute(K.AttributeKeys.GEN_AI_REQUEST_MODEL.value, str(model))
        span.set_attribute(K.AttributeKeys.JUDGMENT_LLM_MODEL_NAME.value, str(model))
    span.set_attribute(K.INPUT, tracer._core.serialized(kwargs))


def _record_response(
    tracer: Tracer, span: Span, provider: str, kwargs: dict[str, Any], result: Any
) -> None:
    if kwargs.get("stream"):
        span.set_attribute(K.OUTPUT, "<stream>")
        return
    text = _output_text(provider, result)
    span.set_attribute(K.OUTPUT, text if isinstance(text, str) else tracer._core.serialized(result))
    model = _get(result, "model") or _get(result, "model_version")
    if isinstance(model, str):
        span.set_attribute(K.AttributeKeys.GEN_AI_RESPONSE_MODEL.value, model)
    span.set_attributes(_usage(provider, result))


def _traced(
    tracer: Tracer, provider: str, span_name: str, method: Callable[..., Any]
) -> Callable[..., Any]:
    ops = tracer._ops

    def start(kwargs: dict[str, Any]) -> Any:
        started = ops.core.begin(span_name, "llm")
        if started is not None:
            try:
                _record_request(tracer, started[0], provider, kwargs)
            except Exception as exc:
                ops._error("recording an LLM request", exc)
        return started

    def done(started: Any, kwargs: dict[str, Any], result: Any) -> None:
        span, _, token = started
        try:
            _record_response(tracer, span, provider, kwargs, result)
        except Exception as exc:
            ops._error("recording an LLM response", exc)
        ops.core.finish(span, token)

    def failed(started: Any, exc: BaseException) -> None:
        span, _, token = started
        ops.core.abort(span, exc)
        ops.core.finish(span, token)

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_call(*args: Any, **kwargs: Any) -> Any:
            started = start(kwargs)
            if started is None:
                return await method(*args, **kwargs)
            try:
                result = await method(*args, **kwargs)
            except BaseException as exc:
                failed(started, exc)
                raise
            done(started, kwargs, result)
            return result

        return async_call

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        started = start(kwargs)
        if started is None:
            return method(*args, **kwargs)
        try:
            result = method(*args, **kwargs)
        except BaseException as exc:
            failed(started, exc)
            raise
        done(started, kwargs, result)
        return result

    return call


def wrap_client(tracer: Tracer, client: Any) -> Any:
    """Patch client's LLM methods in place to trace them with tracer; returns client."""
    module = type(client).__module__ or ""
    known = [p for p in _PROVIDERS if module == p[0] or module.startswith(p[0] + ".")]
    if known:
        _, provider, span_name, methods = known[0]
    else:
        logger.warning(
            "judgeval_fast: unknown LLM client %s.%s; wrapping it as OpenAI-compatible",
            module,
            type(client).__qualname__,
        )
        provider, span_name, methods = "openai", "OPENAI_API_CALL", ("chat.completions.create",)
    for dotted in methods:
        found = _resolve(client, dotted)
        if found is None:
            continue
        owner, name = found
        method = getattr(owner, name)
        if getattr(method, "_judgeval_fast_wrapped", False):
            continue
        traced = _traced(tracer, provider, span_name, method)
        traced._judgeval_fast_wrapped = True  # type: ignore[attr-defined]
        setattr(owner, name, traced)
    return client


def wrap_with_newest_tracer(client: Any) -> Any:
    """judgeval.v1.instrumentation.wrap(client): trace client with the newest tracer that
    is live and monitoring (a method is wrapped once, so with one tracer, not "every"
    tracer, and never one that was shut down). Without one, client is returned as is."""
    from judgeval_fast.tracer import Tracer

    live = [t for t in list(Tracer._tracers) if not t._shut_down and t.enable_monitoring]
    if not live:
        logger.warning("judgeval_fast: wrap(): no live tracer; the client is not traced")
        return client
    return max(live, key=lambda t: t._created).wrap(client)
