/* module.c - judgeval_fast._native: module init, the runtime struct, fork and exit hooks.
 *
 * The module, written as Python:
 *
 *     Span, SpanContext, Event, Status          # span.c
 *     SpanQueue, ITEM_OVERHEAD                  # queue.c
 *     Store                                     # store.c
 *     Exporter                                  # exporter.c
 *     Worker                                    # worker.c
 *     def configure(*, max_attribute_bytes=None, max_attributes=None, max_events=None,
 *                   exit_timeout=None) -> dict: ...
 *     def span_counters() -> dict[str, int]: ...
 *     def runtime_info() -> dict: ...
 *     def flush_all(timeout: float = 5.0) -> bool: ...
 *     def _after_fork_child() -> None: ...     # registered with os.register_at_fork
 *     def _atexit() -> None: ...               # registered with atexit
 *
 * Lifecycle (DESIGN 5)
 *   - Threads start lazily, on the first span or call queued.
 *   - fork: pthread_atfork locks every queue in prepare (so the child inherits them
 *     consistent), unlocks in the parent, and in the child re-creates the locks, forgets
 *     the (non-existent) threads and moves queued records aside; os.register_at_fork's
 *     after_in_child then releases those records with the GIL. The id generator is
 *     reseeded in the child, so parent and child never share an id sequence.
 *   - exit: one flush of every exporter and worker bounded by exit_timeout (default 5 s),
 *     then `exiting` is set (threads never take the GIL again) and every transfer is
 *     aborted, so a black-holed backend cannot hold the process beyond that bound.
 */
#include "module.h"

#include "exporter.h"
#include "queue.h"
#include "span.h"
#include "store.h"
#include "worker.h"
#include "tracing.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#ifdef JF_HAVE_ZLIB
#include <zlib.h>
#endif

#ifndef JF_VERSION
#define JF_VERSION "0.0.0"
#endif

jf_runtime jf_rt = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cfg = {.max_attribute_bytes = 1 << 20, .max_attributes = 128, .max_events = 128, .exit_timeout = 5.0},
};

/* ======================================================================== */
/* Runtime core                                                              */
/* ======================================================================== */

void jf_runtime_add_exporter(jf_exporter *e) {
    pthread_mutex_lock(&jf_rt.mu);
    e->prev = NULL;
    e->next = jf_rt.exporters;
    if (jf_rt.exporters) jf_rt.exporters->prev = e;
    jf_rt.exporters = e;
    pthread_mutex_unlock(&jf_rt.mu);
}

void jf_runtime_remove_exporter(jf_exporter *e) {
    pthread_mutex_lock(&jf_rt.mu);
    if (e->prev) e->prev->next = e->next; else if (jf_rt.exporters == e) jf_rt.exporters = e->next;
    if (e->next) e->next->prev = e->prev;
    e->next = e->prev = NULL;
    pthread_mutex_unlock(&jf_rt.mu);
}

void jf_runtime_add_worker(jf_worker *w) {
    pthread_mutex_lock(&jf_rt.mu);
    w->prev = NULL;
    w->next = jf_rt.workers;
    if (jf_rt.workers) jf_rt.workers->prev = w;
    jf_rt.workers = w;
    pthread_mutex_unlock(&jf_rt.mu);
}

void jf_runtime_remove_worker(jf_worker *w) {
    pthread_mutex_lock(&jf_rt.mu);
    if (w->prev) w->prev->next = w->next; else if (jf_rt.workers == w) jf_rt.workers = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = NULL;
    pthread_mutex_unlock(&jf_rt.mu);
}

