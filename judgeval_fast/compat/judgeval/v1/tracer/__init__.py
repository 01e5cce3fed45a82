"""judgeval.v1.tracer on judgeval_fast."""

from judgeval_fast.tracer import Tracer, TracerFactory

BaseTracer = Tracer

__all__ = ["BaseTracer", "Tracer", "TracerFactory"]
