"""One case of ``benchmarks/compare.py``, run in an interpreter of its own.

Usage: ``python benchmarks/_compare_runner.py IMPL OP --url URL --calls N --rounds R
--warmup W``. It prints one line ``COMPARE_RESULT {json}`` on stdout and nothing else
there. ``compare.py`` starts it with the venv's interpreter: the main ``.venv`` for
``python``, ``judgeval_fast`` and ``otel``, ``.venv-bench-judgeval1`` for ``judgeval1``
and ``.venv-bench-judgeval032`` for ``judgeval032``. So this file imports nothing at
module level beyond the standard library: each implementation is imported only by its
own set-up function, in its own venv.

Every implementation is driven by the same loops (``_round_*``), with the same function
and arguments; only the callable handed to the loop differs. The credentials and the
backend come from ``JUDGMENT_API_URL`` / ``JUDGMENT_API_KEY`` / ``JUDGMENT_ORG_ID``, as a
user would set them.
"""

from __future__ import annotations

import argparse
import functools
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from itertools import repeat
from time import perf_counter_ns
from types import ModuleType
from typing import Any, TypeVar

RESULT_PREFIX = "COMPARE_RESULT "
IMPLS = ("python", "judgeval_fast", "otel", "judgeval1", "judgeval032")
OPS = ("call", "decorator", "observe", "span", "set_attribute")
SPAN_TYPE = "tool"
# Fixed arguments: the serialised input and output have the same size on every call.
QUERY = "what is the capital of France?"
K = 3
PACKAGES = (
    "judgeval",
    "judgeval-fast",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "protobuf",
    "orjson",
    "requests",
    "httpx",
)

F = TypeVar("F", bound=Callable[..., Any])
RoundFn = Callable[[int], int]


def lookup(query: str, k: int) -> dict[str, Any]:
    """The function every decorator wraps: two arguments in, a small dict out."""
    return {"query": query, "k": k, "hits": k * 2}


