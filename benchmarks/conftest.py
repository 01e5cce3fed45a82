"""Fixtures and the end-of-session report for the benchmarks.

Run with ``pytest benchmarks/bench_core.py --benchmark-only``. Figures are reported, never
asserted. After pytest-benchmark's own table this prints, per group, a markdown table of
every benchmark's median and its ratio to the group's native entry (same ``op``).

Conventions a benchmark uses in ``benchmark.extra_info`` (all optional):

- ``impl``: ``"native"`` marks the entry the others are compared with;
- ``op``: pairs entries of one group (ratios are taken within the same ``op``);
- ``ns_per_span`` / ``ns_per_op``: the per-unit figure when a round does many units;
- ``spans_per_s``: delivered throughput (export group);
- ``group_table``: ``False`` keeps an entry out of the per-group tables (its time is not a
  figure, e.g. a round run under tracemalloc);
- ``goal_rows``: ``[[metric, measured, goal, verdict], ...]``, printed after the group
  tables as one "goals" table (bench_throughput.py).

No ``tracer`` fixture is defined here on purpose: other benchmark files bring their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from judgeval_fast.backend import BackendProcess


@pytest.fixture(scope="session")
def discard_backend() -> Iterator[BackendProcess]:
    """One backend process in ``--discard`` mode (reads and counts exports, stores nothing)."""
    with BackendProcess(extra_args=["--discard"]) as backend:
        yield backend


# ---------------------------------------------------------------------------------------
# End-of-session report
# ---------------------------------------------------------------------------------------


def _figure(bench: Any) -> tuple[float, str] | None:
    """The per-unit figure of a benchmark in ns and its unit, or None without data."""
    info = bench.extra_info or {}
    for key, unit in (("ns_per_span", "ns/span"), ("ns_per_op", "ns/op")):
        value = info.get(key)
        if isinstance(value, (int, float)) and value > 0:
            return float(value), unit
    stats = getattr(bench, "stats", None)
    median = getattr(stats, "median", None) if stats else None
    if isinstance(median, (int, float)) and median > 0:
        return median * 1e9, "ns/call"
    return None


def _median_ns(bench: Any) -> str:
    try:
        return f"{bench.stats.median * 1e9:,.0f}"
    except Exception:
        return "-"


def _fmt(value: object, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _report_lines(benchmarks: list[Any]) -> list[str]:
    groups: dict[str, list[Any]] = {}
    for bench in benchmarks:
        if not bench or _figure(bench) is None:
            continue
        if (bench.extra_info or {}).get("group_table") is False:
            continue
        groups.setdefault(str(bench.group or "(no group)"), []).append(bench)
    if not groups:
        return []
    lines = ["", "## judgeval_fast benchmark report (median; ratios are from this run)", ""]
    ratio_lines: list[str] = []
    for group, benches in groups.items():
        natives: dict[object, Any] = {}
        for bench in benches:
            info = bench.extra_info or {}
            if info.get("impl") == "native":
                natives.setdefault(info.get("op"), bench)
        if not natives:  # no tagged entry: fall back on a name containing "native"
            for bench in benches:
                if "native" in bench.name:
                    natives.setdefault((bench.extra_info or {}).get("op"), bench)
                    break
        lines += [
            f"### group `{group}`",
            "",
            "| benchmark | median (ns) | per unit | spans/s | vs native |",
            "|---|---:|---:|---:|---:|",
        ]
        for bench in benches:
            info = bench.extra_info or {}
            fig = _figure(bench)
            assert fig is not None
            value, unit = fig
            ref = natives.get(info.get("op")) or (
                next(iter(natives.values())) if len(natives) == 1 else None
            )
            ratio = "-"
            if ref is not None and ref is not bench:
                ref_fig = _figure(ref)
                if ref_fig is not None and ref_fig[1] == unit:
                    r = value / ref_fig[0]
                    ratio = f"{r:.2f}x"
                    ratio_lines.append(
                        f"- {group}: {bench.name} / {ref.name} = {r:.2f}x ({unit}: "
                        f"{value:,.1f} vs {ref_fig[0]:,.1f})"
                    )
            elif ref is bench:
                ratio = "1.00x"
            lines.append(
                f"| {bench.name} | {_median_ns(bench)} | {value:,.1f} {unit} | "
                f"{_fmt(info.get('spans_per_s'), 0)} | {ratio} |"
            )
        lines.append("")
    if ratio_lines:
        lines += ["### ratios (time per unit; > 1 means slower than native)", "", *ratio_lines, ""]
    return lines


def _goal_lines(benchmarks: list[Any]) -> list[str]:
    """One table of every benchmark's ``goal_rows``, in run order."""
    rows = [
        row
        for bench in benchmarks
        if bench
        for row in (bench.extra_info or {}).get("goal_rows") or []
        if isinstance(row, (list, tuple)) and len(row) == 4
    ]
    if not rows:
        return []
    lines = [
        "## goals (issue 4; measured in this run, never asserted)",
        "",
        "| metric | measured | goal | hit/missed |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the per-group tables; never fails the run."""
    try:
        session = getattr(config, "_benchmarksession", None)
        if session is None or getattr(session, "disabled", False):
            return
        benchmarks = list(getattr(session, "benchmarks", None) or [])
        lines = _report_lines(benchmarks) + _goal_lines(benchmarks)
        for line in lines:
            terminalreporter.write_line(line)
    except Exception as exc:  # the report is a convenience, not a test
        try:
            terminalreporter.write_line(f"(benchmark report skipped: {exc!r})")
        except Exception:
            pass
