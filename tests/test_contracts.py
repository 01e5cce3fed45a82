"""API contracts of judgeval_fast._native (psutil's test_contracts style).

What the C extension promises beyond behaviour: that its stub (_native.pyi) and the runtime
agree name for name and parameter for parameter, the shapes and types of every stats/info
dict, the package's lazy public names, the stable-ABI build, and the type flags of the
C specs (hashability, subclassing, GC tracking).
"""

from __future__ import annotations

import ast
import gc
import importlib
import inspect
import operator
import re
import shutil
import subprocess
import sys
import types
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

native = pytest.importorskip("judgeval_fast._native")

import judgeval_fast  # noqa: E402  (after the importorskip of the extension)

health_module = importlib.import_module("judgeval_fast.metrics")
exporter_module = importlib.import_module("judgeval_fast.exporter")

pytestmark = pytest.mark.native

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "judgeval_fast" / "_native.pyi"
CSRC = ROOT / "csrc"
DEAD_URL = "http://127.0.0.1:9/v1/traces"  # never contacted by these tests

TYPES = ("Span", "SpanContext", "Event", "Status", "SpanQueue", "Store", "Exporter", "Worker")
STRUCTSEQ_EXTRAS = {"n_fields", "n_sequence_fields", "n_unnamed_fields"}


# ---------------------------------------------------------------------------------------
# the stub, parsed with ast
# ---------------------------------------------------------------------------------------


class StubClass:
    def __init__(self, node: ast.ClassDef) -> None:
        self.name = node.name
        self.methods: dict[str, ast.FunctionDef] = {}
        self.properties: set[str] = set()
        self.attributes: set[str] = set()  # annotated: NamedTuple fields, settable attributes
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                decorators = {d.id for d in item.decorator_list if isinstance(d, ast.Name)}
                if "property" in decorators:
                    self.properties.add(item.name)
                else:
                    self.methods[item.name] = item
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                self.attributes.add(item.target.id)

    @property
    def names(self) -> set[str]:
        return set(self.methods) | self.properties | self.attributes


class Stub:
    def __init__(self, path: Path) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        self.constants: set[str] = set()
        self.aliases: set[str] = set()  # type aliases: exist only for type checkers
        self.functions: dict[str, ast.FunctionDef] = {}
        self.classes: dict[str, StubClass] = {}
        for node in tree.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.constants.add(node.target.id)
            elif isinstance(node, ast.Assign):
                self.aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = StubClass(node)

    @property
    def names(self) -> set[str]:
        return self.constants | set(self.functions) | set(self.classes)


STUB_API = Stub(STUB)


def runtime_names() -> set[str]:
    return {n for n in dir(native) if not (n.startswith("__") and n.endswith("__"))} | {
        "__version__"
    }


def is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def stub_params(fn: ast.FunctionDef, drop_self: bool) -> list[tuple[str, str]]:
    """(name, kind) of a stub function's parameters, kind one of posonly/any/kwonly/*/**."""
    a = fn.args
    out = [(p.arg, "posonly") for p in a.posonlyargs] + [(p.arg, "any") for p in a.args]
    if drop_self and out and out[0][0] == "self":
        out = out[1:]
    if a.vararg:
        out.append((a.vararg.arg, "*"))
    out += [(p.arg, "kwonly") for p in a.kwonlyargs]
    if a.kwarg:
        out.append((a.kwarg.arg, "**"))
    return out


