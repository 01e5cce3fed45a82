"""Command-line entry point: ``python -m judgeval_fast.backend``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .embedded import BackendServer
from .state import MAX_BODY_BYTES


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser.

    Returns:
        The configured parser.
    """
    p = argparse.ArgumentParser(
        prog="python -m judgeval_fast.backend",
        description="Local Judgment-compatible OTLP backend with fault injection.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    p.add_argument(
        "--db",
        default="judgeval-backend.db",
        help="SQLite file, or :memory: (default ./judgeval-backend.db)",
    )
    p.add_argument("--api-key", default=None, help="require Authorization: Bearer <key>")
    p.add_argument("--org-id", default=None, help="require X-Organization-Id: <org>")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--discard",
        action="store_true",
        help="count trace exports without decoding or storing them (benchmarks)",
    )
    mode.add_argument(
        "--count-only",
        action="store_true",
        help="decode trace exports and count their spans without storing them (benchmarks)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=MAX_BODY_BYTES,
        help=f"maximum request body in bytes (default {MAX_BODY_BYTES})",
    )
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def run(argv: Sequence[str] | None = None) -> int:
    """Run the backend until SIGTERM/SIGINT.

    Prints exactly one line, ``listening on http://HOST:PORT``, to stdout
    once the socket is bound; nothing else is ever written to stdout, so a
    parent holding the pipe open without reading it cannot block us.

    Args:
        argv: Arguments without the program name (default: sys.argv[1:]).

    Returns:
        Process exit code.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s backend %(levelname)s %(message)s",
    )
    server = BackendServer(
        host=args.host,
        port=args.port,
        db=args.db,
        api_key=args.api_key,
        org_id=args.org_id,
        discard=args.discard,
        count_only=args.count_only,
        verbose=args.verbose,
        max_body=args.max_body,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only set a flag: calling server.stop() here would run inside the
        # main thread while it may hold locks the shutdown needs.
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(f"listening on {server.url}\n")
    sys.stdout.flush()
    try:
        # Short waits keep the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop(timeout=2.0)
    return 0
