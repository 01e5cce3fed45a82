"""judgeval.v1.instrumentation on judgeval_fast."""

from judgeval_fast.instrumentation import wrap_with_newest_tracer as wrap

__all__ = ["wrap"]
