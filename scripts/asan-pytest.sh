#!/usr/bin/env bash
# Runs the test suite against the AddressSanitizer + UBSan build installed in a venv.
#
# The python binary is not sanitized, so the ASan runtime is preloaded. pytest runs from
# an empty directory so that `python -c ...` subprocesses import the installed
# (sanitized) package, never the source tree's normal build.
set -euo pipefail
venv=$(cd "$1" && pwd)
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
libasan=$(gcc -print-file-name=libasan.so)
export LD_PRELOAD="$libasan"
# Python itself keeps memory alive until exit by design: leak detection would drown the
# report. Everything else aborts on the first error.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:handle_segv=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export JF_SANITIZED=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$venv/bin/python" -c "import judgeval_fast._native as n, sys; assert n.DEBUG_BUILD, n.__file__; print('sanitized build:', n.__file__)"
# Relative test paths are relative to the repository; with none, the whole suite runs.
args=()
paths=0
for a in "$@"; do
  if [[ "$a" != -* && -e "$repo/${a%%::*}" ]]; then args+=("$repo/$a"); paths=1; else args+=("$a"); fi
done
[ "$paths" = 1 ] || args=("$repo/tests" "${args[@]}")
exec "$venv/bin/pytest" -p no:cacheprovider --rootdir "$repo" -c "$repo/pyproject.toml" "${args[@]}"
