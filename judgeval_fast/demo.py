"""`judgeval-fast demo`: a traced "agent" app, written against judgeval's v1 Tracer.

The app is what a judgeval user writes: ``@tracer.observe`` on an agent, its tools and
its LLM call (sync, async and a streaming generator), ``tracer.tag`` and
``tracer.async_evaluate`` inside them, a customer and session id per request, and a
tool that fails now and then. It exports to a local Judgment-compatible backend process
which, in the middle of the run, black-holes every request and then answers 503 with
Retry-After before it recovers. At the end it prints what happened: spans created,
exported and dropped, what the backend stored, the API calls, and the cost of
``@observe`` per call against the same function undecorated.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from judgeval_fast import _native
from judgeval_fast.api import JudgmentSyncClient
from judgeval_fast.backend import BackendProcess
from judgeval_fast.exporter import ExporterConfig
from judgeval_fast.tracer import Tracer
from judgeval_fast.worker import get_worker

PROJECT = "judgeval-fast-demo"
API_KEY = "demo-key"
ORG_ID = "demo-org"


class SearchTimeout(Exception):
    """The search tool's backend was too slow (raised on purpose, 5% of the calls)."""


def build_app(tracer: Tracer, seed: int = 7) -> dict[str, Callable[..., Any]]:
    """The traced app: every function below is what a user would decorate."""
    rng = random.Random(seed)

    @tracer.observe(span_type="tool")
    def search(query: str, k: int = 3) -> list[str]:
        if rng.random() < 0.05:
            raise SearchTimeout(f"search timed out for {query!r}")
        return [f"doc-{i}:{query}" for i in range(k)]

    @tracer.observe(span_type="tool")
    def stream_tokens(text: str) -> Iterator[str]:
        yield from text.split()

    @tracer.observe(span_type="llm", span_name="openai.chat")
    def llm(prompt: str, model: str = "gpt-4o-mini") -> dict[str, Any]:
        tracer.set_attributes(
            {"gen_ai.request.model": model, "gen_ai.usage.input_tokens": len(prompt)}
        )
        time.sleep(0.0002)  # the model "thinks"
        return {"role": "assistant", "content": f"answer to {prompt!r}"}

    @tracer.observe(span_type="agent")
    def agent(request_id: int, question: str) -> str:
        tracer.set_customer_id(f"customer-{request_id % 7}")
        tracer.set_session_id(f"session-{request_id // 10}")
        try:
            docs = search(question)
        except SearchTimeout:
            docs = []  # the error is on the tool's span; the agent carries on
        reply = llm(f"answer {question!r} from {len(docs)} documents")
        answer = " ".join(stream_tokens(reply["content"]))
        if request_id % 10 == 0:
            tracer.tag(["demo", f"batch-{request_id // 100}"])
        if request_id % 50 == 0:
            tracer.async_evaluate(
                scorer={"score_type": "answer_relevancy", "threshold": 0.7},
                example={"input": question, "actual_output": answer},
            )
        return answer

    @tracer.observe(span_type="tool")
    async def fetch(url: str) -> str:
        await asyncio.sleep(0.001)
        return f"<html>{url}</html>"

    @tracer.observe(span_type="agent", span_name="agent.async")
    async def async_agent(request_id: int) -> int:
        pages = await asyncio.gather(
            *(fetch(f"https://example.com/{request_id}/{i}") for i in range(3))
        )
        return sum(len(p) for p in pages)

    return {"agent": agent, "async_agent": async_agent}


def observe_cost_ns(tracer: Tracer, rounds: int = 2_000) -> tuple[float, float]:
    """Median ns per call of a small function, undecorated and under ``@tracer.observe``."""

    def work(x: int) -> int:
        return x * 2

    traced = tracer.observe(work, span_name="work")

    def per_call(fn: Callable[[int], int]) -> float:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            for i in range(rounds):
                fn(i)
            samples.append((time.perf_counter_ns() - t0) / rounds)
        return statistics.median(samples)

    return per_call(work), per_call(traced)


def _run_requests(app: dict[str, Callable[..., Any]], first: int, count: int) -> int:
    for i in range(first, first + count):
        app["agent"](i, f"question {i}")
    return first + count


