"""Memory-leak checks of every native entry point (psutil's test_memleaks + multidict's
isolated leak scripts).

Each tests/isolated/leak_*.py script runs in a fresh interpreter: it warms an entry point
up, calls it many times, and compares tracemalloc's traced memory (every native
allocation goes through PyMem_RawMalloc) and the RSS before and after; it exits 1 when
either grew past its bound. See tests/isolated/_leakcheck.py for the method and bounds.
The exporter scripts start their own local backend process (judgeval_fast.backend).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

native = pytest.importorskip("judgeval_fast._native")

pytestmark = pytest.mark.native

ROOT = Path(__file__).resolve().parents[1]
ISOLATED = Path(__file__).resolve().parent / "isolated"
SCRIPTS = sorted(ISOLATED.glob("leak_*.py"))
TIMEOUT = 180  # seconds per script; each one takes about 1-5 s on a laptop

# Module-level callables that no leak script needs to call, and why.
NOT_LOOPED = {
    "_after_fork_child": "the os.register_at_fork hook: only meaningful in a fork child, where "
    "it releases the parent's queued records once (covered by the fork tests, not a loop)",
    "_atexit": "the atexit hook: flushes once, then sets the process-wide `exiting` flag "
    "after which no exporter or worker may take the GIL again; calling it in a loop would "
    "end every background thread of the interpreter",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    extra = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + extra if extra else "")
    env.pop("LEAKCHECK_DEBUG", None)
    return env


def run_script(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_scripts_exist() -> None:
    assert len(SCRIPTS) >= 8, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_no_leak(script: Path) -> None:
    r = run_script(script)
    report = f"--- stdout ---\n{r.stdout}\n--- stderr ---\n{r.stderr}"
    assert r.returncode == 0, f"{script.name} exited {r.returncode}\n{report}"
    assert "cases within bounds" in r.stdout, report


def test_harness_detects_a_leak() -> None:
    """The detector itself: 32 bytes kept per call must fail, a bounded cache must not."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ISOLATED)!r})
        from _leakcheck import LeakCheck
        kept, cache = [], dict()
        check = LeakCheck("selftest")
        check.case("keeps 32 bytes per call", lambda: kept.append(bytes(32)), 20_000)
        check.case("bounded cache", lambda: cache.setdefault(len(cache) % 100, bytes(64)), 20_000)
        check.run()
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("keeps 32 bytes per call") and "LEAK" in line for line in lines), (
        r.stdout
    )
    assert any(line.startswith("bounded cache") and "LEAK" not in line for line in lines), r.stdout


# ---------------------------------------------------------------------------------------
# coverage: every native entry point is exercised by some leak script (psutil's
# test_coverage: a new method without a leak check fails here)
# ---------------------------------------------------------------------------------------


def native_callables() -> dict[str, list[str]]:
    """{"": module functions, "Type": its own methods} of _native (no dunders)."""
    out: dict[str, list[str]] = {"": []}
    for name in dir(native):
        obj = getattr(native, name)
        if name.startswith("__"):
            continue
        if isinstance(obj, type):
            out[name] = sorted(
                m
                for m, v in vars(obj).items()
                if not m.startswith("__") and callable(v) and not isinstance(v, int)
            )
        elif callable(obj):
            out[""].append(name)
    return out


def script_texts() -> dict[str, str]:
    return {s.name: s.read_text(encoding="utf-8") for s in SCRIPTS}


def test_coverage_of_module_functions() -> None:
    texts = script_texts()
    missing = []
    for name in native_callables()[""]:
        if name in NOT_LOOPED:
            continue
        if not any(re.search(rf"\b{re.escape(name)}\b", t) for t in texts.values()):
            missing.append(name)
    assert not missing, f"module functions no tests/isolated/leak_*.py script calls: {missing}"
    assert set(NOT_LOOPED) <= set(native_callables()[""]), "stale NOT_LOOPED entries"


# Types with no methods of their own: nothing to loop beyond making them and reading their
# fields (leak_span_context.py, leak_span_events.py do). Asserted: a type that gains a
# method fails test_types_without_methods until it leaves this list and gets a leak check.
NO_METHODS = {
    "Event": "a structseq (name, timestamp, attributes): fields only",
    "Status": "a structseq (status_code, description): fields only",
    "SpanContext": "read-only properties and comparisons only",
    "Observed": "a callable (__call__, __get__, __reduce__): called in leak_tracing.py",
    "SpanScope": "a context manager (__enter__/__exit__): entered in leak_tracing.py",
    "GuardBase": "a descriptor (__get__): looked up in leak_tracing.py",
}


def test_types_without_methods() -> None:
    types = {n: m for n, m in native_callables().items() if n}
    assert set(NO_METHODS) <= set(types), "stale NO_METHODS entries"
    with_methods = {n: types[n] for n in NO_METHODS if types[n]}
    assert not with_methods, f"NO_METHODS types that now have methods: {with_methods}"


@pytest.mark.parametrize(
    "tname", sorted(n for n in native_callables() if n and n not in NO_METHODS)
)
def test_coverage_of_methods(tname: str) -> None:
    """Each method must appear as `.method` in a script that also names the type."""
    texts = [t for t in script_texts().values() if re.search(rf"\b{tname}\b", t)]
    methods = native_callables()[tname]
    assert methods, f"{tname} has no methods of its own: add it to NO_METHODS"
    assert texts, f"no leak script mentions {tname}"
    missing = [m for m in methods if not any(re.search(rf"\.{re.escape(m)}\b", t) for t in texts)]
    assert not missing, f"{tname} methods not exercised by any leak script: {missing}"
