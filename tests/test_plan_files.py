"""The reliability plan's files are in the repo byte for byte.

The plan (``../shared/plan``) is not part of a clone, so the hashes of the copies we
took are pinned here; where the plan itself is present, the copies are also compared
with it directly. Any edit to a plan file, even a formatter's, fails this test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT.parent / "shared" / "plan"

PINNED_SHA256 = {
    "benchmarks/bench_overhead.py": (
        "5ea4062493d061715e8fe635d557b379e6149d2b11bcc6fc82c7cc8bf10f4103"
    ),
    "load_tests/locustfile.py": "1958bcd3a43bd05e0aa6dd96f613671cb49bf9d3694165d1655d23297461ae3f",
    "tests/reliability/test_api_failures.py": (
        "751ae2d1860d00c78ebd9be90770e0f737cc114c5633bc2eaee5c46f6a38a560"
    ),
    "tests/reliability/test_chaos.py": (
        "7be7c04344d4251148b4ae276fe8f17599222307a99e4a5d539a32b892d2b4bc"
    ),
    "tests/reliability/test_crash_resistance.py": (
        "cf02fa654b12b7c4abe9262da2047722df5a0c7a5bef6b72ea86219ab527edbf"
    ),
    "tests/reliability/test_memory_leaks.py": (
        "629ef5bf7c33ab7fd4ee4b793b18d3853b4636d1bf5e695bcd674f40977bd4c5"
    ),
    "tests/reliability/test_stress_latency.py": (
        "472b1f0e583372de2189cfe52b0ef89bef43bd77165cae2a5ee3f191b825e519"
    ),
    "tests/reliability/test_sustained_load.py": (
        "fd979d923e3a1c8151830b3542d8828da11ea932f32bb611ba4da61bc2208236"
    ),
}


@pytest.mark.parametrize("relative", sorted(PINNED_SHA256))
def test_plan_file_unchanged(relative: str) -> None:
    digest = hashlib.sha256((ROOT / relative).read_bytes()).hexdigest()
    assert digest == PINNED_SHA256[relative], f"{relative} differs from the plan's copy"


@pytest.mark.skipif(not PLAN.is_dir(), reason="the plan directory is not beside this clone")
def test_every_plan_file_is_copied_byte_for_byte() -> None:
    plan_files = {
        str(p.relative_to(PLAN))
        for top in ("tests", "benchmarks", "load_tests")
        for p in (PLAN / top).rglob("*")
        if p.is_file()
    }
    assert plan_files == set(PINNED_SHA256), "the plan gained or lost files: re-copy and re-pin"
    for relative in plan_files:
        assert (ROOT / relative).read_bytes() == (PLAN / relative).read_bytes(), relative
