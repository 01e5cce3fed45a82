/* queue.c - bounded MPSC span queue with drop-oldest (see queue.h for the contract).
 *
 * The Python type at the bottom is a consumer-less view of the same core, used by the
 * tests (against judgeval_fast/_model/queue.py) and the benchmarks:
 *
 *     class SpanQueue:
 *         def __init__(self, max_items: int, max_bytes: int) -> None: ...
 *         def push(self, data: bytes, owner: int = 0) -> int:
 *             "Queue data; return how many oldest records were dropped, or -1 if it can never fit."
 *         def pop(self, max_items: int = 512, max_bytes: int = 4 << 20) -> list[bytes]: ...
 *         def remove_owner(self, owner: int) -> int: ...
 *         def __len__(self) -> int: ...
 *         nbytes: int          # bytes charged (ITEM_OVERHEAD + len per record)
 *         def stats(self) -> tuple[int, ...]: ...
 */
#include "queue.h"
#include "module.h"

#include <assert.h>

/* ======================================================================== */
/* Core (no Py* calls)                                                       */
/* ======================================================================== */

jf_item *jf_item_new(size_t len) {
    if (len > SIZE_MAX - JF_ITEM_OVERHEAD) return NULL;
    jf_item *it = jf_malloc(JF_ITEM_OVERHEAD + len);
    if (!it) return NULL;
    it->next = NULL;
    it->seq = 0;
    it->owner = 0;
    it->ref = NULL;
    it->cost = JF_ITEM_OVERHEAD + len;
    it->len = len;
    return it;
}

void jf_batch_append(jf_batch *b, jf_batch *b2) {
    if (!b2->head) return;
    if (b->tail) b->tail->next = b2->head; else b->head = b2->head;
    b->tail = b2->tail;
    b->count += b2->count;
    b->bytes += b2->bytes;
    b2->head = b2->tail = NULL;
    b2->count = b2->bytes = 0;
}

static int init_sync(jf_queue *q) {
    pthread_condattr_t ca;
    if (pthread_mutex_init(&q->mu, NULL) != 0) return -1;
    if (pthread_condattr_init(&ca) != 0) goto error_mu;
    /* Deadlines are monotonic everywhere: a wall-clock step must not stretch a flush. */
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0) goto error_ca;
    if (pthread_cond_init(&q->ready_cv, &ca) != 0) goto error_ca;
    if (pthread_cond_init(&q->done_cv, &ca) != 0) goto error_ready;
    pthread_condattr_destroy(&ca);
    return 0;
error_ready:
    pthread_cond_destroy(&q->ready_cv);
error_ca:
    pthread_condattr_destroy(&ca);
error_mu:
    pthread_mutex_destroy(&q->mu);
    return -1;
}

int jf_queue_init(jf_queue *q, const jf_queue_limits *lim) {
    memset(q, 0, sizeof *q);
    if (init_sync(q) < 0) return -1;
    q->lim = *lim;
    q->next_seq = 1;
    return 0;
}

void jf_queue_fini(jf_queue *q, jf_item **rest) {
    *rest = q->head;
    q->head = q->tail = NULL;
    q->count = q->bytes = 0;
    pthread_cond_destroy(&q->done_cv);
    pthread_cond_destroy(&q->ready_cv);
    pthread_mutex_destroy(&q->mu);
}

/* Unlinks the head item. mu held, queue non-empty. */
static jf_item *unlink_head(jf_queue *q) {
    jf_item *it = q->head;
    q->head = it->next;
    if (!q->head) q->tail = NULL;
    it->next = NULL;
    q->count--;
    q->bytes -= it->cost;
    return it;
}

/* True when a batch should be taken now. mu held. */
static int batch_due(jf_queue *q, int64_t now) {
    if (!q->count || q->paused) return 0;
    if (q->count >= q->lim.batch_items || q->bytes >= q->lim.batch_bytes) return 1;
    if (q->stopping || q->flush_target >= q->head->seq) return 1;
    return now - q->first_ns >= q->lim.delay_ns;
}

