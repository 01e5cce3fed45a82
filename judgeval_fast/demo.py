"""`judgeval-fast demo`: a realistic tracing workload against the local backend.

It runs an "agent" loop (a root span per request, nested LLM and tool spans with
JSON inputs/outputs, an occasional error, a tag and an evaluation per request through
the API worker) against a local backend process, takes the backend down in the middle
(black hole, then 503 with Retry-After) and brings it back, then prints what happened:
spans created / exported / dropped, what the backend stored, and the cost per span
against the same function untraced.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from judgeval_fast import _native
from judgeval_fast.backend import BackendProcess
from judgeval_fast.exporter import ExporterConfig, create_exporter
from judgeval_fast.worker import RetryPolicy

PROJECT = "judgeval-fast-demo"


class ApiError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}: {response.text[:200]}")
        self.status_code = response.status_code
        self.response = response


class Agent:
    """A toy agent whose every step is a span, with the API calls of a real integration."""

    def __init__(
        self, backend: BackendProcess, exporter: _native.Exporter, worker: _native.Worker
    ) -> None:
        self.exporter = exporter
        self.worker = worker
        self.store = _native.Store()
        self.http = httpx.Client(base_url=backend.url, timeout=1.0)
        self.rng = random.Random(7)
        self.errors = 0

    def _api(self, path: str, payload: dict[str, Any]) -> Callable[[], None]:
        def call() -> None:
            response = self.http.post(
                path, content=orjson.dumps(payload), headers={"Content-Type": "application/json"}
            )
            if response.status_code >= 400:
                raise ApiError(response)

        return call

    def llm(self, parent: _native.Span, prompt: str) -> str:
        span = _native.Span("openai.chat", parent=parent, kind=2, exporter=self.exporter)
        span.set_attribute("judgment.span_kind", "llm")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute(
            "judgment.input",
            orjson.dumps({"messages": [{"role": "user", "content": prompt}]}).decode(),
        )
        time.sleep(0.0005)  # the model "thinks"
        answer = f"answer to {prompt!r}"
        span.set_attribute("judgment.output", answer)
        span.set_attributes(
            {"gen_ai.usage.input_tokens": len(prompt), "gen_ai.usage.output_tokens": 42}
        )
        span.end()
        return answer

    def tool(self, parent: _native.Span, query: str) -> list[str]:
        span = _native.Span("search", parent=parent, exporter=self.exporter, store=self.store)
        span.set_attribute("judgment.span_kind", "tool")
        self.store.set(span, "judgment.update_id", 0)
        try:
            if self.rng.random() < 0.05:
                raise TimeoutError(f"search backend timed out for {query!r}")
            hits = [f"doc-{i}" for i in range(3)]
            span.set_attribute("judgment.output", hits)
            return hits
        except TimeoutError as exc:
            self.errors += 1
            span.record_exception(exc)
            span.set_status(2, str(exc))
            return []
        finally:
            span.end()

    def handle(self, request_id: int) -> None:
        root = _native.Span(
            "agent.run", exporter=self.exporter, attributes={"judgment.span_kind": "agent"}
        )
        root.set_attribute("judgment.input", orjson.dumps({"request": request_id}).decode())
        hits = self.tool(root, f"query {request_id}")
        self.llm(root, f"summarise {len(hits)} documents")
        root.set_attribute("judgment.output", "done")
        ctx = root.get_span_context()
        if request_id % 10 == 0:
            self.worker.submit(
                self._api(
                    "/traces/tags/add",
                    {"project_name": PROJECT, "trace_id": ctx.trace_id_hex, "tags": ["demo"]},
                )
            )
        if request_id % 50 == 0:
            self.worker.submit(
                self._api(
                    "/add_to_run_eval_queue/examples",
                    {
                        "project_name": PROJECT,
                        "eval_name": f"async_evaluate_{ctx.span_id_hex}",
                        "trace_id": ctx.trace_id_hex,
                        "trace_span_id": ctx.span_id_hex,
                        "examples": [{"input": request_id, "output": "done"}],
                        "judgment_scorers": [],
                    },
                )
            )
        root.end()


def overhead_ns(exporter: _native.Exporter, rounds: int = 2_000) -> tuple[float, float]:
    """Median ns per call of a small function, untraced and wrapped in one span."""

    def work(x: int) -> int:
        return x * 2

    def traced(x: int) -> int:
        span = _native.Span("work", exporter=exporter)
        span.set_attribute("judgment.input", x)
        result = work(x)
        span.set_attribute("judgment.output", result)
        span.end()
        return result

    def per_call(fn: Callable[[int], int]) -> float:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            for i in range(rounds):
                fn(i)
            samples.append((time.perf_counter_ns() - t0) / rounds)
        return statistics.median(samples)

    return per_call(work), per_call(traced)


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="judgeval-fast demo", description=__doc__)
    parser.add_argument(
        "--requests", type=int, default=3000, help="agent requests to run (default 3000)"
    )
    parser.add_argument(
        "--outage", type=float, default=2.0, help="seconds of backend outage (default 2)"
    )
    args = parser.parse_args(argv)

    print("judgeval-fast demo: starting the local backend ...")
    with BackendProcess() as backend:
        exporter = create_exporter(
            backend.traces_url,
            {"Authorization": "Bearer demo", "X-Organization-Id": "demo-org"},
            resource={
                "service.name": PROJECT,
                "telemetry.sdk.name": "judgeval",
                "telemetry.sdk.language": "python",
            },
            config=ExporterConfig(
                schedule_delay=0.2, request_timeout=1.0, retry_initial=0.1, retry_max=1.0
            ),
        )
        worker = RetryPolicy(retry_initial=0.1, retry_max=1.0).make_worker(1000)
        agent = Agent(backend, exporter, worker)
        third = args.requests // 3
        t0 = time.perf_counter()
        for i in range(third):
            agent.handle(i)
        print(f"  phase 1: {third} requests, backend healthy")
        backend.client.set_faults(blackhole=True)
        outage_end = time.monotonic() + args.outage
        i = third
        while time.monotonic() < outage_end or i < 2 * third:
            agent.handle(i)
            i += 1
            if i >= 2 * third:
                time.sleep(0.01)
        backend.client.set_faults(status=503, retry_after="0.5", count=3)
        print(f"  phase 2: backend black-holed for {args.outage:.1f}s, then 503 + Retry-After: 0.5")
        for j in range(i, i + third):
            agent.handle(j)
        backend.client.clear_faults()
        elapsed = time.perf_counter() - t0
        print(f"  phase 3: {third} requests, backend recovered")
        flushed = exporter.force_flush(30)
        worker.flush(30)
        stats = exporter.stats()
        wstats = worker.stats()
        bstats = backend.stats()
        counters = _native.span_counters()
        base_ns, traced_ns = overhead_ns(exporter)
        exporter.shutdown(10)

    created = counters["spans_ended"]
    lost = sum(
        stats[k]
        for k in (
            "dropped_queue_full",
            "failed",
            "rejected",
            "partially_rejected",
            "dropped_shutdown",
        )
    )
    rows = [
        ("requests handled", f"{j + 1}", f"in {elapsed:.2f}s, {agent.errors} tool errors recorded"),
        ("spans created", f"{created}", ""),
        (
            "spans exported",
            f"{stats['exported']}",
            f"{stats['requests']} requests, {stats['retries']} retries",
        ),
        ("spans dropped", f"{lost}", "counted, never silent" if lost else "none"),
        ("flushed in time", f"{flushed}", ""),
        (
            "backend stored",
            f"{bstats['spans']} spans",
            f"{bstats['tags']} tags, {bstats['evaluations']} evaluations",
        ),
        (
            "API calls",
            f"{wstats['succeeded']} ok",
            f"{wstats['retried']} retried, {wstats['failed']} failed, {wstats['dropped']} dropped",
        ),
        (
            "exporter GIL acquisitions",
            f"{stats['gil_acquisitions']}",
            "native path never takes the GIL",
        ),
        (
            "cost per span",
            f"{traced_ns - base_ns:.0f} ns",
            f"untraced call {base_ns:.0f} ns, traced {traced_ns:.0f} ns",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print("\nsummary")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>14}  {note}")
    return 0 if flushed else 1
