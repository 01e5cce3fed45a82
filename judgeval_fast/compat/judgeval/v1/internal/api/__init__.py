"""judgeval.v1.internal.api on judgeval_fast."""

from judgeval_fast.api import JudgmentAPIError, JudgmentSyncClient

__all__ = ["JudgmentAPIError", "JudgmentSyncClient"]
