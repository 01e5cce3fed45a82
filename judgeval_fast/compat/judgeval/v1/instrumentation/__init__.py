"""judgeval.v1.instrumentation on judgeval_fast: wrap a client with every live tracer."""

from typing import Any

from judgeval_fast.tracer import Tracer


def wrap(client: Any) -> Any:
    for tracer in list(Tracer._tracers):
        client = tracer.wrap(client)
    return client


__all__ = ["wrap"]