async def _run_async(app: dict[str, Callable[..., Any]], first: int, count: int) -> None:
    await asyncio.gather(*(app["async_agent"](i) for i in range(first, first + count)))


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="judgeval-fast demo", description=__doc__)
    parser.add_argument(
        "--requests", type=int, default=3000, help="agent requests to run (default 3000)"
    )
    parser.add_argument(
        "--outage", type=float, default=2.0, help="seconds of backend outage (default 2)"
    )
    args = parser.parse_args(argv)
    if args.requests < 3 or args.outage < 0:
        parser.error("--requests must be at least 3 and --outage not negative")

    print("judgeval-fast demo: starting the local backend ...")
    with BackendProcess(extra_args=["--api-key", API_KEY, "--org-id", ORG_ID]) as backend:
        tracer = Tracer(
            project_name=PROJECT,
            # A short API timeout: tags and evaluations sent into the black hole give up
            # and are retried by the worker rather than holding it for 30 s each.
            api_client=JudgmentSyncClient(backend.url, API_KEY, ORG_ID, timeout=1.0),
            exporter_config=ExporterConfig(
                schedule_delay=0.2, request_timeout=1.0, retry_initial=0.1, retry_max=1.0
            ),
        )
        app = build_app(tracer)
        third = args.requests // 3
        t0 = time.perf_counter()
        done = _run_requests(app, 0, third)
        asyncio.run(_run_async(app, 0, 50))
        print(f"  phase 1: {third} agent requests and 50 async ones, backend healthy")

        backend.client.set_faults(blackhole=True)
        outage_end = time.monotonic() + args.outage
        chunks = max(1, third // 10)
        for chunk in range(chunks):  # the app keeps serving, spread over the outage
            done = _run_requests(app, done, third // chunks + (chunk < third % chunks))
            time.sleep(max(0.0, outage_end - time.monotonic()) / (chunks - chunk))
        backend.client.set_faults(status=503, retry_after="0.5", count=3)
        print(f"  phase 2: backend black-holed for {args.outage:.1f}s, then 503 + Retry-After: 0.5")

        done = _run_requests(app, done, args.requests - 2 * third)
        asyncio.run(_run_async(app, 50, 50))
        backend.client.clear_faults()
        elapsed = time.perf_counter() - t0
        print("  phase 3: backend recovered")

        flushed = tracer.force_flush(30_000)
        worker_idle = get_worker().flush(30)
        cost = observe_cost_ns(tracer)
        tracer.force_flush(30_000)
        health = tracer.get_health_metrics()
        tracer.shutdown(10_000)
        stored = backend.stats()
        created = _native.span_counters()["spans_ended"]

    exported, dropped = health["spans_exported"], health["spans_dropped"]
    accounted = exported + dropped + health["queue_size"] == created
    rows = [
        ("requests handled", f"{done + 100}", f"{done} sync + 100 async, in {elapsed:.2f}s"),
        ("spans created", f"{created}", ""),
        (
            "spans exported",
            f"{exported}",
            f"{health['export_retries']} export retries, {health['export_failures']} failures",
        ),
        ("spans dropped", f"{dropped}", "counted, never silent" if dropped else "none"),
        ("every span accounted", f"{accounted}", "created = exported + dropped + queued"),
        ("flushed in time", f"{flushed and bool(worker_idle)}", ""),
        (
            "backend stored",
            f"{stored['spans']} spans",
            f"{stored['tags']} tags, {stored['evaluations']} evaluations",
        ),
        (
            "API calls",
            f"{health['api_calls_succeeded']} ok",
            f"{health['api_calls_retried']} retried, {health['api_calls_failed']} failed, "
            f"{health['api_calls_dropped']} dropped",
        ),
        (
            "exporter GIL acquisitions",
            f"{health['exporter_gil_acquisitions']}",
            "the native path never takes the GIL",
        ),
        (
            "@observe cost per call",
            f"{cost[1] - cost[0]:.0f} ns",
            f"undecorated {cost[0]:.0f} ns, observed {cost[1]:.0f} ns",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print("\nsummary")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>14}  {note}")
    return 0 if flushed and accounted and stored["spans"] >= exported else 1