int jf_queue_push(jf_queue *q, jf_item *it, int64_t now_ns, jf_item **dropped, int *start_consumer) {
    jf_item *drop_head = NULL, *drop_tail = NULL;
    *dropped = NULL;
    *start_consumer = 0;
    pthread_mutex_lock(&q->mu);
    if (q->stopping) {
        q->rejected_stopped++;
        pthread_mutex_unlock(&q->mu);
        return JF_PUSH_STOPPED;
    }
    if (it->cost > q->lim.max_bytes) {
        q->dropped_oversize++;
        pthread_mutex_unlock(&q->mu);
        return JF_PUSH_OVERSIZE;
    }
    /* Drop-oldest: bounded by the number of items dropped, each O(1). */
    while (q->count && (q->count >= q->lim.max_items || q->bytes + it->cost > q->lim.max_bytes)) {
        jf_item *old = unlink_head(q);
        q->dropped_full++;
        if (drop_tail) drop_tail->next = old; else drop_head = old;
        drop_tail = old;
    }
    it->seq = q->next_seq++;
    it->next = NULL;
    if (q->tail) q->tail->next = it; else q->head = it;
    q->tail = it;
    if (++q->count == 1) q->first_ns = now_ns;
    q->bytes += it->cost;
    q->pushed++;
    if (q->count > q->high_water) q->high_water = q->count;
    if (q->consumer == JF_CONSUMER_NONE) {
        q->consumer = JF_CONSUMER_RUNNING;
        *start_consumer = 1;
    } else if (q->consumer_waiting &&
               (q->count == 1 || q->count == q->lim.batch_items ||
                (q->bytes >= q->lim.batch_bytes && q->bytes - it->cost < q->lim.batch_bytes))) {
        /* Only the transitions the consumer can be waiting for: first item (starts its
         * delay timer), batch full by count, batch full by bytes. */
        pthread_cond_signal(&q->ready_cv);
    }
    pthread_mutex_unlock(&q->mu);
    *dropped = drop_head;
    return JF_PUSH_OK;
}

/* Moves up to max_items/max_bytes (at least one) from the queue into b. mu held. */
static void take_locked(jf_queue *q, size_t max_items, size_t max_bytes, int64_t now, jf_batch *b) {
    b->head = b->tail = NULL;
    b->count = b->bytes = 0;
    while (q->count && b->count < max_items && (b->count == 0 || b->bytes + q->head->cost <= max_bytes)) {
        jf_item *it = unlink_head(q);
        if (b->tail) b->tail->next = it; else b->head = it;
        b->tail = it;
        b->count++;
        b->bytes += it->cost;
    }
    if (b->head) {
        q->inflight_first = b->head->seq;
        q->inflight_count = b->count;
        q->taken += b->count;
    }
    /* What is left starts a new delay window now (approximation: the true arrival
     * time of the new head is not kept per item, to keep records small). */
    q->first_ns = now;
}

