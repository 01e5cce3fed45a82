"""judgeval.v1 on judgeval_fast (see judgeval_fast.compat)."""

from judgeval_fast.tracer import Judgeval, Tracer, TracerFactory

__all__ = ["Judgeval", "Tracer", "TracerFactory"]
