"""Side by side: judgeval-fast against every alternative, in one run, on this machine.

Usage::

    .venv/bin/python benchmarks/compare.py [--quick] [--cases LIST] [--no-install]
        [--refresh-venvs] [--calls N] [--rounds R] [--warmup W] [--output PATH]

It starts one local backend (``judgeval_fast.backend --count-only``, requiring an API key
and an organisation id), then runs every case in a fresh interpreter
(``_compare_runner.py``) while that backend receives the exports, and reads from the
backend how many spans of each case arrived. The real judgevals run in venvs of their
own, made here on first use with pip and reused after (``.venv-bench-judgeval1``,
``.venv-bench-judgeval032``). A judgeval that cannot be installed becomes an
"unavailable: <reason>" row; the run still completes.

Output: a markdown table on stdout, and every figure in
``benchmarks/results/<YYYY-MM-DD>.json`` (UTC date). ``benchmarks/README.md`` ("Side by
side: compare.py") says what each case measures and why the comparison is fair.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().with_name("_compare_runner.py")
RESULTS_DIR = Path(__file__).resolve().with_name("results")
RESULT_PREFIX = "COMPARE_RESULT "
API_KEY = "compare-key"
ORG_ID = "compare-org"
# One case may take long (judgeval 1.x is ~100-250 µs per observed call here), but a hung
# exporter must not hang the run.
CASE_TIMEOUT_S = 600.0
PIP_TIMEOUT_S = 900.0

# Defaults: 500 rounds of 200 calls after 50 warm-up rounds (110,000 calls per case), and
# --quick: 60 rounds after 10 (14,000 calls).
FULL = {"calls": 200, "rounds": 500, "warmup": 50}
QUICK = {"calls": 200, "rounds": 60, "warmup": 10}


@dataclass(frozen=True)
class Venv:
    """A venv of its own for one real judgeval."""

    key: str
    path: Path
    requirements: tuple[str, ...]
    expect: str  # how the installed judgeval version must start

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def marker(self) -> Path:
        # Written only after a complete install, so a half-made venv is installed again.
        return self.path / ".compare-requirements"


VENVS = {
    "judgeval1": Venv(
        "judgeval1", ROOT / ".venv-bench-judgeval1", ("judgeval>=1,<2",), "1."
    ),
    # 0.32.2 imports `packaging` (judgeval/v1/instrumentation/llm/llm_openai) without
    # declaring it, so a bare `pip install judgeval==0.32.2` cannot import judgeval.v1.
    "judgeval032": Venv(
        "judgeval032",
        ROOT / ".venv-bench-judgeval032",
        ("judgeval==0.32.2", "packaging"),
        "0.32.2",
    ),
}


@dataclass(frozen=True)
class CaseSpec:
    """One row of the table."""

    id: str
    label: str
    impl: str
    op: str


CASES = (
    CaseSpec("plain_call", "plain call", "python", "call"),
    CaseSpec("plain_decorator", "plain decorator (*args, **kwargs)", "python", "decorator"),
    CaseSpec("jf_observe", "judgeval-fast @observe (I/O capture)", "judgeval_fast", "observe"),
    CaseSpec("jf_span", "judgeval-fast span()", "judgeval_fast", "span"),
    CaseSpec("jf_set_attribute", "judgeval-fast set_attribute", "judgeval_fast", "set_attribute"),
    CaseSpec("otel_observe", "OTel SDK observe-like (I/O as JSON)", "otel", "observe"),
    CaseSpec("otel_span", "OTel SDK start_as_current_span()", "otel", "span"),
    CaseSpec(
        "otel_set_attribute", "OTel SDK get_current_span().set_attribute", "otel", "set_attribute"
    ),
    CaseSpec("judgeval1_observe", "judgeval 1.x @observe", "judgeval1", "observe"),
    CaseSpec("judgeval1_span", "judgeval 1.x span()", "judgeval1", "span"),
    CaseSpec("judgeval1_set_attribute", "judgeval 1.x set_attribute", "judgeval1", "set_attribute"),
    CaseSpec("judgeval032_observe", "judgeval 0.32.2 v1 @observe", "judgeval032", "observe"),
    CaseSpec("judgeval032_span", "judgeval 0.32.2 v1 span()", "judgeval032", "span"),
    CaseSpec(
        "judgeval032_set_attribute",
        "judgeval 0.32.2 v1 set_attribute",
        "judgeval032",
        "set_attribute",
    ),
)
# Ratios compare the same operation; the plain rows are baselines with no partner.
TIMES = "\u00d7"
REFERENCE = {"observe": "jf_observe", "span": "jf_span", "set_attribute": "jf_set_attribute"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- venvs ---------------------------------------------------------------------------------


def _last_line(text: str) -> str:
    # pip's "Location ... is ignored" warnings come from this machine's pip config and say
    # nothing about the failure.
    lines = [
        ln.strip()
        for ln in text.splitlines()
        if ln.strip() and not ln.startswith("WARNING: Location")
    ]
    return lines[-1][:300] if lines else "no output"


def _installed_version(v: Venv) -> str | None:
    # importlib.metadata rather than `import judgeval`: importing judgeval starts its
    # PyPI version check.
    try:
        out = subprocess.run(
            [str(v.python), "-c", "import importlib.metadata as m; print(m.version('judgeval'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def prepare_venv(v: Venv, install: bool, refresh: bool) -> tuple[str | None, str | None]:
    """Make (or reuse) the venv of one judgeval.

    Returns:
        (installed judgeval version, None) or (None, reason it is unavailable).
    """
    wanted = "\n".join(v.requirements)
    ready = v.marker.exists() and v.marker.read_text() == wanted
    if ready and not refresh:
        version = _installed_version(v)
        if version is not None and version.startswith(v.expect):
            return version, None
    if not install:
        return None, f"{v.path.name} is not set up and --no-install was given"
    log(f"compare: installing {' '.join(v.requirements)} into {v.path.name} ...")
    try:
        if not v.python.exists():
            # The main venv's base interpreter, so every case runs on the same CPython.
            venv.EnvBuilder(with_pip=True, clear=True).create(v.path)
        cmd = [str(v.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if refresh:
            cmd.append("--upgrade")
        proc = subprocess.run(
            [*cmd, *v.requirements], capture_output=True, text=True, timeout=PIP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None, f"pip install timed out after {PIP_TIMEOUT_S:.0f} s"
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"cannot create {v.path.name}: {exc}"
    if proc.returncode != 0:
        return None, f"pip install {' '.join(v.requirements)} failed: {_last_line(proc.stderr)}"
    version = _installed_version(v)
    if version is None or not version.startswith(v.expect):
        return None, f"installed judgeval {version!r} does not match {v.expect!r}"
    v.marker.write_text(wanted)
    return version, None


# -- one case ------------------------------------------------------------------------------


def _settled_counts(client: Any, timeout: float = 20.0) -> dict[str, Any]:
    # The case's interpreter has exited, so nothing more is sent; wait for the backend to
    # finish storing what it was still reading (three equal readings 0.2 s apart).
    deadline = time.monotonic() + timeout
    last: tuple[int, int] | None = None
    same = 0
    counts: dict[str, Any] = client.span_counts()
    stats: dict[str, Any] = client.stats()
    while time.monotonic() < deadline:
        key = (int(counts["spans"]), int(stats["requests"]))
        same = same + 1 if key == last else 0
        last = key
        if same >= 2:
            break
        time.sleep(0.2)
        counts = client.span_counts()
        stats = client.stats()
    return {"counts": counts, "stats": stats}


def run_case(
    spec: CaseSpec, python: Path, backend: Any, sizes: dict[str, int]
) -> dict[str, Any]:
    """Run one case in a fresh interpreter and join its figures with the backend's counts."""
    backend.reset()
    env = dict(os.environ)
    env.update(
        JUDGMENT_API_URL=backend.url,
        JUDGMENT_API_KEY=API_KEY,
        JUDGMENT_ORG_ID=ORG_ID,
        PYTHONDONTWRITEBYTECODE="1",
    )
    cmd = [
        str(python),
        str(RUNNER),
        spec.impl,
        spec.op,
        "--url",
        backend.url,
        "--calls",
        str(sizes["calls"]),
        "--rounds",
        str(sizes["rounds"]),
        "--warmup",
        str(sizes["warmup"]),
    ]
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=CASE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CASE_TIMEOUT_S:.0f} s"}
    wall = time.monotonic() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        return {
            "error": f"runner exited {proc.returncode}: {_last_line(proc.stderr)}",
            "stderr_tail": proc.stderr[-4000:],
        }
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    settled = _settled_counts(backend.client) if result["spans_created"] else None
    ns = result["ns_per_call"]
    q = statistics.quantiles(ns, n=100, method="inclusive")
    result.update(
        p50_ns=q[49],
        p95_ns=q[94],
        mean_ns=statistics.fmean(ns),
        min_ns=min(ns),
        max_ns=max(ns),
        stdev_ns=statistics.stdev(ns) if len(ns) > 1 else 0.0,
        wall_s=wall,
        loadavg_1m_before=load_before,
        loadavg_1m_after=os.getloadavg()[0],
        command=shlex.join(cmd),
        stderr_tail=proc.stderr[-2000:],
    )
    if settled is not None:
        counts, stats = settled["counts"], settled["stats"]
        result["backend"] = {
            "span_records": counts["spans"],
            "spans_received": counts["distinct"],
            "by_name": counts["by_name"],
            "trace_requests": stats["trace_requests"],
            "requests": stats["requests"],
            "rejected": stats["rejected"],
            "bytes_received": stats["bytes_received"],
        }
    return result


