"""Interpreter-start hook of judgeval-fast: the judgeval.v1 meta-path finder.

judgeval_fast-compat.pth carries this file's source and runs it at interpreter start in
a namespace of its own, so that starting Python imports nothing of judgeval_fast (and
pytest's assertion rewriting never finds one of our modules imported too early). It
only appends a finder that supplies ``judgeval`` and ``judgeval.v1.*`` when nothing else
on the machine provides them (the rules: judgeval_fast/compat/__init__.py).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType


def _shim_root() -> str | None:
    spec = importlib.util.find_spec("judgeval_fast")  # locates, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(next(iter(spec.submodule_search_locations)), "compat", "judgeval")


class JudgevalV1Finder(importlib.abc.MetaPathFinder):
    """Supplies judgeval / judgeval.v1.* when no other finder does."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "judgeval" and not fullname.startswith("judgeval."):
            return None
        # Finders registered after this one (an editable install's, say) come first.
        try:
            later = sys.meta_path[sys.meta_path.index(self) + 1 :]
        except ValueError:
            later = []
        for finder in later:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if isinstance(spec, importlib.machinery.ModuleSpec):
                return spec
        root = _shim_root()
        if root is None:
            return None
        location = os.path.join(root, *fullname.split(".")[1:])
        package_init = os.path.join(location, "__init__.py")
        if os.path.isfile(package_init):
            return importlib.util.spec_from_file_location(
                fullname, package_init, submodule_search_locations=[location]
            )
        if os.path.isfile(location + ".py"):
            return importlib.util.spec_from_file_location(fullname, location + ".py")
        return None


def install() -> None:
    """Append the finder to sys.meta_path (idempotent)."""
    if not any(type(f).__name__ == "JudgevalV1Finder" for f in sys.meta_path):
        sys.meta_path.append(JudgevalV1Finder())


install()
