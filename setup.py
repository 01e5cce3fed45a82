"""Build judgeval_fast._native from csrc/ against the CPython stable ABI (abi3, 3.10+).

libcurl (HTTP/HTTPS, proxies, keep-alive) and zlib (gzip) are found with pkg-config.
Environment knobs, used by the Makefile and CI:
  JF_STRICT=1    -Wall -Wextra -Werror (CI)
  JF_SANITIZE=1  AddressSanitizer + UndefinedBehaviorSanitizer build
  JF_DEBUG=1     keep assertions (the invariant checks) and -O1 -g
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

VERSION = "0.1.0"
LIMITED_API = "0x030A0000"  # Python 3.10: the oldest interpreter the abi3 wheel supports

DEBIAN_PACKAGES = {"libcurl": "libcurl4-openssl-dev", "zlib": "zlib1g-dev"}


def pkg_config(name: str) -> tuple[list[str], list[str]]:
    """Return (cflags, libs) for a pkg-config module, or exit with the package to install."""
    hint = f"apt-get install {DEBIAN_PACKAGES[name]} pkg-config"
    if shutil.which("pkg-config") is None:
        sys.exit(f"judgeval-fast: pkg-config not found; install it: {hint}")
    try:
        cflags = subprocess.run(
            ["pkg-config", "--cflags", name], check=True, capture_output=True, text=True
        ).stdout.split()
        libs = subprocess.run(
            ["pkg-config", "--libs", name], check=True, capture_output=True, text=True
        ).stdout.split()
    except subprocess.CalledProcessError:
        sys.exit(f"judgeval-fast: {name} development files not found; install them: {hint}")
    return cflags, libs


def flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


class BuildExt(build_ext):
    """Resolve the native dependencies at build time, so `pip install .` fails in one line."""

    def build_extensions(self) -> None:
        cflags: list[str] = []
        libs: list[str] = []
        for dep in ("libcurl", "zlib"):
            c, ll = pkg_config(dep)
            cflags += c
            libs += ll
        extra_compile = ["-std=c11", "-fvisibility=hidden", "-D_GNU_SOURCE"]
        extra_link: list[str] = []
        if flag("JF_STRICT"):
            extra_compile += ["-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"]
        if flag("JF_DEBUG") or flag("JF_SANITIZE"):
            extra_compile += ["-O1", "-g", "-UNDEBUG", "-fno-omit-frame-pointer"]
        else:
            extra_compile += ["-O2", "-DNDEBUG"]
        if flag("JF_SANITIZE"):
            san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
            extra_compile += san
            extra_link += san
        for ext in self.extensions:
            ext.extra_compile_args = cflags + extra_compile
            ext.extra_link_args = libs + extra_link
        # setuptools skips a build whose outputs are newer than its sources, whatever the
        # flags were: a sanitizer or debug build would silently reuse release objects.
        # The extension is small, so it is always rebuilt.
        self.force = True
        super().build_extensions()


PTH = "judgeval_fast-compat.pth"


class BuildPy(build_py):
    """Also put the judgeval.v1 startup hook at the wheel's root (site-packages)."""

    def run(self) -> None:
        super().run()
        # Same line as judgeval_fast.compat.pth_line(): the startup source, run in a fresh namespace.
        with open(os.path.join("judgeval_fast", "compat", "startup.py"), encoding="utf-8") as f:
            source = f.read()
        with open(os.path.join(self.build_lib, PTH), "w", encoding="utf-8") as out:
            out.write(f"import sys; exec({source!r}, {{'__name__': 'judgeval_fast_startup'}})\n")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, PTH)]


native = Extension(
    "judgeval_fast._native",
    sources=sorted(glob.glob("csrc/*.c")),
    depends=sorted(glob.glob("csrc/*.h")),
    define_macros=[
        ("Py_LIMITED_API", LIMITED_API),
        ("JF_HAVE_ZLIB", "1"),
        ("JF_VERSION", f'"{VERSION}"'),
    ],
    py_limited_api=True,
)

setup(
    version=VERSION,
    ext_modules=[native],
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
