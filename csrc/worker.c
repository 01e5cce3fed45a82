/* worker.c - background API-call worker (see worker.h).
 *
 * The Python type, written as Python:
 *
 *     class Worker:
 *         def __init__(self, max_pending: int = 1000, *, max_attempts: int = 5,
 *                      retry_initial: float = 0.5, retry_max: float = 8.0,
 *                      retry_deadline: float = 30.0,
 *                      classifier: Callable[[BaseException, int], float | None] | None = None) -> None: ...
 *         def submit(self, fn: Callable[[], object], owner: int = 0) -> int:
 *             "Queue fn; return how many oldest calls were dropped for room, or -1 if shut down."
 *         def flush(self, timeout: float = 5.0) -> bool: ...
 *         def cancel(self, owner: int) -> int: ...
 *         def shutdown(self, timeout: float = 5.0) -> bool: ...
 *         def stats(self) -> dict[str, int | str | None]: ...
 */
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>

/* ======================================================================== */
/* Core                                                                      */
/* ======================================================================== */

static void set_last_error(jf_worker *w, const char *fmt, ...) {
    char msg[sizeof w->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->q.mu);
    memcpy(w->last_error, msg, sizeof msg);
    pthread_mutex_unlock(&w->q.mu);
}

static int take_gil(jf_worker *w) {
    if (jf_gil_take(&w->tstate) < 0) return -1;
    JF_INC(w->gil_acquisitions);
    return 0;
}

/* Records str(exc) as the last error. GIL held. */
static void note_exception(jf_worker *w, PyObject *exc) {
    PyObject *s = exc ? PyObject_Str(exc) : NULL;
    PyErr_Clear();  /* each step may fail; none may run with an exception pending */
    PyObject *n = exc ? PyObject_GetAttrString((PyObject *)Py_TYPE(exc), "__name__") : NULL;
    PyErr_Clear();
    const char *msg = s ? PyUnicode_AsUTF8AndSize(s, NULL) : NULL;
    PyErr_Clear();
    const char *name = n && PyUnicode_Check(n) ? PyUnicode_AsUTF8AndSize(n, NULL) : NULL;
    set_last_error(w, "%s: %s", name ? name : "error", msg ? msg : "?");
    Py_XDECREF(s);
    Py_XDECREF(n);
    PyErr_Clear();
}

/* Asks the classifier what to do after `attempt` failed with exc. GIL held.
 * Returns a delay in ns (0 = back-off), or -1 to give up. The classifier is consulted
 * even on the last attempt, so that it sees (and can log) every final failure. */
static int64_t classify(jf_worker *w, PyObject *exc, int attempt) {
    if (!w->classifier) return -1;
    /* Our own reference for the call: the Worker object may drop its own meanwhile. */
    PyObject *classifier = Py_NewRef(w->classifier);
    PyObject *d = PyObject_CallFunction(classifier, "Oi", exc ? exc : Py_None, attempt);
    Py_DECREF(classifier);
    int64_t r = -1;
    if (d && d != Py_None) {
        double s = PyFloat_AsDouble(d);
        if (!(s == -1.0 && PyErr_Occurred()) && s >= 0 && s < 1e7) r = (int64_t)(s * 1e9);
    }
    Py_XDECREF(d);
    PyErr_Clear();
    return attempt >= w->max_attempts ? -1 : r;
}

