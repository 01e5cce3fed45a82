#!/usr/bin/env bash
# Installs the system packages the native build and the sanitizer run need, if missing:
# a C compiler, pkg-config, libcurl and zlib headers (Debian package names), and valgrind
# with its headers for `make callgrind`. Idempotent.
set -euo pipefail

need=()
command -v gcc >/dev/null 2>&1 || need+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
pkg-config --exists zlib 2>/dev/null || need+=(zlib1g-dev)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
# valgrind's Debian package also carries valgrind/callgrind.h and valgrind.pc, which
# benchmarks/callgrind_ctl.c is compiled against.
{ command -v valgrind && pkg-config --exists valgrind; } >/dev/null 2>&1 || need+=(valgrind)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "bootstrap: installing ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
else
  echo "bootstrap: please run: apt-get install ${need[*]}" >&2
  exit 1
fi
