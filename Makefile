# judgeval-fast developer entry points. `make demo` and `make test` set everything up
# on a fresh machine (system packages via scripts/bootstrap.sh, then a venv in .venv).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASAN_VENV ?= .venv-asan
ASAN_PY := $(ASAN_VENV)/bin/python
SOURCES := $(wildcard csrc/*.c csrc/*.h) setup.py pyproject.toml

.PHONY: setup build demo test test-fast asan bench callgrind lint clean

setup: $(STAMP)

$(STAMP): $(SOURCES)
	bash scripts/bootstrap.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	JF_STRICT=1 $(PY) -m pip install -q -e ".[test,bench,dev]"
	$(PY) -m judgeval_fast.compat  # judgeval.v1 at interpreter start (editable wheels carry no .pth)
	touch $(STAMP)

# Rebuild the extension in place after a C change. The new .so is renamed over the old
# one (atomic), so processes that have the old one mapped keep running.
build: setup
	JF_STRICT=1 $(PY) setup.py -q build_ext --build-lib build/lib --build-temp build/tmp
	cp build/lib/judgeval_fast/_native.abi3.so judgeval_fast/.native.tmp
	mv -f judgeval_fast/.native.tmp judgeval_fast/_native.abi3.so

demo: setup
	$(VENV)/bin/judgeval-fast demo

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# The whole suite against an AddressSanitizer + UndefinedBehaviorSanitizer build, in its
# own venv (non-editable install) so the sanitized .so never replaces the normal one.
asan:
	bash scripts/bootstrap.sh
	test -x $(ASAN_PY) || $(PYTHON) -m venv $(ASAN_VENV)
	$(ASAN_PY) -m pip install -q --upgrade pip setuptools wheel
	$(ASAN_PY) -m pip install -q ".[test,bench]"
	JF_STRICT=1 JF_SANITIZE=1 $(ASAN_PY) -m pip install -q --no-cache-dir --force-reinstall --no-deps --no-build-isolation .
	bash scripts/asan-pytest.sh $(ASAN_VENV) -q

# compare.py: judgeval-fast side by side with the OTel SDK and the real judgevals (in
# .venv-bench-judgeval1 / .venv-bench-judgeval032, made on first use). COMPARE_ARGS=--quick
# for fewer rounds.
COMPARE_ARGS ?=
bench: setup
	$(PY) -m pytest benchmarks --benchmark-only -q
	$(PY) benchmarks/compare.py $(COMPARE_ARGS)

# Instructions per @observe call over a plain decorator's, counted by callgrind (main
# thread), checked against benchmarks/callgrind_ceiling.json (CI runs this). UPDATE=1
# re-measures and rewrites that file instead; commit it. Needs valgrind (bootstrap.sh).
callgrind: setup
	$(PY) benchmarks/callgrind_ratio.py $(if $(UPDATE),--update) $(CALLGRIND_ARGS)

lint: setup
	$(VENV)/bin/ruff check judgeval_fast tests benchmarks
	$(VENV)/bin/mypy judgeval_fast

clean:
	rm -rf build dist *.egg-info judgeval_fast/_native*.so