/* Runs one queued call with its retries; frees the record. Worker thread, no GIL. */
static void run_call(jf_worker *w, jf_item *it) {
    PyObject *fn = (PyObject *)it->ref;
    int64_t give_up_at = jf_now_mono_ns() + w->retry_deadline_ns;
    if (take_gil(w) < 0) goto exiting;
    for (int attempt = 1;; attempt++) {
        PyObject *r = PyObject_CallNoArgs(fn);
        if (r) {
            Py_DECREF(r);
            JF_INC(w->succeeded);
            break;
        }
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        note_exception(w, v);
        int64_t hint = classify(w, v, attempt);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        if (hint < 0) {
            JF_INC(w->failed);
            break;
        }
        /* The classifier's delay (Retry-After) is a minimum; the back-off is the floor. */
        int64_t delay = jf_backoff_ns(&w->jitter, attempt - 1, w->retry_initial_ns, w->retry_max_ns);
        if (hint > delay) delay = hint;
        int64_t now = jf_now_mono_ns();
        if (now + delay > give_up_at) {
            JF_INC(w->failed);
            set_last_error(w, "gave up after %d attempts (retry deadline)", attempt);
            break;
        }
        JF_INC(w->retried);
        jf_gil_drop();
        int aborted = jf_queue_sleep(&w->q, now + delay);
        if (take_gil(w) < 0) goto exiting;
        if (aborted) {
            JF_INC(w->dropped_shutdown);
            break;
        }
    }
    Py_DECREF(fn);
    jf_gil_drop();
    jf_item_free(it);
    return;
exiting:
    /* The interpreter is exiting: the callable cannot be released without the GIL and
     * the process is about to end, so the record is counted and its reference left. */
    JF_INC(w->abandoned_exit);
    jf_item_free(it);
}

static void *worker_main(void *arg) {
    jf_worker *w = arg;
    for (;;) {
        jf_batch b;
        if (jf_queue_take(&w->q, &b) == JF_TAKE_STOPPED) break;  /* a batch is one call (lim.batch_items 1) */
        run_call(w, b.head);
        jf_queue_done(&w->q);
    }
    jf_gil_retire(&w->tstate);
    atomic_store(&w->thread_alive, 0);
    jf_queue_consumer_exit(&w->q);
    jf_worker_decref(w);
    return NULL;
}

static void start_thread(jf_worker *w) {
    if (atomic_load(&jf_rt.exiting)) {
        jf_queue_consumer_exit(&w->q);
        return;
    }
    atomic_fetch_add(&w->refs, 1);
    atomic_store(&w->thread_alive, 1);
    int rc = jf_thread_spawn(worker_main, w);
    if (rc != 0) {
        atomic_store(&w->thread_alive, 0);
        JF_INC(w->thread_start_failures);
        set_last_error(w, "cannot start the worker thread (error %d)", rc);
        jf_queue_consumer_exit(&w->q);
        jf_worker_decref(w);
        return;
    }
    JF_INC(w->thread_starts);
}

static void free_items(jf_item *it) {
    while (it) {
        jf_item *next = it->next;
        jf_item_free(it);
        it = next;
    }
}

void jf_worker_decref(jf_worker *w) {
    if (atomic_fetch_sub(&w->refs, 1) != 1) return;
    jf_item *rest;
    jf_runtime_remove_worker(w);
    jf_queue_fini(&w->q, &rest);
    free_items(rest);  /* callables were released by the Python object's dealloc */
    free_items(w->orphans.head);
    jf_free(w);
}

/* Releases records (DECREF callables, free). GIL held. */
static void release_items(jf_item *it) {
    while (it) {
        jf_item *next = it->next;
        PyObject *fn = (PyObject *)it->ref;
        jf_item_free(it);
        Py_XDECREF(fn);
        it = next;
    }
}

void jf_worker_atfork_prepare(jf_worker *w) { jf_queue_atfork_prepare(&w->q); }
void jf_worker_atfork_parent(jf_worker *w) { jf_queue_atfork_parent(&w->q); }

void jf_worker_atfork_child(jf_worker *w) {
    jf_batch orphans;
    jf_queue_atfork_child(&w->q, &orphans);
    jf_batch_append(&w->orphans, &orphans);
    w->tstate = NULL;
    if (atomic_load(&w->thread_alive) && atomic_load(&w->refs) > 1) atomic_fetch_sub(&w->refs, 1);
    atomic_store(&w->thread_alive, 0);
    atomic_store(&w->abort_now, 0);
    jf_counter *counters[] = {&w->succeeded, &w->failed, &w->retried, &w->cancelled, &w->dropped_shutdown,
                              &w->abandoned_exit, &w->gil_acquisitions, &w->thread_starts,
                              &w->thread_start_failures};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) JF_SET(*counters[i], 0);
    w->last_error[0] = '\0';
}

void jf_worker_release_orphans(jf_worker *w) {
    jf_item *list = w->orphans.head;
    w->orphans.head = w->orphans.tail = NULL;
    w->orphans.count = w->orphans.bytes = 0;
    release_items(list);
}

