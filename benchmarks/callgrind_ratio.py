"""A CI figure that machine noise does not move: callgrind instructions per `@observe` call.

Runs ``benchmarks/callgrind_workload.py`` under ``valgrind --tool=callgrind`` for two cases,
judgeval-fast ``Tracer(...).observe`` (input and output capture) and a plain Python
decorator, around the same 2-argument function returning a small dict. Inside one process
the workload counts two regions that differ only in the number of calls, 0 and N =
10,000; per-call instructions are ``(Ir(N) - Ir(0)) / N``. The figure checked is
``observe per-call Ir / plain per-call Ir`` against the ceiling committed in
``benchmarks/callgrind_ceiling.json``.

Why these choices (details in benchmarks/README.md, "callgrind ratio"):

- Instruction counts, not time: the machine is shared and wall-clock figures move by 2x
  between runs; the count of a deterministic program does not.
- Client requests around the calls (``callgrind_ctl.c``), not a whole-process count with
  two processes subtracted: the import phase is not deterministic on a working tree that
  changes under it (extra file-name decoding and hashing, most likely a directory listed
  again after its mtime moved, then every later GC shifted), and that moved the
  subtracted figure by ~1 %; the regions see none of it.
  With ``--instr-atstart=no`` the uncounted start-up also runs several times faster.
- Main thread only (``--separate-threads=yes``, the ``-01`` parts): the exporter thread
  gzips and POSTs without the GIL, off the caller's thread, and how much it does in a
  region depends on how spans happen to batch. The caller's cost (span start/end,
  serialising the input/output, the OTLP encode at end, the queue push) is all on the
  main thread.
- A ratio, not absolute counts: per-call Ir depend on the CPython build; both cases pay
  the same interpreter, so the ratio carries across machines much better than either count.
- ``PYTHONHASHSEED=0``: str hashes, hence dict and set layouts, identical in every run.

Usage::

    python benchmarks/callgrind_ratio.py             # 3 measurements, median against the ceiling
    python benchmarks/callgrind_ratio.py --repeat 1  # one measurement (~15 s)
    python benchmarks/callgrind_ratio.py --update    # 3 measurements, rewrite the ceiling file

Exit status: 0 when the ratio is at or under the ceiling, 1 when it is over, 2 when the
measurement itself failed (no valgrind or compiler, a run crashed, @observe did not trace).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
WORKLOAD = BENCH / "callgrind_workload.py"
CTL_SOURCE = BENCH / "callgrind_ctl.c"
CEILING_FILE = BENCH / "callgrind_ceiling.json"
CASES = ("observe", "plain")
N = 10_000
HEADROOM = 0.20
REPEATS = 3  # the figure is the median of 3 measurements; their spread is printed
RUN_TIMEOUT_S = 600.0
API_KEY, ORG_ID = "callgrind-key", "callgrind-org"


class MeasurementError(Exception):
    """The measurement could not be made (as opposed to a ratio over the ceiling)."""


@dataclass(frozen=True)
class Run:
    case: str
    parts: dict[str, int]  # dump name -> main-thread Ir of that region
    report: dict[str, Any]  # the workload's JSON line

    @property
    def per_call(self) -> float:
        return (self.parts[f"{self.case}-calls"] - self.parts[f"{self.case}-fixed"]) / N


@dataclass(frozen=True)
class Measurement:
    per_call: dict[str, float]  # case -> Ir per call
    ratio: float
    wrapper: str
    wrapper_file: str | None
    warmup: int  # uncounted calls before the regions (callgrind_workload.WARMUP)


def run_env(backend_url: str, ctl: Path | None) -> dict[str, str]:
    """The environment of every workload run: ours minus anything that changes the work."""
    drop = ("JUDGEVAL_FAST_", "OTEL_", "JUDGMENT_", "PYTHON", "JF_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # This tree's package, whatever the venv's editable install points at: the figure is
    # of the code next to this script (a second checkout can be measured with the same venv).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(
        PYTHONHASHSEED="0",
        JUDGMENT_API_URL=backend_url,
        JUDGMENT_API_KEY=API_KEY,
        JUDGMENT_ORG_ID=ORG_ID,
    )
    if ctl is not None:
        env["JF_CALLGRIND_CTL"] = str(ctl)
    return env


def compile_ctl(out_dir: Path) -> Path:
    """callgrind_ctl.c as a shared object (system compiler, valgrind's own header)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise MeasurementError("no C compiler (cc/gcc) for callgrind_ctl.c")
    flags: list[str] = []
    if shutil.which("pkg-config"):  # valgrind.pc gives -I<prefix>/include/valgrind
        pc = subprocess.run(
            ["pkg-config", "--cflags", "valgrind"], capture_output=True, text=True, check=False
        )
        if pc.returncode == 0:
            flags = [f + "/.." if f.startswith("-I") else f for f in pc.stdout.split()]
    so = out_dir / "callgrind_ctl.so"
    cmd = [cc, "-shared", "-fPIC", "-O2", *flags, "-o", str(so), str(CTL_SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise MeasurementError(
            f"compiling {CTL_SOURCE.name} failed (is valgrind's header installed?):\n"
            f"{' '.join(cmd)}\n{proc.stderr}"
        )
    return so


def main_thread_parts(out: Path) -> dict[str, int]:
    """{dump name: Ir} from callgrind's per-dump, per-thread files ``<out>.<k>-01``.

    Thread 1 is the main thread. The final part (``<out>-01``, program termination) holds
    what ran after the last dump and is not read.
    """
    parts: dict[str, int] = {}
    for path in sorted(out.parent.glob(out.name + ".*-01")):
        trigger = thread = summary = None
        for line in path.read_text().splitlines():
            if line.startswith("thread:"):
                thread = line.split(":", 1)[1].strip()
            elif line.startswith("desc: Trigger: Client Request: "):
                trigger = line.split("Client Request: ", 1)[1].strip()
            elif line.startswith("summary:"):
                summary = int(line.split(":", 1)[1].split()[0])
        if thread != "1" or trigger is None or summary is None:
            raise MeasurementError(f"{path}: expected thread 1, a client-request dump, a summary")
        parts[trigger] = summary
    return parts


def workload(case: str, env: dict[str, str], out_dir: Path) -> Run:
    """One valgrind run of the workload: its main thread's regions and its report line."""
    out = out_dir / f"{case}.callgrind"
    log = out_dir / f"{case}.valgrind.log"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        f"--log-file={log}",
        sys.executable,
        str(WORKLOAD),
        case,
        str(N),
    ]
    proc = subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    if proc.returncode != 0:
        raise MeasurementError(
            f"{case} exited {proc.returncode} under valgrind (log: {log})\n{proc.stderr[-2000:]}"
        )
    report = report_line(proc.stdout, case)
    if not report.get("under_valgrind"):
        raise MeasurementError(f"{case}: the workload did not see valgrind (client requests?)")
    run = Run(case, main_thread_parts(out), report)
    missing = {f"{case}-fixed", f"{case}-calls"} - set(run.parts)
    if missing:
        raise MeasurementError(f"{case}: no callgrind dump {sorted(missing)} in {out_dir}")
    if run.per_call <= 0:
        raise MeasurementError(f"{case}: non-positive per-call Ir {run.parts}")
    return run


def report_line(stdout: str, case: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise MeasurementError(f"{case}: no report line on stdout:\n{stdout}")
    report: dict[str, Any] = json.loads(lines[-1])
    check_report(report, case)
    return report


def check_report(report: dict[str, Any], case: str) -> None:
    """The run did the work it claims: every observed call traced and exported, none lost.

    An @observe that stopped recording (monitoring off, an SDK error swallowed) is cheaper,
    so without this a broken tracer would pass the ceiling.
    """
    n = int(report.get("n", -1))
    expected = n + int(report.get("warmup", 0)) if case == "observe" else 0
    problems = []
    if report.get("spans_exported") != expected:
        problems.append(f"spans_exported {report.get('spans_exported')}, expected {expected}")
    if report.get("spans_dropped") or report.get("sdk_errors_isolated"):
        problems.append(
            f"spans_dropped {report.get('spans_dropped')}, "
            f"sdk_errors_isolated {report.get('sdk_errors_isolated')}"
        )
    if not report.get("flushed"):
        problems.append("force_flush did not finish")
    if problems:
        raise MeasurementError(f"{case} N={n}: " + "; ".join(problems))


def measure(env: dict[str, str], out_root: Path, repeat: int, jobs: int) -> list[Measurement]:
    """repeat x both cases, in parallel: the counts do not depend on scheduling."""
    points = [(i, case) for i in range(repeat) for case in CASES]
    for i in range(repeat):
        (out_root / f"run{i + 1}").mkdir(exist_ok=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda p: workload(p[1], env, out_root / f"run{p[0] + 1}"), points))
    ms = []
    for i in range(repeat):
        by_case = {r.case: r for r in runs[i * len(CASES) : (i + 1) * len(CASES)]}
        per_call = {case: by_case[case].per_call for case in CASES}
        observed = by_case["observe"].report
        ms.append(
            Measurement(
                per_call=per_call,
                ratio=per_call["observe"] / per_call["plain"],
                wrapper=str(observed.get("wrapper")),
                wrapper_file=observed.get("wrapper_file"),
                warmup=int(observed.get("warmup", 0)),
            )
        )
    return ms


def native_check(env: dict[str, str]) -> None:
    """Both cases once without valgrind (seconds): a broken set-up fails before the slow part."""
    native_env = {k: v for k, v in env.items() if k != "JF_CALLGRIND_CTL"}
    for case in CASES:
        proc = subprocess.run(
            [sys.executable, str(WORKLOAD), case, "10"],
            env=native_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise MeasurementError(f"{case} (no valgrind) failed:\n{proc.stdout}{proc.stderr}")
        report_line(proc.stdout, case)


def implementation(m: Measurement) -> str:
    """What was measured, in words, from what the decorator returned."""
    if m.wrapper == "builtins.function" and m.wrapper_file:
        try:
            where = str(Path(m.wrapper_file).resolve().relative_to(ROOT))
        except ValueError:
            where = m.wrapper_file
        return f"Python wrapper (the decorator returns a Python function from {where})"
    return f"C callable (the decorator returns a {m.wrapper})"


def tool_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def spread_pct(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values) * 100.0


def load_ceiling() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(CEILING_FILE.read_text())
    except (OSError, ValueError) as exc:
        raise MeasurementError(f"cannot read {CEILING_FILE}: {exc} (--update writes it)") from exc
    return data


def write_ceiling(ms: list[Measurement]) -> dict[str, Any]:
    """Rewrite the ceiling file from these measurements (median ratio x (1 + HEADROOM))."""
    ratios = [m.ratio for m in ms]
    ratio = statistics.median(ratios)
    # Rounded up to 0.1 so the file reads as a plain number and never sits under ratio.
    ceiling = math.ceil(ratio * (1 + HEADROOM) * 10) / 10
    previous = CEILING_FILE.exists() and load_ceiling().get("ceiling")
    data = {
        "what": (
            "callgrind instructions (Ir) per call, main thread, of judgeval-fast "
            "Tracer.observe (input and output capture) divided by those of a plain "
            "functools.wraps decorator, same function and arguments; "
            "checked by `make callgrind` in CI (.ci/run)"
        ),
        "ceiling": ceiling,
        "headroom": (
            f"ceiling = measured ratio x {1 + HEADROOM:.2f}, rounded up to 0.1: "
            f"{HEADROOM:.0%} above the median of {len(ms)} measurements, for changes "
            "elsewhere (CPython, orjson, compiler) rather than for noise, which is "
            "measured.ratio_spread_pct"
        ),
        "update": (
            "make callgrind UPDATE=1 (or .venv/bin/python benchmarks/callgrind_ratio.py "
            "--update): measures 3 times, rewrites this file; commit it. Lower the "
            "ceiling this way whenever the hot path gets cheaper (e.g. the C @observe), "
            "so a regression is caught against the new level."
        ),
        "measured": {
            "date": datetime.date.today().isoformat(),
            "implementation": implementation(ms[0]),
            "ratio": round(ratio, 3),
            "ratio_runs": [round(r, 3) for r in ratios],
            "ratio_spread_pct": round(spread_pct(ratios), 3),
            "observe_ir_per_call": round(statistics.median(m.per_call["observe"] for m in ms)),
            "plain_ir_per_call": round(statistics.median(m.per_call["plain"] for m in ms)),
            "observe_ir_per_call_runs": [round(m.per_call["observe"], 1) for m in ms],
            "plain_ir_per_call_runs": [round(m.per_call["plain"], 1) for m in ms],
            "calls": (
                f"main-thread Ir of a region of {N:,} calls minus the same region with 0 "
                f"calls, divided by {N:,}; after {ms[0].warmup:,} uncounted warm-up calls"
            ),
            "python": platform.python_version(),
            "valgrind": tool_version(["valgrind", "--version"]),
            "machine": platform.machine(),
            "commit": tool_version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
            or "unknown",
        },
    }
    CEILING_FILE.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {CEILING_FILE.relative_to(ROOT)}: ceiling {ceiling} (was {previous or '-'})")
    return data


def print_measurements(ms: list[Measurement]) -> None:
    print(f"\ncallgrind, main thread, Ir per call = (Ir({N:,} calls) - Ir(0 calls)) / {N:,}")
    print(f"  {'run':>3}  {'@observe Ir/call':>16}  {'plain Ir/call':>13}  {'ratio':>7}")
    for i, m in enumerate(ms, 1):
        obs, plain = m.per_call["observe"], m.per_call["plain"]
        print(f"  {i:>3}  {obs:>16,.1f}  {plain:>13,.1f}  {m.ratio:>7.3f}")
    if len(ms) > 1:
        ratios = [m.ratio for m in ms]
        print(
            f"  median ratio {statistics.median(ratios):.3f}, "
            f"spread (max - min) / median over {len(ms)} runs: {spread_pct(ratios):.3f} %"
        )
    print(f"  measured: {implementation(ms[0])}")


def progress(t0: float, what: str) -> None:
    print(f"callgrind: {what} (t+{time.monotonic() - t0:.1f}s)", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--repeat", type=int, default=REPEATS, help=f"measurements (default {REPEATS})")
    p.add_argument("--update", action="store_true", help="rewrite the ceiling file from this run")
    p.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="valgrind runs in parallel (default: CPUs, at most 4)",
    )
    p.add_argument("--keep", metavar="DIR", help="keep the callgrind files in DIR")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeat = max(1, args.repeat)
    if shutil.which("valgrind") is None:
        print("callgrind: valgrind not found (apt-get install valgrind; scripts/bootstrap.sh)")
        return 2
    # Imported here so --help and the valgrind check work without the package built, and
    # from this tree, as the workload is (see run_env).
    sys.path.insert(0, str(ROOT))
    from judgeval_fast.backend import BackendProcess

    t0 = time.monotonic()
    out_root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jf-callgrind-"))
    out_root.mkdir(parents=True, exist_ok=True)
    try:
        ctl = compile_ctl(out_root)
        # The backend runs outside valgrind: it only has to answer the exporter thread,
        # whose work is not counted. --discard: read, count, answer 200, store nothing.
        with BackendProcess(extra_args=["--discard"]) as backend:
            native_check(run_env(backend.url, None))
            progress(t0, "native check passed; valgrind runs ...")
            ms = measure(run_env(backend.url, ctl), out_root, repeat, max(1, args.jobs))
            progress(t0, f"{repeat * len(CASES)} valgrind runs done")
    except (MeasurementError, subprocess.TimeoutExpired) as exc:
        print(f"callgrind: measurement failed: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(out_root, ignore_errors=True)

    print_measurements(ms)
    if args.update:
        write_ceiling(ms)
        return 0
    try:
        committed = load_ceiling()
    except MeasurementError as exc:
        print(f"callgrind: {exc}")
        return 2
    ceiling = float(committed["ceiling"])
    ratio = statistics.median(m.ratio for m in ms)
    rec = committed.get("measured", {})
    print(
        f"  committed: ceiling {ceiling}, measured {rec.get('ratio')} on {rec.get('date')} "
        f"({rec.get('implementation')}; @observe {rec.get('observe_ir_per_call')} Ir/call, "
        f"plain {rec.get('plain_ir_per_call')} Ir/call)"
    )
    if ratio > ceiling:
        print(
            f"\nFAIL: @observe costs {ratio:.3f}x a plain decorator in instructions per call, "
            f"over the ceiling {ceiling} in {CEILING_FILE.relative_to(ROOT)}.\n"
            "The hot path got more expensive. If that is intended, re-measure and commit "
            "the new ceiling: make callgrind UPDATE=1"
        )
        return 1
    print(f"\nOK: ratio {ratio:.3f} <= ceiling {ceiling}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