def passthrough(func: F) -> F:
    """The plain-decorator baseline: ``functools.wraps`` and ``*args, **kwargs``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- the timed loops ---------------------------------------------------------------------
# The loop body is the operation and nothing else; ``repeat(None, n)`` is the cheapest
# Python loop, and the plain-call row shows what the loop itself costs.


def _round_call(fn: Callable[[str, int], Any], n: int) -> int:
    query, k = QUERY, K
    t0 = perf_counter_ns()
    for _ in repeat(None, n):
        fn(query, k)
    return perf_counter_ns() - t0


def _round_span(span: Callable[[str], Any], n: int) -> int:
    t0 = perf_counter_ns()
    for _ in repeat(None, n):
        with span("x"):
            pass
    return perf_counter_ns() - t0


def _round_set_attribute(
    set_attribute: Callable[[str, str], Any], span: Callable[[str], Any], n: int
) -> int:
    # One span holds the whole round, opened and closed outside the timing, so the figure
    # is set_attribute alone (the same key each time: a replacement after the first).
    with span("holder"):
        t0 = perf_counter_ns()
        for _ in repeat(None, n):
            set_attribute("k", "v")
        return perf_counter_ns() - t0


def _round_otel_set_attribute(
    get_current_span: Callable[[], Any], span: Callable[[str], Any], n: int
) -> int:
    # An OpenTelemetry user writes the lookup of the current span inline; judgeval's
    # set_attribute does the same lookup inside the call.
    with span("holder"):
        t0 = perf_counter_ns()
        for _ in repeat(None, n):
            get_current_span().set_attribute("k", "v")
        return perf_counter_ns() - t0


# -- set-up per implementation -----------------------------------------------------------


class Case:
    """What the loops need for one implementation, and how to finish it."""

    def __init__(self) -> None:
        self.observe: Callable[[F], F] | None = None
        self.span: Callable[[str], Any] | None = None
        self.set_attribute: Callable[[str, str], Any] | None = None
        self.get_current_span: Callable[[], Any] | None = None
        self.flush: Callable[[], bool] = lambda: True
        self.local_stats: Callable[[], dict[str, Any]] = dict
        self.tracer_type = ""

    def round_fn(self, op: str) -> RoundFn:
        """The timed loop of ``op`` bound to this implementation."""
        if op == "call":
            return functools.partial(_round_call, lookup)
        if op == "decorator":
            return functools.partial(_round_call, passthrough(lookup))
        if op == "observe" and self.observe is not None:
            return functools.partial(_round_call, self.observe(lookup))
        if op == "span" and self.span is not None:
            return functools.partial(_round_span, self.span)
        if op == "set_attribute" and self.span is not None:
            if self.set_attribute is not None:
                return functools.partial(_round_set_attribute, self.set_attribute, self.span)
            if self.get_current_span is not None:
                return functools.partial(
                    _round_otel_set_attribute, self.get_current_span, self.span
                )
        raise SystemExit(f"operation {op!r} is not defined for this implementation")


def _quiet_otel_drop_warnings() -> None:
    # The SDK's batch processor logs a warning for *every* span it drops once its queue is
    # full, and with no logging configured Python writes each one to stderr on the caller's
    # thread. That would time stderr writes, not tracing, so for every OpenTelemetry-based
    # case (the OTel row and both judgevals) the logger is raised to ERROR. This favours
    # them; the drops are still counted, by the backend.
    logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.ERROR)
    logging.getLogger("opentelemetry.sdk.trace.export").setLevel(logging.ERROR)


class _NoVersionCheck(importlib.abc.MetaPathFinder):
    """Turns judgeval's import-time PyPI version check into a no-op.

    ``import judgeval`` starts a daemon thread that asks pypi.org for the latest version.
    Here that is a stray network request and a second thread running during set-up, so
    the check function is replaced right after its module executes. Import order is kept:
    putting a stub module in ``sys.modules`` instead breaks judgeval 1.x's circular
    imports.
    """

    NAME = "judgeval.utils.version_check"

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.NAME:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            module.check_latest_version = lambda *args, **kwargs: None  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _setup_python() -> Case:
    return Case()


def _setup_judgeval_fast() -> Case:
    from judgeval_fast import Tracer

    tracer = Tracer(project_name="compare-judgeval-fast")
    # Steady state, as for the judgevals, whose constructors resolve the project on the
    # calling thread: judgeval-fast resolves it on its control worker (queued by the
    # constructor); its exporter holds spans until then, so wait for it (up to 10 s).
    deadline = time.monotonic() + 10.0
    while not tracer.get_health_metrics()["project_resolved"] and time.monotonic() < deadline:
        time.sleep(0.01)
    case = _judgeval_case(tracer)  # the same v1 surface as the judgevals'
    case.local_stats = tracer.get_health_metrics
    return case


def _setup_otel(url: str) -> Case:
    import orjson
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _quiet_otel_drop_warnings()
    provider = TracerProvider(resource=Resource.create({"service.name": "compare-otel"}))
    exporter = OTLPSpanExporter(
        endpoint=url.rstrip("/") + "/otel/v1/traces",
        headers={
            "Authorization": f"Bearer {os.environ['JUDGMENT_API_KEY']}",
            "X-Organization-Id": os.environ["JUDGMENT_ORG_ID"],
            "X-Project-Id": "compare-otel",
        },
    )
    # Default BatchSpanProcessor settings, as the OTel SDK path ships.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("compare")

    def observe(func: F) -> F:
        # The leanest observe-like decorator that records what judgeval records: the span
        # kind, the inputs by parameter name and the output, as JSON strings (orjson).
        # Parameter names are read once here, not per call, and inputs are mapped with
        # zip, not inspect.Signature.bind: the anchor is as fast as a careful user writes.
        name = func.__name__
        code = func.__code__
        params = code.co_varnames[: code.co_argcount]
        dumps = orjson.dumps
        start = tracer.start_as_current_span

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with start(name) as span:
                span.set_attribute("judgment.span_kind", SPAN_TYPE)
                inputs = dict(zip(params, args, strict=False))
                if kwargs:
                    inputs.update(kwargs)
                span.set_attribute("judgment.input", dumps(inputs).decode())
                result = func(*args, **kwargs)
                span.set_attribute("judgment.output", dumps(result).decode())
                return result

        return wrapper  # type: ignore[return-value]

    case = Case()
    case.tracer_type = f"{type(tracer).__module__}.{type(tracer).__qualname__}"
    case.observe = observe
    case.span = tracer.start_as_current_span
    case.get_current_span = trace.get_current_span
    case.flush = lambda: bool(provider.force_flush(60_000))
    return case


def _setup_judgeval1() -> Case:
    sys.meta_path.insert(0, _NoVersionCheck())
    _quiet_otel_drop_warnings()
    from judgeval import Tracer  # type: ignore[import-not-found,unused-ignore]

    # judgeval 1.x: Tracer.init resolves the project (POST /v1/projects/resolve/) on the
    # calling thread and makes the tracer active; observe/span/set_attribute are static
    # methods that use the active tracer, reached here through the instance.
    tracer = Tracer.init(project_name="compare-judgeval1")
    return _judgeval_case(tracer)


def _setup_judgeval032() -> Case:
    sys.meta_path.insert(0, _NoVersionCheck())
    _quiet_otel_drop_warnings()
    from judgeval.v1 import Judgeval  # type: ignore[import-not-found,unused-ignore]

    # judgeval 0.32.2's documented v1 entry point: the client resolves the project, its
    # factory builds a judgeval.v1.tracer.tracer.Tracer and installs its provider globally.
    tracer = Judgeval(project_name="compare-judgeval032").tracer.create()
    return _judgeval_case(tracer)


def _judgeval_case(tracer: Any) -> Case:
    case = Case()
    case.tracer_type = f"{type(tracer).__module__}.{type(tracer).__qualname__}"
    case.observe = tracer.observe(span_type=SPAN_TYPE)
    case.span = tracer.span
    case.set_attribute = tracer.set_attribute
    case.flush = lambda: bool(tracer.force_flush(60_000))
    return case


def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _spans_created(op: str, calls: int, rounds: int) -> int:
    if op in ("observe", "span"):
        return calls * rounds
    if op == "set_attribute":
        return rounds  # the one span that holds each round
    return 0


def run(impl: str, op: str, url: str, calls: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Set up ``impl``, time ``op`` and report figures, counters and versions."""
    t_start = time.monotonic()
    setups: dict[str, Callable[[], Case]] = {
        "python": _setup_python,
        "judgeval_fast": _setup_judgeval_fast,
        "otel": lambda: _setup_otel(url),
        "judgeval1": _setup_judgeval1,
        "judgeval032": _setup_judgeval032,
    }
    case = setups[impl]()
    round_fn = case.round_fn(op)
    t_measure = time.monotonic()
    for _ in range(warmup):
        round_fn(calls)
    ns_per_call = [round_fn(calls) / calls for _ in range(rounds)]
    t_flush = time.monotonic()
    flushed = case.flush()
    t_end = time.monotonic()
    return {
        "impl": impl,
        "op": op,
        "calls_per_round": calls,
        "rounds": rounds,
        "warmup_rounds": warmup,
        "ns_per_call": ns_per_call,
        "spans_created": _spans_created(op, calls, rounds + warmup),
        "flushed": flushed,
        "local_stats": case.local_stats(),
        "tracer_type": case.tracer_type,
        "setup_s": t_measure - t_start,
        "measure_s": t_flush - t_measure,
        "flush_s": t_end - t_flush,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "versions": _versions(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("impl", choices=IMPLS)
    parser.add_argument("op", choices=OPS)
    parser.add_argument("--url", default=os.environ.get("JUDGMENT_API_URL", ""))
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    result = run(args.impl, args.op, args.url, args.calls, args.rounds, args.warmup)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