uint64_t jf_worker_flush_begin(jf_worker *w) {
    uint64_t target = jf_queue_flush_begin(&w->q);
    if (jf_queue_claim_consumer(&w->q)) start_thread(w);
    return target;
}

int jf_worker_flush_wait(jf_worker *w, uint64_t target, int64_t until_ns) {
    return jf_queue_flush_wait(&w->q, target, until_ns);
}

void jf_worker_abort(jf_worker *w) {
    atomic_store(&w->abort_now, 1);
    jf_queue_abort(&w->q);
}

/* ======================================================================== */
/* Python glue: Worker                                                       */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    jf_worker *w;  /* one reference */
} WorkerObject;

static int check_w(WorkerObject *self) {
    if (!self->w) {
        PyErr_SetString(PyExc_RuntimeError, "Worker.__init__ was not called");
        return -1;
    }
    return 0;
}

static int Worker_init(PyObject *op, PyObject *args, PyObject *kwds) {
    WorkerObject *self = (WorkerObject *)op;
    static char *kwlist[] = {"max_pending", "max_attempts", "retry_initial", "retry_max", "retry_deadline",
                             "classifier", NULL};
    Py_ssize_t max_pending = 1000;
    int max_attempts = 5;
    double r_init = 0.5, r_max = 8.0, r_deadline = 30.0;
    PyObject *classifier = Py_None;
    int64_t init_ns, max_ns, deadline_ns;
    if (self->w) {
        PyErr_SetString(PyExc_RuntimeError, "Worker is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n$idddO:Worker", kwlist, &max_pending, &max_attempts, &r_init,
                                     &r_max, &r_deadline, &classifier))
        return -1;
    if (max_pending <= 0) { PyErr_SetString(PyExc_ValueError, "max_pending must be > 0"); return -1; }
    if (max_attempts < 1) { PyErr_SetString(PyExc_ValueError, "max_attempts must be >= 1"); return -1; }
    if (jf_seconds_arg(r_init, "retry_initial", &init_ns, 0) < 0 || jf_seconds_arg(r_max, "retry_max", &max_ns, 0) < 0 ||
        jf_seconds_arg(r_deadline, "retry_deadline", &deadline_ns, 0) < 0)
        return -1;
    if (classifier != Py_None && !PyCallable_Check(classifier)) {
        PyErr_SetString(PyExc_TypeError, "classifier must be callable or None");
        return -1;
    }
    jf_worker *w = jf_calloc(1, sizeof *w);
    if (!w) {
        PyErr_NoMemory();
        return -1;
    }
    /* One call at a time: a "batch" is one record, due as soon as it is queued. */
    jf_queue_limits lim = {(size_t)max_pending, SIZE_MAX, 1, SIZE_MAX, 0};
    if (jf_queue_init(&w->q, &lim) < 0) {
        jf_free(w);
        PyErr_SetString(PyExc_OSError, "pthread initialisation failed");
        return -1;
    }
    atomic_init(&w->refs, 1);
    w->max_attempts = max_attempts;
    w->retry_initial_ns = init_ns;
    w->retry_max_ns = max_ns;
    w->retry_deadline_ns = deadline_ns;
    w->jitter = jf_rng_next();
    if (classifier != Py_None) w->classifier = Py_NewRef(classifier);
    jf_runtime_add_worker(w);
    self->w = w;
    return 0;
}

static int Worker_traverse(PyObject *op, visitproc visit, void *arg) {
    WorkerObject *self = (WorkerObject *)op;
    Py_VISIT(Py_TYPE(op));
    if (self->w) Py_VISIT(self->w->classifier);
    return 0;
}

static int Worker_clear_refs(PyObject *op) {
    WorkerObject *self = (WorkerObject *)op;
    if (self->w) Py_CLEAR(self->w->classifier);
    return 0;
}

