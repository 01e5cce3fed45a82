"""``python -m judgeval_fast.compat``: install the judgeval.v1 startup hook (editable installs)."""

from judgeval_fast.compat import write_pth

print(f"wrote {write_pth()}")
