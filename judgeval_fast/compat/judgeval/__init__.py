"""Stand-in ``judgeval`` package, supplied only when judgeval itself is not installed."""

from judgeval_fast import __version__ as __version__