# -- report ------------------------------------------------------------------------------


def _fmt_ns(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio(row: dict[str, Any], ref: dict[str, Any] | None, key: str) -> str:
    if ref is None or key not in row or key not in ref or not ref[key]:
        return "—"
    if ref is row:
        return "1"
    return f"**{row[key] / ref[key]:,.1f}{TIMES}**"


def _received(row: dict[str, Any]) -> str:
    created = row.get("spans_created", 0)
    backend = row.get("backend")
    if not created or backend is None:
        return "—"
    received = backend["spans_received"]
    pct = 100.0 * received / created
    return f"{received:,} / {created:,} ({pct:.0f} %)"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown table: figures per case and ratios to judgeval-fast (same operation)."""
    by_id = {r["id"]: r for r in rows}
    out = [
        "| case | p50 ns | p95 ns | p50 vs judgeval-fast | p95 vs judgeval-fast "
        "| spans received / created |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "p50_ns" not in r:
            out.append(f"| {r['label']} | {r['unavailable']} | | | | |")
            continue
        ref_id = REFERENCE.get(r["op"])
        ref = by_id.get(ref_id) if ref_id else None
        if ref is not None and "p50_ns" not in ref:
            ref = None
        out.append(
            f"| {r['label']} | {_fmt_ns(r['p50_ns'])} | {_fmt_ns(r['p95_ns'])} "
            f"| {_ratio(r, ref, 'p50_ns')} | {_ratio(r, ref, 'p95_ns')} | {_received(r)} |"
        )
    return out


def _display(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "loadavg": list(os.getloadavg()),
    }


# -- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="judgeval-fast side by side with the OTel SDK and the real judgevals."
    )
    p.add_argument("--quick", action="store_true", help="60 rounds after 10 warm-up rounds")
    p.add_argument("--calls", type=int, help="calls per round")
    p.add_argument("--rounds", type=int, help="measured rounds per case")
    p.add_argument("--warmup", type=int, help="warm-up rounds per case (not measured)")
    p.add_argument(
        "--cases",
        help="comma-separated case ids or implementations (python, judgeval_fast, otel, "
        "judgeval1, judgeval032); default: all",
    )
    p.add_argument("--no-install", action="store_true", help="never create or install venvs")
    p.add_argument(
        "--refresh-venvs", action="store_true", help="reinstall (upgrade) the judgeval venvs"
    )
    p.add_argument("--output", type=Path, help="results file (default results/<date>.json)")
    args = p.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        value = getattr(args, key)
        if value is not None:
            if value < 1:
                p.error(f"--{key} must be at least 1")
            sizes[key] = value
    if sizes["rounds"] < 2:
        p.error("--rounds must be at least 2 (p50 and p95 are taken across rounds)")
    args.sizes = sizes
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from judgeval_fast.backend import BackendProcess

    selected = list(CASES)
    if args.cases:
        wanted = {w.strip() for w in args.cases.split(",") if w.strip()}
        selected = [c for c in CASES if c.id in wanted or c.impl in wanted]
        if not selected:
            log(f"compare: no case matches {args.cases!r}")
            return 2

    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.monotonic()
    pythons: dict[str, Path] = {
        "python": Path(sys.executable),
        "judgeval_fast": Path(sys.executable),
        "otel": Path(sys.executable),
    }
    unavailable: dict[str, str] = {}
    venv_info: dict[str, Any] = {}
    for key, v in VENVS.items():
        if not any(c.impl == key for c in selected):
            continue
        version, reason = prepare_venv(v, not args.no_install, args.refresh_venvs)
        venv_info[key] = {
            "path": _display(v.path),
            "requirements": list(v.requirements),
            "judgeval": version,
            "unavailable": reason,
        }
        if reason is None:
            pythons[key] = v.python
        else:
            unavailable[key] = reason
            log(f"compare: UNAVAILABLE {key}: {reason}")

    rows: list[dict[str, Any]] = []
    failed_own = False
    # --count-only: the backend decodes every export and counts its spans by id, without
    # storing them; a storing backend (~40 µs a span) would be what drops spans, not the SDKs.
    backend_args = ["--count-only", "--api-key", API_KEY, "--org-id", ORG_ID]
    with BackendProcess(extra_args=backend_args) as backend:
        for spec in selected:
            label = spec.label
            installed = venv_info.get(spec.impl, {}).get("judgeval")
            if spec.impl == "judgeval1" and installed:
                label = label.replace("1.x", installed)
            row: dict[str, Any] = {
                "id": spec.id,
                "label": label,
                "impl": spec.impl,
                "op": spec.op,
            }
            if spec.impl in unavailable:
                row["unavailable"] = f"unavailable: {unavailable[spec.impl]}"
                rows.append(row)
                continue
            log(f"compare: {spec.id} ...")
            result = run_case(spec, pythons[spec.impl], backend, args.sizes)
            if "error" in result:
                row.update(result)
                row["unavailable"] = f"unavailable: {result['error']}"
                log(f"compare: FAILED {spec.id}: {result['error']}")
                # A judgeval that installs but will not run is reported like one that
                # will not install; our own cases failing is a failed run.
                failed_own = failed_own or spec.impl not in VENVS
            else:
                row.update(result)
                spans = f", {_received(row)} spans" if row["spans_created"] else ""
                log(
                    f"compare: {spec.id}: p50 {_fmt_ns(row['p50_ns'])} ns, "
                    f"p95 {_fmt_ns(row['p95_ns'])} ns{spans}, {row['wall_s']:.1f} s"
                )
            rows.append(row)

    finished = dt.datetime.now(dt.timezone.utc)
    lines = table(rows)
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    out_path = args.output or RESULTS_DIR / f"{started.date().isoformat()}.json"
    document = {
        "command": command,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished.isoformat(timespec="seconds"),
        "runtime_s": round(time.monotonic() - t_start, 1),
        "method": {
            **args.sizes,
            "timer": "time.perf_counter_ns around each round; per-call = round time / calls",
            "p50_p95": "statistics.quantiles(n=100, method='inclusive') over the rounds",
            "gc": "enabled (as in an application)",
            "process": "every case in a fresh interpreter; one backend for all",
            "backend": "judgeval_fast.backend " + " ".join(backend_args[:1]) + " (auth on)",
            "received": "distinct (trace_id, span_id) counted by GET /_admin/span_counts",
        },
        "machine": machine_info(),
        "git": {"head": _git("rev-parse", "HEAD"), "dirty": bool(_git("status", "--porcelain"))},
        "venvs": venv_info,
        "versions": {
            r["impl"]: {"python": r["python"], **r["versions"]} for r in rows if "versions" in r
        },
        "cases": rows,
        "table": lines,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(document, indent=1, default=str) + "\n")

    print()
    print(
        f"## judgeval-fast side by side ({started:%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, CPython {sys.version.split()[0]}, "
        f"{args.sizes['rounds']} rounds x {args.sizes['calls']} calls "
        f"after {args.sizes['warmup']} warm-up rounds)"
    )
    print()
    print("\n".join(lines))
    print()
    for key, reason in unavailable.items():
        print(f"UNAVAILABLE {key}: {reason}")
    print(f"results: {_display(out_path)}")
    print(f"runtime: {document['runtime_s']:.0f} s")
    return 1 if failed_own else 0


if __name__ == "__main__":
    sys.exit(main())