KIND = {
    inspect.Parameter.POSITIONAL_ONLY: "posonly",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "any",
    inspect.Parameter.KEYWORD_ONLY: "kwonly",
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def stub_callables() -> Iterator[tuple[str, Any, ast.FunctionDef, bool]]:
    """(label, runtime object, stub node, is a method) for every stub function and method."""
    for name, fn in sorted(STUB_API.functions.items()):
        yield name, getattr(native, name, None), fn, False
    for cname, cls in sorted(STUB_API.classes.items()):
        tp = getattr(native, cname, None)
        for mname, fn in sorted(cls.methods.items()):
            if mname == "__init__":
                yield f"{cname}()", tp, fn, True
            elif not is_dunder(mname):
                yield f"{cname}.{mname}", getattr(tp, mname, None), fn, True


# ---------------------------------------------------------------------------------------
# stub <-> runtime
# ---------------------------------------------------------------------------------------


def test_stub_and_module_have_the_same_names() -> None:
    runtime = runtime_names()
    missing_in_stub = runtime - STUB_API.names
    missing_at_runtime = STUB_API.names - runtime
    assert not missing_in_stub, f"names of _native not in _native.pyi: {sorted(missing_in_stub)}"
    assert not missing_at_runtime, f"_native.pyi names not at runtime: {sorted(missing_at_runtime)}"
    # the aliases are annotations only: they must not shadow something real
    assert not STUB_API.aliases & runtime, STUB_API.aliases & runtime


@pytest.mark.parametrize("cname", TYPES)
def test_stub_class_members_match_runtime(cname: str) -> None:
    tp = getattr(native, cname)
    cls = STUB_API.classes[cname]
    own = vars(tp)
    problems = []
    for name in sorted(cls.names):
        if name == "__init__":
            if "__init__" not in own and "__new__" not in own:
                problems.append("__init__: neither __init__ nor __new__ is defined")
            continue
        if is_dunder(name):
            if name not in own:
                problems.append(f"{name}: the stub declares it, the type does not define it")
            continue
        if not hasattr(tp, name):
            problems.append(f"{name}: missing at runtime")
            continue
        descr = inspect.getattr_static(tp, name)
        is_data = isinstance(descr, (types.GetSetDescriptorType, types.MemberDescriptorType))
        if name in cls.methods and is_data:
            problems.append(f"{name}: a method in the stub, a data attribute at runtime")
        if (name in cls.properties or name in cls.attributes) and not is_data:
            problems.append(f"{name}: an attribute in the stub, {type(descr).__name__} at runtime")
    public = {n for n in own if not is_dunder(n)} - STRUCTSEQ_EXTRAS
    for name in sorted(public - cls.names):
        problems.append(f"{name}: defined at runtime, missing in the stub")
    assert not problems, f"{cname}: " + "; ".join(problems)


def test_stub_settable_attributes_are_settable() -> None:
    """Annotated (non-property) attributes of a non-NamedTuple stub class must be writable."""
    s = native.Store(10, 5.0)
    for name in STUB_API.classes["Store"].attributes:
        setattr(s, name, getattr(s, name))


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (ValueError, TypeError):
        return None


@pytest.mark.parametrize(
    ("label", "obj", "fn", "method"), list(stub_callables()), ids=[c[0] for c in stub_callables()]
)
def test_stub_signature_matches_text_signature(
    label: str, obj: Any, fn: ast.FunctionDef, method: bool
) -> None:
    assert obj is not None, f"{label} is missing at runtime"
    sig = _signature(obj)
    if sig is None:
        pytest.skip(f"{label}: no readable text signature in the C docstring")
    expected = stub_params(fn, drop_self=method)
    params = list(sig.parameters.values())
    if method and params and params[0].name == "self":  # "$self" of an unbound C method
        params = params[1:]
    actual = [(p.name, KIND[p.kind]) for p in params]
    # a C text signature without "/" reports positional-only params as "any": compare the
    # names and keyword-only-ness here; test_stub_keywords_are_accepted checks the rest
    norm = {"posonly": "any"}
    assert [(n, norm.get(k, k)) for n, k in actual] == [(n, norm.get(k, k)) for n, k in expected], (
        f"{label}: runtime {sig} vs stub {expected}"
    )


def test_c_docstring_signatures_parse() -> None:
    """A C docstring starting "name(args)\\n--\\n\\n" becomes __text_signature__ only if the
    first line is exactly the call: "name(args) -> T" (or "...") is left in __doc__ and
    inspect.signature() fails. Every docstring that has the "--" marker must parse."""
    unparsed = []
    for label, obj in _all_runtime_callables():
        doc = getattr(obj, "__doc__", None) or ""
        if "\n--\n\n" in doc.split("\n\n", 1)[0] + "\n\n" and _signature(obj) is None:
            unparsed.append(f"{label}: {doc.splitlines()[0]!r}")
        elif getattr(obj, "__text_signature__", None) and _signature(obj) is None:
            unparsed.append(f"{label}: invalid text signature {obj.__text_signature__!r}")
    assert not unparsed, "C docstrings whose signature line does not parse:\n  " + "\n  ".join(
        unparsed
    )


def _all_runtime_callables() -> Iterator[tuple[str, Any]]:
    for name in sorted(runtime_names()):
        obj = getattr(native, name)
        if isinstance(obj, types.BuiltinFunctionType):
            yield name, obj
        elif isinstance(obj, type):
            yield name, obj
            for mname, m in vars(obj).items():
                if not is_dunder(mname) and callable(m) and not isinstance(m, int):
                    yield f"{name}.{mname}", m


# Harmless values for probing keyword arguments, by parameter name.
PROBE_VALUES: dict[str, Callable[[], Any]] = {
    "span": lambda: (1, 2),
    "key": lambda: "k",
    "value": lambda: 1,
    "default": lambda: None,
    "attributes": lambda: {},
    "name": lambda: "n",
    "exception": lambda: ValueError("x"),
    "status": lambda: 0,
    "description": lambda: None,
    "end_time": lambda: None,
    "timestamp": lambda: None,
    "escaped": lambda: False,
    "data": lambda: b"x",
    "owner": lambda: 0,
    "max_items": lambda: 1,
    "max_bytes": lambda: 100,
    "spans": lambda: [],
    "timeout": lambda: 0.0,
    "exporter": lambda: None,
    "fn": lambda: lambda: None,
    "resource": lambda: {},
    "scope_name": lambda: "s",
    "scope_version": lambda: "",
    "trace_id": lambda: 1,
    "span_id": lambda: 2,
    "capacity": lambda: 10,
    "ttl": lambda: 5.0,
    "endpoint": lambda: DEAD_URL,
    "headers": lambda: None,
    "max_pending": lambda: 10,
    "span_name": lambda: "s",
    "func": lambda: lambda: None,
    "span_type": lambda: None,
    "names": lambda: None,
    "capture": lambda: None,
    "record_output": lambda: True,
    "inherited": lambda: None,
}


def _probe_core() -> Any:
    import contextvars

    return native.TracerCore(
        contextvars.ContextVar("probe_current", default=None),
        contextvars.ContextVar("probe_agent", default=None),
        dumps=repr,
        dumps_default=None,
        dumps_option=None,
        on_error=lambda where, exc: None,
        invalid_span=None,
        scope_type=native.SpanScope,
    )


def _probe_instance(cname: str) -> Any:
    return {
        "Span": lambda: native.Span("probe"),
        "SpanQueue": lambda: native.SpanQueue(10, 1000),
        "Store": lambda: native.Store(10),
        "Exporter": lambda: native.Exporter(DEAD_URL),
        "Worker": lambda: native.Worker(10),
        "TracerCore": _probe_core,
        "Frame": lambda: native.Frame(native.Span("probe")),
    }[cname]()


def test_stub_keywords_are_accepted() -> None:
    """Every parameter the stub lets callers pass by keyword (neither positional-only nor *
    or **) must be accepted by keyword at runtime. A C method parsed with METH_O,
    PyArg_UnpackTuple or PyArg_ParseTuple takes no keywords: its stub must use "/"."""
    rejected = []
    for label, _obj, fn, method in stub_callables():
        names = [n for n, k in stub_params(fn, drop_self=method) if k in ("any", "kwonly")]
        if not names:
            continue
        kwargs = {n: PROBE_VALUES[n]() for n in names if n in PROBE_VALUES}
        if label.endswith("()"):
            target: Any = getattr(native, label[:-2])
            owner = None
        elif "." in label:
            cname, mname = label.split(".")
            if cname in ("Event", "Status", "SpanContext"):
                continue
            owner = _probe_instance(cname)
            target = getattr(owner, mname)
        else:
            if label in ("configure",):
                continue  # keyword-only already, and it would change the process-wide limits
            target, owner = getattr(native, label), None
        try:
            result = target(**kwargs)
        except TypeError as exc:
            if "keyword" in str(exc):
                rejected.append(f"{label}({', '.join(kwargs)}): {exc}")
            result = None
        except Exception:  # any other error came after the arguments were accepted
            result = None
        for obj in (result, owner):
            if isinstance(obj, (native.Exporter, native.Worker)):
                obj.shutdown(1.0)
    assert not rejected, (
        "stub parameters that the runtime refuses by keyword (mark them positional-only "
        "with '/' in _native.pyi, or accept keywords in C):\n  " + "\n  ".join(rejected)
    )


# ---------------------------------------------------------------------------------------
# return types of the stats / info functions
# ---------------------------------------------------------------------------------------

EXPORTER_REQUIRED = {
    "queue_size",
    "queue_capacity",
    "dropped_queue_full",
    "exported",
    "failed",
    "rejected",
    "retries",
    "gil_acquisitions",
    "last_error",
}
EXPORTER_NULLABLE = {"last_error": str, "last_retry_after": float}
WORKER_KEYS = {
    "pending",
    "running",
    "capacity",
    "submitted",
    "dropped",
    "rejected_after_shutdown",
    "succeeded",
    "failed",
    "retried",
    "cancelled",
    "dropped_shutdown",
    "abandoned_exit",
    "gil_acquisitions",
    "thread_starts",
    "thread_start_failures",
    "thread_alive",
    "last_error",
}
SPAN_COUNTER_KEYS = {
    "spans_started",
    "spans_ended",
    "spans_end_ignored",
    "spans_unexported",
    "attributes_truncated",
    "attributes_converted",
    "attributes_dropped",
    "keys_converted",
    "events_dropped",
    "encode_failures",
}


def exporter_stats_keys_in_c() -> set[str]:
    """The keys Exporter_stats() builds, read from csrc/exporter.c."""
    src = (CSRC / "exporter.c").read_text(encoding="utf-8")
    body = src[src.index("static PyObject *Exporter_stats(") :]
    body = body[: body.index("\n}\n")]
    return set(re.findall(r'\{"(\w+)",', body)) | set(
        re.findall(r'PyDict_SetItemString\(d, "(\w+)"', body)
    )


def check_types(d: dict[str, Any], nullable: dict[str, type]) -> list[str]:
    bad = []
    for k, v in d.items():
        want = nullable.get(k)
        if want is not None:
            if v is not None and not isinstance(v, want):
                bad.append(f"{k}={v!r} (want {want.__name__} | None)")
        elif not (isinstance(v, int) and not isinstance(v, bool)):
            bad.append(f"{k}={v!r} (want int)")
    return bad


def test_exporter_stats_shape() -> None:
    e = native.Exporter(DEAD_URL)
    try:
        st = e.stats()
    finally:
        e.shutdown(0)
    assert isinstance(st, dict)
    assert EXPORTER_REQUIRED <= set(st), EXPORTER_REQUIRED - set(st)
    assert set(st) == exporter_stats_keys_in_c(), set(st) ^ exporter_stats_keys_in_c()
    assert not check_types(st, EXPORTER_NULLABLE), check_types(st, EXPORTER_NULLABLE)
    assert st["last_error"] is None and st["last_retry_after"] is None  # nothing happened yet
    assert st["queue_capacity"] == 65536 and st["queue_size"] == 0


def test_exporter_stats_types_after_errors() -> None:
    """last_error becomes a str; every other counter stays an int."""
    e = native.Exporter(DEAD_URL)
    try:
        assert e.export([object()]) == 1  # not a Span: FAILURE, last_error set
        st = e.stats()
    finally:
        e.shutdown(0)
    assert isinstance(st["last_error"], str) and st["last_error"]
    assert not check_types(st, EXPORTER_NULLABLE)


def test_worker_stats_shape() -> None:
    w = native.Worker(7)
    try:
        st = w.stats()
        assert set(st) == WORKER_KEYS, set(st) ^ WORKER_KEYS
        assert not check_types(st, {"last_error": str})
        assert st["capacity"] == 7 and st["last_error"] is None
        w.submit(lambda: 1 / 0)
        assert w.flush(10.0)
        st = w.stats()
        assert isinstance(st["last_error"], str) and "ZeroDivisionError" in st["last_error"]
        assert not check_types(st, {"last_error": str})
    finally:
        w.shutdown(5.0)


def test_span_counters_shape() -> None:
    c = native.span_counters()
    assert set(c) == SPAN_COUNTER_KEYS, set(c) ^ SPAN_COUNTER_KEYS
    assert all(type(v) is int and v >= 0 for v in c.values()), c


def test_runtime_info_shape() -> None:
    info = native.runtime_info()
    types_ = {
        "fork_generation": int,
        "exporters": int,
        "workers": int,
        "exiting": int,
        "curl_version": str,
        "zlib_version": str,
        "version": str,
    }
    assert set(info) == set(types_), set(info) ^ set(types_)
    for k, t in types_.items():
        assert type(info[k]) is t, (k, info[k])
    assert info["version"] == native.__version__ == judgeval_fast.__version__
    assert info["exiting"] == 0
    assert info["zlib_version"] if native.HAVE_ZLIB else True


def test_configure_returns_the_limits() -> None:
    before = native.configure()
    assert set(before) == {"max_attribute_bytes", "max_attributes", "max_events", "exit_timeout"}
    for k in ("max_attribute_bytes", "max_attributes", "max_events"):
        assert type(before[k]) is int and before[k] > 0
    assert type(before["exit_timeout"]) is float
    try:
        after = native.configure(max_events=before["max_events"] + 1)
        assert after == {**before, "max_events": before["max_events"] + 1}
    finally:
        assert native.configure(**before) == before


def test_tuple_stats_shapes() -> None:
    q = native.SpanQueue(3, 1000)
    qs = q.stats()
    assert isinstance(qs, tuple) and len(qs) == 9 and all(type(v) is int for v in qs)
    assert (qs[-2], qs[-1]) == (3, 1000)
    s = native.Store(5, 2.5)
    ss = s.stats()
    assert isinstance(ss, tuple) and len(ss) == 7
    assert [type(v) for v in ss] == [int, int, float, int, int, int, int]
    assert (ss[1], ss[2]) == (5, 2.5)


def test_constants() -> None:
    assert isinstance(native.__version__, str)
    for name in ("HAVE_ZLIB", "DEBUG_BUILD", "ITEM_OVERHEAD"):
        assert type(getattr(native, name)) is int, name
    assert native.HAVE_ZLIB in (0, 1) and native.DEBUG_BUILD in (0, 1)
    assert native.ITEM_OVERHEAD > 0


def test_health_keys() -> None:
    e = judgeval_fast.get_exporter(DEAD_URL, {"X-Contract": "1"})
    try:
        h = health_module.health()
        assert set(h) == {"spans", "exporters", "worker", "control_worker", "runtime"}
        assert h["spans"].keys() == SPAN_COUNTER_KEYS
        assert h["runtime"].keys() == native.runtime_info().keys()
        assert h["worker"] is None or h["worker"].keys() == WORKER_KEYS
        assert h["control_worker"] is None or h["control_worker"].keys() == WORKER_KEYS
        mine = [x for x in h["exporters"] if x["endpoint"] == DEAD_URL]
        assert mine, h["exporters"]
        for x in mine:
            assert {"endpoint", "queue_utilization", "spans_lost"} | EXPORTER_REQUIRED <= set(x)
            assert isinstance(x["queue_utilization"], float) and x["spans_lost"] == 0
    finally:
        e.shutdown(0)


def test_shared_exporters_follow_their_config_and_every_exporter_is_in_health() -> None:
    small = judgeval_fast.ExporterConfig(max_queue_size=64, max_batch_size=64)
    a = judgeval_fast.get_exporter(DEAD_URL, {"X-Contract": "2"}, config=small)
    b = judgeval_fast.get_exporter(DEAD_URL, {"X-Contract": "2"}, config=small)
    c = judgeval_fast.get_exporter(DEAD_URL, {"X-Contract": "2"})
    private = exporter_module.create_exporter(DEAD_URL, {"X-Contract": "private"})
    try:
        assert a is b and a is not c  # other bounds, another exporter (not silently ignored)
        assert a.stats()["queue_capacity"] == 64 != c.stats()["queue_capacity"]
        listed = {id(e) for e in exporter_module.live_exporters()}
        assert {id(a), id(c), id(private)} <= listed  # unshared ones are reported too
        capacities = sorted(
            x["queue_capacity"]
            for x in health_module.health()["exporters"]
            if x["endpoint"] == DEAD_URL
        )
        assert 64 in capacities and len(capacities) >= 3
    finally:
        for e in (a, c, private):
            e.shutdown(0)


# ---------------------------------------------------------------------------------------
# package surface
# ---------------------------------------------------------------------------------------


def test_package_all_is_importable() -> None:
    missing = [n for n in judgeval_fast.__all__ if not hasattr(judgeval_fast, n)]
    assert not missing, missing
    assert len(set(judgeval_fast.__all__)) == len(judgeval_fast.__all__)
    assert sorted(judgeval_fast.__all__) == list(judgeval_fast.__all__)
    assert set(judgeval_fast.__all__) <= set(dir(judgeval_fast))
    with pytest.raises(AttributeError):
        _ = judgeval_fast.no_such_name


def test_package_all_star_import_in_a_fresh_interpreter() -> None:
    """The lazy (PEP 562) attributes must also resolve for `from judgeval_fast import *`."""
    code = (
        "import judgeval_fast\n"
        "ns = {}\n"
        "exec('from judgeval_fast import *', ns)\n"
        "missing = [n for n in judgeval_fast.__all__ if n not in ns]\n"
        "assert not missing, missing\n"
        "print(len(judgeval_fast.__all__))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout) == len(judgeval_fast.__all__)


def test_package_names_do_not_depend_on_import_order() -> None:
    """Each name of __all__ must be the same object whether or not the submodules were
    imported first. A submodule named like an exported function would rebind the package
    attribute on import (this caught `health`, once both a function and a submodule)."""
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(judgeval_fast.__path__)}
    assert not submodules & set(judgeval_fast.__all__), submodules & set(judgeval_fast.__all__)
    code = (
        "import importlib, judgeval_fast\n"
        "lazy = {n: getattr(judgeval_fast, n) for n in judgeval_fast.__all__}\n"
        "import judgeval_fast.config, judgeval_fast.exporter, judgeval_fast.metrics\n"
        "import judgeval_fast.span, judgeval_fast.worker\n"
        "first = {}\n"
        "for n in judgeval_fast.__all__:\n"
        "    where = judgeval_fast._WHERE[n]\n"
        "    first[n] = getattr(importlib.import_module(where), n)\n"
        "bad = [n for n in judgeval_fast.__all__ if lazy[n] is not first[n]]\n"
        "assert not bad, bad\n"
    )
    order = (
        "import judgeval_fast.metrics\n"  # the submodule first, then the package's names
        "import judgeval_fast\n"
        "ns = {}\n"
        "exec('from judgeval_fast import *', ns)\n"
        "from judgeval_fast.metrics import health as fn\n"
        "bad = [n for n in ('health',) if ns[n] is not fn]\n"
        "assert not bad, f'health is {ns[\"health\"]!r}, not the function'\n"
    )
    for snippet in (code, order):
        r = subprocess.run(
            [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0, r.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------------------------------
# stable ABI
# ---------------------------------------------------------------------------------------

# Underscore symbols that ARE part of the stable ABI (Misc/stable_abi.toml, abi_only): the
# limited-API macros expand to them (Py_None -> _Py_NoneStruct, Py_DECREF -> _Py_Dealloc,
# PY_SSIZE_T_CLEAN PyArg_ParseTuple -> _PyArg_ParseTuple_SizeT, ...).
STABLE_ABI_PRIVATE = {
    "_PyArg_Parse_SizeT",
    "_PyArg_ParseTuple_SizeT",
    "_PyArg_ParseTupleAndKeywords_SizeT",
    "_PyArg_VaParse_SizeT",
    "_PyArg_VaParseTupleAndKeywords_SizeT",
    "_PyErr_BadInternalCall",
    "_PyObject_CallFunction_SizeT",
    "_PyObject_CallMethod_SizeT",
    "_PyObject_GC_New",
    "_PyObject_GC_NewVar",
    "_PyObject_GC_Resize",
    "_PyObject_New",
    "_PyObject_NewVar",
    "_PyState_AddModule",
    "_PyThreadState_Init",
    "_PyThreadState_Prealloc",
    "_PyWeakref_CallableProxyType",
    "_PyWeakref_ProxyType",
    "_PyWeakref_RefType",
    "_Py_BuildValue_SizeT",
    "_Py_CheckRecursiveCall",
    "_Py_Dealloc",
    "_Py_EllipsisObject",
    "_Py_FalseStruct",
    "_Py_NoneStruct",
    "_Py_NotImplementedStruct",
    "_Py_SwappedOp",
    "_Py_TrueStruct",
    "_Py_VaBuildValue_SizeT",
    "_Py_IncRef",
    "_Py_DecRef",
    "_Py_RefTotal",
    "_Py_NegativeRefcount",
}


def test_extension_is_built_for_the_stable_abi() -> None:
    assert native.__file__.endswith(".abi3.so"), native.__file__


def undefined_py_symbols() -> list[str]:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm not installed")
    out = subprocess.run(
        [nm, "-D", "--undefined-only", native.__file__], check=True, capture_output=True, text=True
    ).stdout
    return sorted({line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()})


def test_no_private_cpython_symbols() -> None:
    used = [s for s in undefined_py_symbols() if s.startswith("_Py")]
    print("underscore CPython symbols referenced (all stable-ABI, abi_only):", used)
    private = [s for s in used if s not in STABLE_ABI_PRIVATE]
    assert not private, f"private CPython API referenced by the abi3 extension: {private}"


# ---------------------------------------------------------------------------------------
# type flags and object protocols
# ---------------------------------------------------------------------------------------


def c_type_specs() -> dict[str, str]:
    """Type name -> the .flags expression of its PyType_Spec in csrc/*.c."""
    specs = {}
    for path in sorted(CSRC.glob("*.c")):
        src = path.read_text(encoding="utf-8")
        for m in re.finditer(r"static PyType_Spec \w+ = \{(.*?)\};", src, re.S):
            body = m.group(1)
            name = re.search(r'\.name = "judgeval_fast\._native\.(\w+)"', body)
            flags = re.search(r"\.flags = ([^,]+),", body)
            if name and flags:
                specs[name.group(1)] = flags.group(1)
    return specs


SPECS = c_type_specs()


def make_instance(name: str) -> Any:
    return {
        "Span": lambda: native.Span("x"),
        "SpanContext": lambda: native.SpanContext(1, 2),
        "SpanQueue": lambda: native.SpanQueue(1, 100),
        "Store": lambda: native.Store(),
        "Exporter": lambda: native.Exporter(DEAD_URL),
        "Worker": lambda: native.Worker(1),
        "Frame": lambda: native.Frame(native.Span("x")),
        "TracerCore": _probe_core,
        "SpanScope": lambda: _probe_core().span("x"),
        "Observed": lambda: _probe_core().observe(len, "n", None, None, None, True),
        "GuardBase": lambda: native.GuardBase(),
    }[name]()


def test_every_heap_type_has_a_spec() -> None:
    assert set(SPECS) == {
        "Span",
        "SpanContext",
        "SpanQueue",
        "Store",
        "Exporter",
        "Worker",
        "Frame",
        "TracerCore",
        "SpanScope",
        "Observed",
        "GuardBase",
    }, SPECS


@pytest.mark.parametrize("name", sorted(SPECS))
def test_subclassing_follows_the_spec_flags(name: str) -> None:
    tp = getattr(native, name)
    if "Py_TPFLAGS_BASETYPE" in SPECS[name]:
        type("Sub", (tp,), {})
    else:
        with pytest.raises(TypeError):
            type("Sub", (tp,), {})


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gc_tracking_follows_the_spec_flags(name: str) -> None:
    obj = make_instance(name)
    try:
        assert gc.is_tracked(obj) == ("Py_TPFLAGS_HAVE_GC" in SPECS[name]), SPECS[name]
    finally:
        if hasattr(obj, "shutdown"):
            obj.shutdown(0)


def test_span_is_not_subclassable() -> None:
    with pytest.raises(TypeError):

        class MySpan(native.Span):  # type: ignore[misc]
            pass


def test_span_context_hash_and_equality() -> None:
    big = (0xABCDEF << 64) | 0x1234
    a = native.SpanContext(big, 7, is_remote=True, trace_flags=1)
    b = native.SpanContext(big, 7, True, 1)
    c = native.SpanContext(big, 8, True, 1)
    d = native.SpanContext(big, 7, False, 1)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != c and a != d and not (a == c)
    assert len({a, b, c, d}) == 3
    assert {a: 1}[b] == 1
    assert a != (big, 7) and (a == "x") is False
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError):
            compare(a, b)  # identities have no order
    span = native.Span("s", trace_id=big, span_id=7)
    assert span.get_span_context() == native.SpanContext(big, 7)
    assert span.context is span.get_span_context()  # cached
    assert hash(span.context) == hash(native.SpanContext(big, 7))


def test_span_context_is_immutable() -> None:
    c = native.SpanContext(1, 2)
    for attr in ("trace_id", "span_id", "trace_flags", "is_remote"):
        with pytest.raises(AttributeError):
            setattr(c, attr, 3)


def test_exporter_supports_weak_references() -> None:
    """judgeval_fast.exporter keeps exporters in a WeakValueDictionary."""
    e = native.Exporter(DEAD_URL)
    r = weakref.ref(e)
    assert r() is e
    del e
    gc.collect()
    assert r() is None