static void Worker_dealloc(PyObject *op) {
    WorkerObject *self = (WorkerObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->w) {
        jf_worker *w = self->w;
        jf_batch rest;
        self->w = NULL;
        /* Pending callables need the GIL to be released: they are cancelled here. */
        jf_queue_stop(&w->q);
        jf_queue_drain(&w->q, &rest);
        JF_ADD(w->cancelled, rest.count);
        Py_CLEAR(w->classifier);
        release_items(rest.head);
        jf_worker_decref(w);
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static PyObject *Worker_submit(PyObject *op, PyObject *args, PyObject *kwds) {
    WorkerObject *self = (WorkerObject *)op;
    static char *kwlist[] = {"fn", "owner", NULL};
    PyObject *fn, *owner_obj = NULL;
    unsigned long long owner = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:submit", kwlist, &fn, &owner_obj)) return NULL;
    if (owner_obj && (owner = PyLong_AsUnsignedLongLong(owner_obj)) == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (check_w(self) < 0) return NULL;
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "fn must be callable");
        return NULL;
    }
    jf_item *it = jf_item_new(0), *dropped;
    int start;
    if (!it) return PyErr_NoMemory();
    it->ref = Py_NewRef(fn);
    it->owner = owner;
    int rc = jf_queue_push(&self->w->q, it, jf_now_mono_ns(), &dropped, &start);
    if (rc != JF_PUSH_OK) {
        release_items(it);
        return PyLong_FromLong(-1);
    }
    if (start) start_thread(self->w);
    long n = 0;
    for (jf_item *d = dropped; d; d = d->next) n++;
    release_items(dropped);
    return PyLong_FromLong(n);
}

static int match_owner(const jf_item *it, void *arg) { return it->owner == *(const uint64_t *)arg; }

static PyObject *Worker_cancel(PyObject *op, PyObject *arg) {
    WorkerObject *self = (WorkerObject *)op;
    unsigned long long v = PyLong_AsUnsignedLongLong(arg);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    if (check_w(self) < 0) return NULL;
    uint64_t owner = v;
    jf_batch b;
    jf_queue_remove_matching(&self->w->q, match_owner, &owner, &b);
    JF_ADD(self->w->cancelled, b.count);
    release_items(b.head);
    return PyLong_FromSize_t(b.count);
}

static void restart_thread(void *arg) { start_thread((jf_worker *)arg); }

static int wait_flushed(jf_worker *w, uint64_t target, int64_t deadline) {
    return jf_queue_wait_flushed(&w->q, target, deadline, &w->thread_alive, restart_thread, w);
}

static PyObject *Worker_flush(PyObject *op, PyObject *args, PyObject *kwds) {
    WorkerObject *self = (WorkerObject *)op;
    static char *kwlist[] = {"timeout", NULL};
    PyObject *to = Py_None;
    double timeout;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:flush", kwlist, &to)) return NULL;
    if (check_w(self) < 0 || jf_parse_timeout(to, 5.0, &timeout) < 0) return NULL;
    int64_t deadline = jf_deadline_after(timeout);
    int done = wait_flushed(self->w, jf_worker_flush_begin(self->w), deadline);
    if (done < 0) return NULL;
    return PyBool_FromLong(done);
}

static PyObject *Worker_shutdown(PyObject *op, PyObject *args, PyObject *kwds) {
    WorkerObject *self = (WorkerObject *)op;
    static char *kwlist[] = {"timeout", NULL};
    PyObject *to = Py_None;
    double timeout;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:shutdown", kwlist, &to)) return NULL;
    if (check_w(self) < 0 || jf_parse_timeout(to, 5.0, &timeout) < 0) return NULL;
    jf_worker *w = self->w;
    if (w->shut_down) Py_RETURN_TRUE;
    w->shut_down = 1;
    int64_t deadline = jf_deadline_after(timeout);
    jf_queue_stop(&w->q);
    int done = wait_flushed(w, jf_worker_flush_begin(w), deadline);
    if (done <= 0) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        jf_worker_abort(w);
        jf_batch rest;
        jf_queue_drain(&w->q, &rest);
        JF_ADD(w->dropped_shutdown, rest.count);
        release_items(rest.head);
        PyErr_Restore(t, v, tb);
        if (done < 0) return NULL;
    }
    return PyBool_FromLong(done);
}

