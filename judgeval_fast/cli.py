"""`judgeval-fast` command: serve | demo | health."""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """usage: judgeval-fast <command> [options]

commands:
  serve   run the local Judgment-compatible backend (see `judgeval-fast serve --help`)
  demo    run the demo workload against a local backend and print a summary
  health  print the runtime's counters as JSON
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from judgeval_fast.backend import run

        return run(rest)
    if command == "demo":
        from judgeval_fast import demo

        return demo.run(rest)
    if command == "health":
        import orjson

        from judgeval_fast.metrics import health

        sys.stdout.write(orjson.dumps(health(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    print(f"judgeval-fast: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