int jf_queue_take(jf_queue *q, jf_batch *b) {
    int rc;
    b->head = b->tail = NULL;
    b->count = b->bytes = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t now = jf_now_mono_ns();
        if (q->aborting) { rc = JF_TAKE_STOPPED; break; }
        if (batch_due(q, now)) {
            take_locked(q, q->lim.batch_items, q->lim.batch_bytes, now, b);
            rc = JF_TAKE_BATCH;
            break;
        }
        if (q->stopping && !q->count) { rc = JF_TAKE_STOPPED; break; }
        int64_t wake = JF_FOREVER;
        /* While paused nothing is due by time: only resume (which broadcasts) or stop wakes. */
        if (q->count && !q->paused) wake = q->first_ns + q->lim.delay_ns;
        q->consumer_waiting = 1;
        if (wake == JF_FOREVER) {
            pthread_cond_wait(&q->ready_cv, &q->mu);
        } else {
            struct timespec ts = jf_timespec_of(wake);
            pthread_cond_timedwait(&q->ready_cv, &q->mu, &ts);
        }
        q->consumer_waiting = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t jf_queue_take_now(jf_queue *q, size_t max_items, size_t max_bytes, jf_batch *b) {
    pthread_mutex_lock(&q->mu);
    take_locked(q, max_items, max_bytes, jf_now_mono_ns(), b);
    q->inflight_first = 0;  /* nobody holds it as in-flight: the caller owns it outright */
    q->inflight_count = 0;
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
    return b->count;
}

void jf_queue_done(jf_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->inflight_first = 0;
    q->inflight_count = 0;
    if (q->flushers) pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

int jf_queue_sleep(jf_queue *q, int64_t until_ns) {
    int stopping;
    pthread_mutex_lock(&q->mu);
    while (!q->aborting && jf_now_mono_ns() < until_ns) {
        struct timespec ts = jf_timespec_of(until_ns);
        pthread_cond_timedwait(&q->ready_cv, &q->mu, &ts);
    }
    stopping = q->aborting;
    pthread_mutex_unlock(&q->mu);
    return stopping;
}

void jf_queue_consumer_exit(jf_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->consumer = JF_CONSUMER_NONE;
    q->inflight_first = 0;
    q->inflight_count = 0;
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

/* mu held. */
static int done_locked(jf_queue *q, uint64_t target) {
    int queued_done = !q->head || q->head->seq > target;
    int inflight_done = !q->inflight_first || q->inflight_first > target;
    return queued_done && inflight_done;
}

uint64_t jf_queue_flush_begin(jf_queue *q) {
    uint64_t target;
    pthread_mutex_lock(&q->mu);
    target = q->next_seq - 1;
    if (target > q->flush_target) q->flush_target = target;
    if (q->count) pthread_cond_signal(&q->ready_cv);
    pthread_mutex_unlock(&q->mu);
    return target;
}

int jf_queue_flush_wait(jf_queue *q, uint64_t target, int64_t until_ns) {
    int done;
    pthread_mutex_lock(&q->mu);
    q->flushers++;
    while (!(done = done_locked(q, target)) && jf_now_mono_ns() < until_ns) {
        /* No consumer will ever make progress: report not-done now instead of sleeping. */
        if (q->consumer == JF_CONSUMER_NONE && q->count) break;
        struct timespec ts = jf_timespec_of(until_ns);
        pthread_cond_timedwait(&q->done_cv, &q->mu, &ts);
    }
    q->flushers--;
    pthread_mutex_unlock(&q->mu);
    return done;
}

int jf_queue_is_done(jf_queue *q, uint64_t target) {
    int done;
    pthread_mutex_lock(&q->mu);
    done = done_locked(q, target);
    pthread_mutex_unlock(&q->mu);
    return done;
}

void jf_queue_stop(jf_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->ready_cv);
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

void jf_queue_set_paused(jf_queue *q, int paused) {
    pthread_mutex_lock(&q->mu);
    q->paused = paused;
    pthread_cond_broadcast(&q->ready_cv);
    pthread_mutex_unlock(&q->mu);
}

void jf_queue_abort(jf_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    q->aborting = 1;
    pthread_cond_broadcast(&q->ready_cv);
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

void jf_queue_drain(jf_queue *q, jf_batch *b) {
    pthread_mutex_lock(&q->mu);
    b->head = q->head;
    b->tail = q->tail;
    b->count = q->count;
    b->bytes = q->bytes;
    q->head = q->tail = NULL;
    q->count = q->bytes = 0;
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

int jf_queue_claim_consumer(jf_queue *q) {
    int claim = 0;
    pthread_mutex_lock(&q->mu);
    if (q->consumer == JF_CONSUMER_NONE && q->count && !q->aborting) {
        q->consumer = JF_CONSUMER_RUNNING;
        claim = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return claim;
}

void jf_queue_remove_matching(jf_queue *q, int (*match)(const jf_item *, void *), void *arg, jf_batch *b) {
    b->head = b->tail = NULL;
    b->count = b->bytes = 0;
    pthread_mutex_lock(&q->mu);
    jf_item **link = &q->head, *prev = NULL;
    while (*link) {
        jf_item *it = *link;
        if (match(it, arg)) {
            *link = it->next;
            if (q->tail == it) q->tail = prev;
            q->count--;
            q->bytes -= it->cost;
            it->next = NULL;
            if (b->tail) b->tail->next = it; else b->head = it;
            b->tail = it;
            b->count++;
            b->bytes += it->cost;
        } else {
            prev = it;
            link = &it->next;
        }
    }
    if (b->count) pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
}

void jf_queue_get_stats(jf_queue *q, jf_queue_stats *st) {
    pthread_mutex_lock(&q->mu);
    st->count = q->count;
    st->bytes = q->bytes;
    st->high_water = q->high_water;
    st->in_flight = q->inflight_count;
    st->pushed = q->pushed;
    st->dropped_full = q->dropped_full;
    st->dropped_oversize = q->dropped_oversize;
    st->rejected_stopped = q->rejected_stopped;
    st->taken = q->taken;
    st->max_items = q->lim.max_items;
    st->max_bytes = q->lim.max_bytes;
    pthread_mutex_unlock(&q->mu);
}

void jf_queue_atfork_prepare(jf_queue *q) { pthread_mutex_lock(&q->mu); }

void jf_queue_atfork_parent(jf_queue *q) { pthread_mutex_unlock(&q->mu); }

void jf_queue_atfork_child(jf_queue *q, jf_batch *orphans) {
    /* The forking thread holds mu (prepare). Other threads' waits on the condvars do not
     * exist in the child, so the condvars are re-created rather than reused. */
    orphans->head = q->head;
    orphans->tail = q->tail;
    orphans->count = q->count;
    orphans->bytes = q->bytes;
    q->head = q->tail = NULL;
    q->count = q->bytes = 0;
    q->inflight_first = 0;
    q->inflight_count = 0;
    q->flush_target = 0;
    q->consumer = JF_CONSUMER_NONE;
    q->consumer_waiting = 0;
    q->flushers = 0;
    q->high_water = 0;
    q->pushed = q->dropped_full = q->dropped_oversize = q->rejected_stopped = q->taken = 0;
    pthread_mutex_unlock(&q->mu);
    (void)init_sync(q);  /* can only fail on resource exhaustion; the old objects stay usable in practice */
}

const char *jf_queue_check(jf_queue *q) {
    const char *why = NULL;
    pthread_mutex_lock(&q->mu);
    size_t n = 0, bytes = 0;
    uint64_t last = 0;
    jf_item *tail = NULL;
    for (jf_item *it = q->head; it && !why; it = it->next) {
        n++;
        bytes += it->cost;
        if (it->seq <= last || it->seq >= q->next_seq) why = "sequence numbers do not increase from head to tail";
        last = it->seq;
        tail = it;
    }
    if (!why && (n != q->count || bytes != q->bytes || tail != q->tail))
        why = "count, bytes or tail differ from the list";
    if (!why && (q->count > q->lim.max_items || q->bytes > q->lim.max_bytes)) why = "over its limits";
    pthread_mutex_unlock(&q->mu);
    return why;
}

/* ======================================================================== */
/* Python glue: waiting for a flush; SpanQueue                               */
/* ======================================================================== */

int jf_queue_wait_flushed(jf_queue *q, uint64_t target, int64_t deadline, const atomic_int *consumer_alive,
                          void (*restart)(void *), void *arg) {
    for (;;) {
        int64_t now = jf_now_mono_ns();
        int64_t slice = JF_MIN(deadline, now + 100 * JF_NS_PER_MS);
        int done;
        Py_BEGIN_ALLOW_THREADS
        done = jf_queue_flush_wait(q, target, slice);
        Py_END_ALLOW_THREADS
        if (done) return 1;
        now = jf_now_mono_ns();
        if (now >= deadline) return 0;
        if (PyErr_CheckSignals() < 0) return -1;
        if (now < slice - JF_NS_PER_MS && !atomic_load(consumer_alive)) {
            /* flush_wait returned early: nobody drains the queue (the thread could not start). */
            if (!jf_queue_claim_consumer(q)) return jf_queue_is_done(q, target);
            restart(arg);
            if (!atomic_load(consumer_alive)) return 0;
        }
    }
}

typedef struct {
    PyObject_HEAD
    jf_queue q;
    int ready;  /* q initialised */
} QueueObject;

static void free_list(jf_item *it) {
    while (it) {
        jf_item *next = it->next;
        jf_item_free(it);
        it = next;
    }
}

static int Queue_init(PyObject *op, PyObject *args, PyObject *kwds) {
    QueueObject *self = (QueueObject *)op;
    static char *kwlist[] = {"max_items", "max_bytes", NULL};
    Py_ssize_t max_items, max_bytes;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nn:SpanQueue", kwlist, &max_items, &max_bytes)) return -1;
    if (max_items <= 0) { PyErr_SetString(PyExc_ValueError, "max_items must be > 0"); return -1; }
    if (max_bytes <= 0) { PyErr_SetString(PyExc_ValueError, "max_bytes must be > 0"); return -1; }
    if (self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "SpanQueue is already initialised");
        return -1;
    }
    jf_queue_limits lim = {(size_t)max_items, (size_t)max_bytes, (size_t)max_items, (size_t)max_bytes, JF_FOREVER};
    if (jf_queue_init(&self->q, &lim) < 0) {
        PyErr_SetString(PyExc_OSError, "pthread initialisation failed");
        return -1;
    }
    /* No consumer thread exists for this view; marking one as running keeps push from
     * asking the caller to start it. */
    self->q.consumer = JF_CONSUMER_RUNNING;
    self->ready = 1;
    return 0;
}

static void Queue_dealloc(PyObject *op) {
    QueueObject *self = (QueueObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    if (self->ready) {
        jf_item *rest;
        jf_queue_fini(&self->q, &rest);
        free_list(rest);
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static int check_ready(QueueObject *self) {
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "SpanQueue.__init__ was not called");
        return -1;
    }
    return 0;
}

static PyObject *Queue_push(PyObject *op, PyObject *args, PyObject *kwds) {
    QueueObject *self = (QueueObject *)op;
    static char *kwlist[] = {"data", "owner", NULL};
    const char *data;
    Py_ssize_t len;
    PyObject *owner_obj = NULL;
    unsigned long long owner = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y#|O:push", kwlist, &data, &len, &owner_obj)) return NULL;
    /* Checked, not the wrapping "K" format: remove_owner() must find exactly what push() stored. */
    if (owner_obj && (owner = PyLong_AsUnsignedLongLong(owner_obj)) == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (check_ready(self) < 0) return NULL;
    jf_item *it = jf_item_new((size_t)len);
    if (!it) return PyErr_NoMemory();
    memcpy(it->data, data, (size_t)len);
    it->owner = owner;
    jf_item *dropped;
    int start;
    int rc = jf_queue_push(&self->q, it, jf_now_mono_ns(), &dropped, &start);
    if (rc != JF_PUSH_OK) {
        jf_item_free(it);
        return PyLong_FromLong(-1);
    }
    long n = 0;
    for (jf_item *d = dropped; d; d = d->next) n++;
    free_list(dropped);
    return PyLong_FromLong(n);
}

static PyObject *Queue_pop(PyObject *op, PyObject *args, PyObject *kwds) {
    QueueObject *self = (QueueObject *)op;
    static char *kwlist[] = {"max_items", "max_bytes", NULL};
    Py_ssize_t max_items = 512, max_bytes = 4 << 20;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|nn:pop", kwlist, &max_items, &max_bytes)) return NULL;
    if (check_ready(self) < 0) return NULL;
    if (max_items <= 0 || max_bytes <= 0) {
        PyErr_SetString(PyExc_ValueError, "max_items and max_bytes must be > 0");
        return NULL;
    }
    jf_batch b;
    jf_queue_take_now(&self->q, (size_t)max_items, (size_t)max_bytes, &b);
    PyObject *list = PyList_New((Py_ssize_t)b.count);
    Py_ssize_t i = 0;
    for (jf_item *it = b.head; list && it; it = it->next, i++) {
        PyObject *bytes = PyBytes_FromStringAndSize((const char *)it->data, (Py_ssize_t)it->len);
        if (!bytes) { Py_CLEAR(list); break; }
        PyList_SetItem(list, i, bytes);  /* steals */
    }
    free_list(b.head);
    return list;
}

static int match_owner(const jf_item *it, void *arg) { return it->owner == *(const uint64_t *)arg; }

static PyObject *Queue_remove_owner(PyObject *op, PyObject *arg) {
    QueueObject *self = (QueueObject *)op;
    unsigned long long v = PyLong_AsUnsignedLongLong(arg);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    if (check_ready(self) < 0) return NULL;
    uint64_t owner = v;
    jf_batch b;
    jf_queue_remove_matching(&self->q, match_owner, &owner, &b);
    free_list(b.head);
    return PyLong_FromSize_t(b.count);
}

static Py_ssize_t Queue_len(PyObject *op) {
    QueueObject *self = (QueueObject *)op;
    if (check_ready(self) < 0) return -1;
    jf_queue_stats st;
    jf_queue_get_stats(&self->q, &st);
    return (Py_ssize_t)st.count;
}

static PyObject *Queue_get_nbytes(PyObject *op, void *closure) {
    (void)closure;
    QueueObject *self = (QueueObject *)op;
    if (check_ready(self) < 0) return NULL;
    jf_queue_stats st;
    jf_queue_get_stats(&self->q, &st);
    return PyLong_FromSize_t(st.bytes);
}

static PyObject *Queue_stats(PyObject *op, PyObject *unused) {
    (void)unused;
    QueueObject *self = (QueueObject *)op;
    if (check_ready(self) < 0) return NULL;
    jf_queue_stats st;
    jf_queue_get_stats(&self->q, &st);
    return Py_BuildValue("(nnnKKKKnn)", (Py_ssize_t)st.count, (Py_ssize_t)st.bytes, (Py_ssize_t)st.high_water,
                         (unsigned long long)st.pushed, (unsigned long long)st.dropped_full,
                         (unsigned long long)st.dropped_oversize, (unsigned long long)st.taken,
                         (Py_ssize_t)st.max_items, (Py_ssize_t)st.max_bytes);
}

static PyObject *Queue_check(PyObject *op, PyObject *unused) {
    (void)unused;
    QueueObject *self = (QueueObject *)op;
    if (check_ready(self) < 0) return NULL;
    const char *why = jf_queue_check(&self->q);
    if (why) {
        PyErr_Format(PyExc_AssertionError, "queue invariant broken: %s", why);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Queue_methods[] = {
    {"push", (PyCFunction)(void (*)(void))Queue_push, METH_VARARGS | METH_KEYWORDS,
     "push($self, data, owner=0)\n--\n\nQueue a record; return how many oldest records were dropped, or -1 if it can never fit."},
    {"pop", (PyCFunction)(void (*)(void))Queue_pop, METH_VARARGS | METH_KEYWORDS,
     "pop($self, max_items=512, max_bytes=4194304)\n--\n\nTake the oldest records (at least one if any)."},
    {"remove_owner", Queue_remove_owner, METH_O, "remove_owner($self, owner, /)\n--\n\nRemove queued records of one owner."},
    {"_check", Queue_check, METH_NOARGS,
     "_check($self, /)\n--\n\nRaise AssertionError if a structural invariant is broken (O(len); for tests)."},
    {"stats", Queue_stats, METH_NOARGS,
     "stats($self, /)\n--\n\n"
     "(count, nbytes, high_water, pushed, dropped_full, dropped_oversize, taken, max_items, max_bytes)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Queue_getset[] = {
    {"nbytes", Queue_get_nbytes, NULL, "Bytes charged to the byte budget (a racy snapshot).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Queue_slots[] = {
    {Py_tp_doc, "SpanQueue(max_items, max_bytes)\n--\n\nThe bounded drop-oldest queue core, without a consumer thread."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Queue_init},
    {Py_tp_dealloc, Queue_dealloc},
    {Py_tp_methods, Queue_methods},
    {Py_tp_getset, Queue_getset},
    {Py_sq_length, Queue_len},
    {0, NULL},
};

static PyType_Spec Queue_spec = {
    .name = "judgeval_fast._native.SpanQueue",
    .basicsize = sizeof(QueueObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Queue_slots,
};

int jf_queue_add_type(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    PyObject *tp = PyType_FromModuleAndSpec(module, &Queue_spec, NULL);
    if (!tp) return -1;
    st->QueueType = (PyTypeObject *)tp;
    if (PyModule_AddType(module, st->QueueType) < 0) return -1;
    return PyModule_AddIntConstant(module, "ITEM_OVERHEAD", (long)JF_ITEM_OVERHEAD);
}
