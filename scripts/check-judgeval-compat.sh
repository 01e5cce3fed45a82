#!/usr/bin/env bash
# judgeval.v1 import path (DESIGN 3.1), checked in fresh venvs from the built wheel:
#   1. no judgeval installed: judgeval.v1.* come from judgeval-fast;
#   2. judgeval 1.x installed (it has no judgeval.v1): the real judgeval package stays the
#      real one, and judgeval.v1.* are added beside it;
#   3. judgeval 0.32.2 installed (it has its own judgeval.v1): never replaced.
# Usage: check-judgeval-compat.sh WHEEL
set -euo pipefail
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

check() {  # name, pip requirement (or ""), python code
  python3 -m venv "$work/$1"
  # shellcheck disable=SC2086  # several requirements, split on purpose
  if [ -n "$2" ]; then "$work/$1/bin/pip" install -q $2; fi
  "$work/$1/bin/pip" install -q "$wheel"
  "$work/$1/bin/python" -c "$3"
  echo "judgeval compat ($1): ok"
}

check none "" "
import judgeval
from judgeval.v1.tracer.tracer import Tracer
from judgeval.v1.internal.api import JudgmentAPIError, JudgmentSyncClient
import judgeval_fast.tracer, judgeval_fast.api
assert Tracer is judgeval_fast.tracer.Tracer and JudgmentSyncClient is judgeval_fast.api.JudgmentSyncClient
assert 'judgeval_fast/compat' in judgeval.__file__, judgeval.__file__
assert str(JudgmentAPIError(status_code=429, message='Rate limit exceeded')) == '429: Rate limit exceeded'
"

check judgeval-1 "judgeval>=1,<2" "
import importlib.metadata as md, judgeval
assert md.version('judgeval').startswith('1.'), md.version('judgeval')
assert 'site-packages/judgeval/__init__.py' in judgeval.__file__, judgeval.__file__
import judgeval.judgment_attribute_keys, judgeval.exceptions  # the real modules still load
from judgeval.v1.tracer.tracer import Tracer
from judgeval.v1.internal.api import JudgmentAPIError, JudgmentSyncClient
import judgeval.v1, judgeval_fast.tracer
assert Tracer is judgeval_fast.tracer.Tracer and 'judgeval_fast/compat' in judgeval.v1.__file__
"

# judgeval 0.32.2 imports packaging without declaring it as a dependency.
check judgeval-0.32 "judgeval==0.32.2 packaging" "
import judgeval.v1.tracer.tracer as t
assert 'judgeval_fast' not in t.__file__, t.__file__  # its own v1 wins
print('  judgeval 0.32.2 keeps its own', t.__file__)
"