static PyObject *Worker_stats(PyObject *op, PyObject *unused) {
    (void)unused;
    WorkerObject *self = (WorkerObject *)op;
    if (check_w(self) < 0) return NULL;
    jf_worker *w = self->w;
    jf_queue_stats qs;
    char err[sizeof w->last_error];
    jf_queue_get_stats(&w->q, &qs);
    pthread_mutex_lock(&w->q.mu);
    memcpy(err, w->last_error, sizeof err);
    pthread_mutex_unlock(&w->q.mu);
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    struct { const char *k; uint64_t v; } rows[] = {
        {"pending", qs.count}, {"running", qs.in_flight}, {"capacity", qs.max_items}, {"submitted", qs.pushed},
        {"dropped", qs.dropped_full}, {"rejected_after_shutdown", qs.rejected_stopped},
        {"succeeded", JF_GET(w->succeeded)}, {"failed", JF_GET(w->failed)}, {"retried", JF_GET(w->retried)},
        {"cancelled", JF_GET(w->cancelled)}, {"dropped_shutdown", JF_GET(w->dropped_shutdown)},
        {"abandoned_exit", JF_GET(w->abandoned_exit)}, {"gil_acquisitions", JF_GET(w->gil_acquisitions)},
        {"thread_starts", JF_GET(w->thread_starts)}, {"thread_start_failures", JF_GET(w->thread_start_failures)},
        {"thread_alive", (uint64_t)atomic_load(&w->thread_alive)},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (jf_dict_put_u64(d, rows[i].k, rows[i].v) < 0) goto error;
    PyObject *v = err[0] ? PyUnicode_DecodeUTF8(err, (Py_ssize_t)strlen(err), "replace") : Py_NewRef(Py_None);
    if (!v || PyDict_SetItemString(d, "last_error", v) < 0) {
        Py_XDECREF(v);
        goto error;
    }
    Py_DECREF(v);
    return d;
error:
    Py_DECREF(d);
    return NULL;
}

static PyObject *Worker_get_is_shutdown(PyObject *op, void *c) {
    (void)c;
    WorkerObject *self = (WorkerObject *)op;
    if (check_w(self) < 0) return NULL;
    return PyBool_FromLong(self->w->shut_down);
}

static PyMethodDef Worker_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))Worker_submit, METH_VARARGS | METH_KEYWORDS,
     "submit($self, fn, owner=0)\n--\n\nQueue a zero-argument callable; return how many oldest calls were dropped "
     "for room, or -1 after shutdown."},
    {"cancel", Worker_cancel, METH_O, "cancel($self, owner, /)\n--\n\nDrop the pending calls of one owner."},
    {"flush", (PyCFunction)(void (*)(void))Worker_flush, METH_VARARGS | METH_KEYWORDS,
     "flush($self, timeout=5.0)\n--\n\nWait (GIL released) for every call queued before this one; False at the deadline."},
    {"shutdown", (PyCFunction)(void (*)(void))Worker_shutdown, METH_VARARGS | METH_KEYWORDS,
     "shutdown($self, timeout=5.0)\n--\n\nRefuse new calls, flush until timeout, then drop the rest (counted)."},
    {"stats", Worker_stats, METH_NOARGS, "stats($self, /)\n--\n\nCounters, as a dict (racy snapshot)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Worker_getset[] = {
    {"is_shutdown", Worker_get_is_shutdown, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Worker_slots[] = {
    {Py_tp_doc, "Worker(max_pending=1000, *, max_attempts=5, retry_initial=0.5, retry_max=8.0, "
                "retry_deadline=30.0, classifier=None)\n--\n\nRuns queued API calls on a native thread."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Worker_init},
    {Py_tp_dealloc, Worker_dealloc},
    {Py_tp_traverse, Worker_traverse},
    {Py_tp_clear, Worker_clear_refs},
    {Py_tp_methods, Worker_methods},
    {Py_tp_getset, Worker_getset},
    {0, NULL},
};

static PyType_Spec Worker_spec = {
    .name = "judgeval_fast._native.Worker",
    .basicsize = sizeof(WorkerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = Worker_slots,
};

int jf_worker_add_type(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    PyObject *tp = PyType_FromModuleAndSpec(module, &Worker_spec, NULL);
    if (!tp) return -1;
    st->WorkerType = (PyTypeObject *)tp;
    return PyModule_AddType(module, st->WorkerType);
}