/* ---- id generator: xoshiro256** (GIL) ------------------------------------ */

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t jf_rng_next(void) {
    uint64_t *s = jf_rt.rng;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Seeds from the OS (getrandom), mixing in pid and clocks so that even a failed
 * getrandom in a fork child cannot repeat the parent's sequence. Async-signal-safe
 * enough for an atfork child handler (one syscall, no allocation). */
static void rng_seed(void) {
    uint64_t seed[4] = {0, 0, 0, 0};
    ssize_t got = getrandom(seed, sizeof seed, GRND_NONBLOCK);
    (void)got;
    uint64_t mix = (uint64_t)getpid() ^ ((uint64_t)jf_now_mono_ns() << 17) ^ (uint64_t)jf_now_unix_ns();
    for (int i = 0; i < 4; i++) {
        uint64_t sm = mix + (uint64_t)i;
        jf_rt.rng[i] = seed[i] ^ jf_splitmix64(&sm);
    }
    if (!(jf_rt.rng[0] | jf_rt.rng[1] | jf_rt.rng[2] | jf_rt.rng[3])) jf_rt.rng[0] = 1;
}

/* ---- background threads --------------------------------------------------- */

int jf_thread_spawn(void *(*fn)(void *), void *arg) {
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int rc = pthread_attr_init(&attr);
    if (rc) return rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&tid, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

int jf_gil_take(PyThreadState **ts) {
    if (atomic_load(&jf_rt.exiting)) return -1;
    if (!*ts) {
        (void)PyGILState_Ensure();  /* always UNLOCKED: this native thread had no Python state */
        *ts = PyThreadState_Get();
    } else {
        PyEval_RestoreThread(*ts);
    }
    return 0;
}

void jf_gil_drop(void) { (void)PyEval_SaveThread(); }

void jf_gil_retire(PyThreadState **ts) {
    if (!*ts) return;
    if (!atomic_load(&jf_rt.exiting)) {
        PyEval_RestoreThread(*ts);
        PyGILState_Release(PyGILState_UNLOCKED);  /* counter reaches 0: the state is deleted */
    }
    *ts = NULL;
}

/* ---- fork ----------------------------------------------------------------- */

static void atfork_prepare(void) {
    pthread_mutex_lock(&jf_rt.mu);
    for (jf_exporter *e = jf_rt.exporters; e; e = e->next) jf_exporter_atfork_prepare(e);
    for (jf_worker *w = jf_rt.workers; w; w = w->next) jf_worker_atfork_prepare(w);
}

static void atfork_parent(void) {
    for (jf_worker *w = jf_rt.workers; w; w = w->next) jf_worker_atfork_parent(w);
    for (jf_exporter *e = jf_rt.exporters; e; e = e->next) jf_exporter_atfork_parent(e);
    pthread_mutex_unlock(&jf_rt.mu);
}

static void atfork_child(void) {
    for (jf_exporter *e = jf_rt.exporters; e; e = e->next) jf_exporter_atfork_child(e);
    for (jf_worker *w = jf_rt.workers; w; w = w->next) jf_worker_atfork_child(w);
    rng_seed();
    jf_rt.fork_generation++;
    memset(&jf_rt.ctr, 0, sizeof jf_rt.ctr);
    pthread_mutex_unlock(&jf_rt.mu);
    pthread_mutex_init(&jf_rt.mu, NULL);
}

/* ======================================================================== */
/* Python glue: helpers shared by the types                                  */
/* ======================================================================== */

int jf_parse_timeout(PyObject *o, double dflt, double *out) {
    if (!o || o == Py_None) {
        *out = dflt;
        return 0;
    }
    double t = PyFloat_AsDouble(o);
    if (t == -1.0 && PyErr_Occurred()) return -1;
    if (t != t) {
        PyErr_SetString(PyExc_ValueError, "timeout must be a number of seconds");
        return -1;
    }
    *out = t < 0 ? 0 : t;
    return 0;
}

int jf_seconds_arg(double v, const char *name, int64_t *out, int allow_zero) {
    if (!(v >= 0.0) || v > 1e7 || (!allow_zero && v == 0.0)) {
        PyErr_Format(PyExc_ValueError, "%s must be %s seconds", name, allow_zero ? ">= 0" : "> 0");
        return -1;
    }
    *out = (int64_t)(v * 1e9);
    return 0;
}

int jf_dict_put_u64(PyObject *d, const char *k, uint64_t v) {
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    int rc = o ? PyDict_SetItemString(d, k, o) : -1;
    Py_XDECREF(o);
    return rc;
}

/* ======================================================================== */
/* Python glue: module functions                                             */
/* ======================================================================== */

/* Snapshot of the live exporters and workers, each with a reference. GIL held.
 * Returns 0 or -1 with MemoryError. */
typedef struct {
    jf_exporter **ex;
    size_t nex;
    jf_worker **wk;
    size_t nwk;
} snapshot;

static int snapshot_take(snapshot *s) {
    size_t ne = 0, nw = 0;
    memset(s, 0, sizeof *s);
    pthread_mutex_lock(&jf_rt.mu);
    for (jf_exporter *e = jf_rt.exporters; e; e = e->next) ne++;
    for (jf_worker *w = jf_rt.workers; w; w = w->next) nw++;
    pthread_mutex_unlock(&jf_rt.mu);
    /* Allocated outside jf_rt.mu (common.h rule); entries added meanwhile are skipped. */
    s->ex = jf_calloc(ne + 1, sizeof *s->ex);
    s->wk = jf_calloc(nw + 1, sizeof *s->wk);
    if (!s->ex || !s->wk) {
        jf_free(s->ex);
        jf_free(s->wk);
        PyErr_NoMemory();
        return -1;
    }
    pthread_mutex_lock(&jf_rt.mu);
    for (jf_exporter *e = jf_rt.exporters; e && s->nex < ne; e = e->next) {
        /* An exporter whose last reference is being dropped is on its way out: skip it. */
        long r = atomic_load(&e->refs);
        while (r > 0 && !atomic_compare_exchange_weak(&e->refs, &r, r + 1)) {}
        if (r > 0) s->ex[s->nex++] = e;
    }
    for (jf_worker *w = jf_rt.workers; w && s->nwk < nw; w = w->next) {
        long r = atomic_load(&w->refs);
        while (r > 0 && !atomic_compare_exchange_weak(&w->refs, &r, r + 1)) {}
        if (r > 0) s->wk[s->nwk++] = w;
    }
    pthread_mutex_unlock(&jf_rt.mu);
    return 0;
}

static void snapshot_release(snapshot *s) {
    for (size_t i = 0; i < s->nex; i++) jf_exporter_decref(s->ex[i]);
    for (size_t i = 0; i < s->nwk; i++) jf_worker_decref(s->wk[i]);
    jf_free(s->ex);
    jf_free(s->wk);
}

/* Flushes everything until deadline (GIL released while waiting). Returns 1 if all done. */
static int flush_snapshot(snapshot *s, int64_t deadline) {
    uint64_t *te = jf_calloc(s->nex + 1, sizeof *te), *tw = jf_calloc(s->nwk + 1, sizeof *tw);
    int all = 1;
    if (!te || !tw) {
        jf_free(te);
        jf_free(tw);
        return 0;
    }
    for (size_t i = 0; i < s->nex; i++) te[i] = jf_exporter_flush_begin(s->ex[i]);
    for (size_t i = 0; i < s->nwk; i++) tw[i] = jf_worker_flush_begin(s->wk[i]);
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < s->nex; i++) all &= jf_exporter_flush_wait(s->ex[i], te[i], deadline);
    for (size_t i = 0; i < s->nwk; i++) all &= jf_worker_flush_wait(s->wk[i], tw[i], deadline);
    Py_END_ALLOW_THREADS
    jf_free(te);
    jf_free(tw);
    return all;
}

static PyObject *rt_flush_all(PyObject *m, PyObject *args, PyObject *kwds) {
    (void)m;
    static char *kwlist[] = {"timeout", NULL};
    double timeout = 5.0;
    snapshot s;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|d:flush_all", kwlist, &timeout)) return NULL;
    if (snapshot_take(&s) < 0) return NULL;
    int done = flush_snapshot(&s, jf_deadline_after(timeout));
    snapshot_release(&s);
    return PyBool_FromLong(done);
}

static PyObject *rt_atexit(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    snapshot s;
    if (atomic_load(&jf_rt.exiting)) Py_RETURN_NONE;
    int64_t deadline = jf_deadline_after(jf_rt.cfg.exit_timeout);
    if (snapshot_take(&s) < 0) {
        PyErr_Clear();
        atomic_store(&jf_rt.exiting, 1);
        Py_RETURN_NONE;
    }
    (void)flush_snapshot(&s, deadline);
    atomic_store(&jf_rt.exiting, 1);
    for (size_t i = 0; i < s.nex; i++) jf_exporter_abort(s.ex[i]);
    for (size_t i = 0; i < s.nwk; i++) jf_worker_abort(s.wk[i]);
    /* Give aborted transfers a moment (one poll slice) to unwind, so no exporter thread is
     * inside libcurl/OpenSSL while the C runtime's exit handlers tear them down. */
    Py_BEGIN_ALLOW_THREADS
    int64_t until = jf_now_mono_ns() + 4 * JF_HTTP_POLL_MS * JF_NS_PER_MS;
    for (;;) {
        int alive = 0;
        for (size_t i = 0; i < s.nex; i++) alive |= atomic_load(&s.ex[i]->thread_alive);
        if (!alive || jf_now_mono_ns() >= until) break;
        struct timespec ts = {0, 2 * JF_NS_PER_MS};
        nanosleep(&ts, NULL);
    }
    Py_END_ALLOW_THREADS
    snapshot_release(&s);
    Py_RETURN_NONE;
}

static PyObject *rt_after_fork_child(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    snapshot s;
    if (snapshot_take(&s) < 0) return NULL;
    for (size_t i = 0; i < s.nex; i++) jf_exporter_release_orphans(s.ex[i]);
    for (size_t i = 0; i < s.nwk; i++) jf_worker_release_orphans(s.wk[i]);
    snapshot_release(&s);
    Py_RETURN_NONE;
}

static int set_size(PyObject *v, size_t *out, const char *name) {
    if (!v || v == Py_None) return 0;
    Py_ssize_t n = PyLong_AsSsize_t(v);
    if (n == -1 && PyErr_Occurred()) return -1;
    if (n <= 0) {
        PyErr_Format(PyExc_ValueError, "%s must be > 0", name);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static PyObject *config_dict(void) {
    return Py_BuildValue("{s:n,s:n,s:n,s:d}", "max_attribute_bytes", (Py_ssize_t)jf_rt.cfg.max_attribute_bytes,
                         "max_attributes", (Py_ssize_t)jf_rt.cfg.max_attributes, "max_events",
                         (Py_ssize_t)jf_rt.cfg.max_events, "exit_timeout", jf_rt.cfg.exit_timeout);
}

static PyObject *rt_configure(PyObject *m, PyObject *args, PyObject *kwds) {
    (void)m;
    static char *kwlist[] = {"max_attribute_bytes", "max_attributes", "max_events", "exit_timeout", NULL};
    PyObject *mab = NULL, *ma = NULL, *me = NULL, *et = NULL;
    jf_config c = jf_rt.cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOO:configure", kwlist, &mab, &ma, &me, &et)) return NULL;
    if (set_size(mab, &c.max_attribute_bytes, "max_attribute_bytes") < 0 ||
        set_size(ma, &c.max_attributes, "max_attributes") < 0 || set_size(me, &c.max_events, "max_events") < 0)
        return NULL;
    if (et && et != Py_None) {
        double t = PyFloat_AsDouble(et);
        if (t == -1.0 && PyErr_Occurred()) return NULL;
        if (!(t >= 0.0) || t > 1e6) {
            PyErr_SetString(PyExc_ValueError, "exit_timeout must be >= 0 seconds");
            return NULL;
        }
        c.exit_timeout = t;
    }
    jf_rt.cfg = c;
    return config_dict();
}

static PyObject *rt_span_counters(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    const jf_span_counters *c = &jf_rt.ctr;
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "spans_started",
                         (unsigned long long)c->spans_started, "spans_ended", (unsigned long long)c->spans_ended,
                         "spans_end_ignored", (unsigned long long)c->spans_end_ignored, "spans_unexported",
                         (unsigned long long)c->spans_unexported, "attributes_truncated",
                         (unsigned long long)c->attrs_truncated, "attributes_converted",
                         (unsigned long long)c->attrs_converted, "attributes_dropped",
                         (unsigned long long)c->attrs_dropped, "keys_converted", (unsigned long long)c->keys_converted,
                         "events_dropped", (unsigned long long)c->events_dropped, "encode_failures",
                         (unsigned long long)c->encode_failures);
}

static PyObject *rt_info(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    size_t ne = 0, nw = 0;
    pthread_mutex_lock(&jf_rt.mu);
    for (jf_exporter *e = jf_rt.exporters; e; e = e->next) ne++;
    for (jf_worker *w = jf_rt.workers; w; w = w->next) nw++;
    pthread_mutex_unlock(&jf_rt.mu);
    const char *zv =
#ifdef JF_HAVE_ZLIB
        zlibVersion();
#else
        "";
#endif
    return Py_BuildValue("{s:K,s:n,s:n,s:i,s:s,s:s,s:s}", "fork_generation",
                         (unsigned long long)jf_rt.fork_generation, "exporters", (Py_ssize_t)ne, "workers",
                         (Py_ssize_t)nw, "exiting", atomic_load(&jf_rt.exiting), "curl_version", curl_version(),
                         "zlib_version", zv, "version", JF_VERSION);
}

static PyMethodDef module_methods[] = {
    /* ---- runtime ---- */
    {"configure", (PyCFunction)(void (*)(void))rt_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, max_attribute_bytes=None, max_attributes=None, max_events=None, exit_timeout=None)\n--\n\n"
     "Set the span-path limits (None keeps a value); return them as a dict."},
    {"span_counters", rt_span_counters, METH_NOARGS, "span_counters()\n--\n\nCounters of the span path, as a dict."},
    {"runtime_info", rt_info, METH_NOARGS, "runtime_info()\n--\n\nVersions, live exporters and workers, fork generation."},
    {"flush_all", (PyCFunction)(void (*)(void))rt_flush_all, METH_VARARGS | METH_KEYWORDS,
     "flush_all(timeout=5.0)\n--\n\nFlush every exporter and worker until one shared deadline."},
    /* ---- encoding ---- */
    {"encode_request", jf_py_encode_request, METH_VARARGS,
     "encode_request(resource, scope_name, scope_version, spans, /)\n--\n\n"
     "Frame encoded Span messages into an ExportTraceServiceRequest, as the exporter does."},
    /* ---- lifecycle hooks ---- */
    {"_after_fork_child", rt_after_fork_child, METH_NOARGS, "_after_fork_child()\n--\n\nos.register_at_fork(after_in_child=...) hook."},
    {"_atexit", rt_atexit, METH_NOARGS, "_atexit()\n--\n\natexit hook: one bounded flush, then stop everything."},
    {NULL, NULL, 0, NULL},
};

/* ======================================================================== */
/* Module definition                                                         */
/* ======================================================================== */

/* Calls mod.attr(*args) for registration side effects. Returns 0 or -1 with exception. */
static int call_hook(const char *mod, const char *attr, PyObject *args, PyObject *kwargs) {
    PyObject *m = PyImport_ImportModule(mod), *f = NULL, *r = NULL;
    if (m) f = PyObject_GetAttrString(m, attr);
    if (f) r = PyObject_Call(f, args, kwargs);
    Py_XDECREF(m);
    Py_XDECREF(f);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

static int module_exec(PyObject *m) {
    if (!jf_rt.initialised) {
        /* Process-wide, once: libcurl's global state, the fork handlers, the first seed. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            PyErr_SetString(PyExc_ImportError, "judgeval_fast: curl_global_init failed");
            return -1;
        }
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) {
            PyErr_SetString(PyExc_ImportError, "judgeval_fast: pthread_atfork failed");
            return -1;
        }
        rng_seed();
        jf_rt.initialised = 1;
    }
    if (jf_span_add_types(m) < 0 || jf_queue_add_type(m) < 0 || jf_store_add_type(m) < 0 ||
        jf_exporter_add_type(m) < 0 || jf_worker_add_type(m) < 0 || jf_tracing_add_types(m) < 0)
        return -1;
    if (PyModule_AddStringConstant(m, "__version__", JF_VERSION) < 0) return -1;
#ifdef JF_HAVE_ZLIB
    if (PyModule_AddIntConstant(m, "HAVE_ZLIB", 1) < 0) return -1;
#else
    if (PyModule_AddIntConstant(m, "HAVE_ZLIB", 0) < 0) return -1;
#endif
#ifndef NDEBUG
    if (PyModule_AddIntConstant(m, "DEBUG_BUILD", 1) < 0) return -1;
#else
    if (PyModule_AddIntConstant(m, "DEBUG_BUILD", 0) < 0) return -1;
#endif
    /* Lifecycle hooks through Python's own machinery: os.register_at_fork runs after
     * CPython has re-initialised itself in the child, atexit before finalisation. */
    PyObject *after = PyObject_GetAttrString(m, "_after_fork_child");
    PyObject *atexit_fn = PyObject_GetAttrString(m, "_atexit");
    PyObject *empty = PyTuple_New(0), *kw = NULL, *args = NULL;
    int rc = -1;
    if (!after || !atexit_fn || !empty) goto done;
    kw = Py_BuildValue("{s:O}", "after_in_child", after);
    if (!kw || call_hook("os", "register_at_fork", empty, kw) < 0) goto done;
    args = PyTuple_Pack(1, atexit_fn);
    if (!args || call_hook("atexit", "register", args, NULL) < 0) goto done;
    rc = 0;
done:
    Py_XDECREF(after);
    Py_XDECREF(atexit_fn);
    Py_XDECREF(empty);
    Py_XDECREF(kw);
    Py_XDECREF(args);
    return rc;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg) {
    jf_state *st = PyModule_GetState(m);
    if (!st) return 0;
    Py_VISIT(st->SpanType);
    Py_VISIT(st->SpanContextType);
    Py_VISIT(st->QueueType);
    Py_VISIT(st->StoreType);
    Py_VISIT(st->ExporterType);
    Py_VISIT(st->WorkerType);
    Py_VISIT(st->EventType);
    Py_VISIT(st->StatusType);
    Py_VISIT(st->format_exception);
    Py_VISIT(st->FrameType);
    Py_VISIT(st->TracerCoreType);
    Py_VISIT(st->SpanScopeType);
    Py_VISIT(st->ObservedType);
    Py_VISIT(st->GuardBaseType);
    Py_VISIT(st->key_input);
    Py_VISIT(st->key_output);
    Py_VISIT(st->key_span_kind);
    Py_VISIT(st->key_agent_id);
    Py_VISIT(st->key_parent_agent_id);
    Py_VISIT(st->key_agent_class_name);
    Py_VISIT(st->key_agent_instance_name);
    Py_VISIT(st->key_is_agent_entry_point);
    return 0;
}

static int module_clear(PyObject *m) {
    jf_state *st = PyModule_GetState(m);
    if (!st) return 0;
    Py_CLEAR(st->SpanType);
    Py_CLEAR(st->SpanContextType);
    Py_CLEAR(st->QueueType);
    Py_CLEAR(st->StoreType);
    Py_CLEAR(st->ExporterType);
    Py_CLEAR(st->WorkerType);
    Py_CLEAR(st->EventType);
    Py_CLEAR(st->StatusType);
    Py_CLEAR(st->format_exception);
    Py_CLEAR(st->FrameType);
    Py_CLEAR(st->TracerCoreType);
    Py_CLEAR(st->SpanScopeType);
    Py_CLEAR(st->ObservedType);
    Py_CLEAR(st->GuardBaseType);
    Py_CLEAR(st->key_input);
    Py_CLEAR(st->key_output);
    Py_CLEAR(st->key_span_kind);
    Py_CLEAR(st->key_agent_id);
    Py_CLEAR(st->key_parent_agent_id);
    Py_CLEAR(st->key_agent_class_name);
    Py_CLEAR(st->key_agent_instance_name);
    Py_CLEAR(st->key_is_agent_entry_point);
    return 0;
}

static void module_free(void *m) { (void)module_clear((PyObject *)m); }

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "judgeval_fast._native",
    .m_doc = "Native span pipeline of judgeval-fast: spans, queue, store, OTLP exporter, API worker.",
    .m_size = sizeof(jf_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&module_def); }
