"""judgeval.v1.internal on judgeval_fast."""
