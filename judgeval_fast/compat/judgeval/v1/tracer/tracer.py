"""judgeval.v1.tracer.tracer on judgeval_fast."""

from judgeval_fast.tracer import Tracer

__all__ = ["Tracer"]
