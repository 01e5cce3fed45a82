"""``judgeval.v1`` on top of judgeval_fast, without replacing an installed judgeval.

judgeval 1.x has no ``judgeval.v1``; judgeval 0.25 and 0.32 have one. The finder below
sits at the *end* of ``sys.meta_path`` and answers only for ``judgeval`` and
``judgeval.*`` names that nothing else on the machine provides: with no judgeval
installed it supplies the whole ``judgeval.v1`` surface (and a stand-in ``judgeval``
package); with judgeval 1.x it adds ``judgeval.v1`` beside the real package; with a
judgeval that has its own ``v1`` it never answers. The modules it supplies
(``judgeval_fast/compat/judgeval/``) only re-export judgeval_fast's objects.

The finder is in ``startup.py``, whose source the .pth carries and runs at interpreter
start without importing this package. The .pth is put in site-packages by the wheel
(setup.py), by ``python -m judgeval_fast.compat`` (what ``make setup`` runs for editable
installs, whose wheels carry no extra .pth), and the pytest plugin installs the finder
when it loads.
"""

from __future__ import annotations

import os

from judgeval_fast.compat.startup import JudgevalV1Finder, install

__all__ = ["JudgevalV1Finder", "install", "pth_line", "pth_path", "write_pth"]

PTH_NAME = "judgeval_fast-compat.pth"
STARTUP = os.path.join(os.path.dirname(__file__), "startup.py")


def pth_line(source: str) -> str:
    """The .pth line running source in a fresh namespace (setup.py builds the same)."""
    return f"import sys; exec({source!r}, {{'__name__': 'judgeval_fast_startup'}})\n"


def pth_path() -> str:
    """Where the .pth goes for this interpreter (its purelib site-packages)."""
    import sysconfig

    return os.path.join(sysconfig.get_paths()["purelib"], PTH_NAME)


def write_pth() -> str:
    """Write the startup hook into this interpreter's site-packages; returns its path."""
    target = pth_path()
    with open(STARTUP, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        out.write(pth_line(f.read()))
    return target
