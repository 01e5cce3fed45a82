/* store.c - metadata store: hash map + intrusive LRU list + per-entry TTL (see store.h).
 *
 * The Python type at the bottom wraps one jf_store whose values are dicts:
 *
 *     class Store:
 *         def __init__(self, capacity: int = 10000, ttl: float = 3600.0, *,
 *                      clock: Callable[[], float] | None = None) -> None: ...
 *         def set(self, span, key, value) -> None        # span: Span | SpanContext | (trace_id, span_id)
 *         def get(self, span, key, default=None): ...
 *         def increment(self, span, key) -> int: ...      # returns the old int (0), stores old + 1
 *         def get_all(self, span) -> dict | None: ...     # a copy
 *         def pop(self, span) -> dict | None: ...
 *         def keys(self) -> list[tuple[int, int]]: ...    # most recently used first
 *         def clear(self) -> None: ...
 *         def stats(self) -> tuple[int, int, float, int, int, int, int]: ...
 *         def __len__(self) -> int: ...                   # expired entries are swept first
 *         def __contains__(self, span) -> bool: ...
 *         capacity: int; ttl: float                       # settable
 */
#include "store.h"

#include <assert.h>

/* ======================================================================== */
/* Core (no Py* calls)                                                       */
/* ======================================================================== */

#ifndef NDEBUG
#define ENTER(s) do { assert(!(s)->busy && "store re-entered"); (s)->busy = 1; } while (0)
#define LEAVE(s) do { (s)->busy = 0; } while (0)
#else
#define ENTER(s) ((void)0)
#define LEAVE(s) ((void)0)
#endif

static inline uint64_t key_hash(const jf_span_key *k) {
    /* Ids are random already; the multiply-xorshift only guards against callers that
     * pass structured ids (tests use 1, 2, 3...). */
    uint64_t h = k->span_id ^ (k->trace_lo * UINT64_C(0x9e3779b97f4a7c15)) ^ (k->trace_hi << 1);
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static inline int key_eq(const jf_span_key *a, const jf_span_key *b) {
    return a->span_id == b->span_id && a->trace_lo == b->trace_lo && a->trace_hi == b->trace_hi;
}

jf_store *jf_store_new(size_t capacity, int64_t ttl_ns) {
    jf_store *s = jf_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->refs = 1;
    s->capacity = capacity;
    s->ttl_ns = ttl_ns;
    return s;
}

/* Rebuilds the bucket array with n buckets (0 frees it). Returns 0, or -1 on OOM with the
 * store unchanged: a failed resize only costs speed, never correctness. */
static int resize(jf_store *s, size_t n) {
    jf_store_entry **nb = NULL;
    if (n) {
        nb = jf_calloc(n, sizeof *nb);
        if (!nb) return -1;
        for (size_t i = 0; i < s->nbuckets; i++) {
            jf_store_entry *e = s->buckets[i];
            while (e) {
                jf_store_entry *next = e->hnext;
                size_t j = key_hash(&e->key) & (n - 1);
                e->hnext = nb[j];
                nb[j] = e;
                e = next;
            }
        }
    }
    jf_free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
    return 0;
}

static jf_store_entry **bucket_slot(jf_store *s, const jf_span_key *k) {
    return &s->buckets[key_hash(k) & (s->nbuckets - 1)];
}

static void lru_unlink(jf_store *s, jf_store_entry *e) {
    if (e->lru_prev) e->lru_prev->lru_next = e->lru_next; else s->lru_head = e->lru_next;
    if (e->lru_next) e->lru_next->lru_prev = e->lru_prev; else s->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(jf_store *s, jf_store_entry *e) {
    e->lru_prev = NULL;
    e->lru_next = s->lru_head;
    if (s->lru_head) s->lru_head->lru_prev = e; else s->lru_tail = e;
    s->lru_head = e;
}

static void age_unlink(jf_store *s, jf_store_entry *e) {
    if (e->age_prev) e->age_prev->age_next = e->age_next; else s->age_head = e->age_next;
    if (e->age_next) e->age_next->age_prev = e->age_prev; else s->age_tail = e->age_prev;
    e->age_prev = e->age_next = NULL;
}

/* Removes e from all three structures (not freed). Shrinks the table when sparse. */
static void unlink_entry(jf_store *s, jf_store_entry *e) {
    jf_store_entry **slot = bucket_slot(s, &e->key);
    while (*slot != e) slot = &(*slot)->hnext;
    *slot = e->hnext;
    e->hnext = NULL;
    lru_unlink(s, e);
    age_unlink(s, e);
    s->len--;
    if (s->len == 0) {
        (void)resize(s, 0);
    } else if (s->nbuckets > JF_STORE_MIN_BUCKETS && s->len < s->nbuckets / 8) {
        (void)resize(s, s->nbuckets / 2);
    }
}

static inline int expired(const jf_store *s, const jf_store_entry *e, int64_t now) {
    return now - e->created_ns >= s->ttl_ns;
}

jf_store_entry *jf_store_find(jf_store *s, const jf_span_key *key, int64_t now_ns, jf_store_entry **expired_out) {
    *expired_out = NULL;
    if (!s->len) return NULL;
    ENTER(s);
    jf_store_entry *e = *bucket_slot(s, key);
    while (e && !key_eq(&e->key, key)) e = e->hnext;
    if (e) {
        if (expired(s, e, now_ns)) {
            unlink_entry(s, e);
            s->ttl_evictions++;
            *expired_out = e;
            e = NULL;
        } else if (s->lru_head != e) {
            lru_unlink(s, e);
            lru_push_front(s, e);
        }
    }
    LEAVE(s);
    return e;
}

/* Pushes e on a release list linked through hnext. */
static void release_push(jf_store_entry **list, jf_store_entry *e) {
    e->hnext = *list;
    *list = e;
}

jf_store_entry *jf_store_insert(jf_store *s, const jf_span_key *key, void *value, int64_t now_ns,
                                jf_store_entry **evicted) {
    *evicted = NULL;
    jf_store_entry *e = jf_malloc(sizeof *e);
    if (!e) return NULL;
    ENTER(s);
    if (!s->nbuckets && resize(s, JF_STORE_MIN_BUCKETS) < 0) {
        LEAVE(s);
        jf_free(e);
        return NULL;
    }
    /* Amortised TTL sweep: the age head is always the oldest entry. */
    for (int i = 0; i < JF_STORE_SWEEP_PER_INSERT && s->age_head && expired(s, s->age_head, now_ns); i++) {
        jf_store_entry *old = s->age_head;
        unlink_entry(s, old);
        s->ttl_evictions++;
        release_push(evicted, old);
    }
    while (s->len >= s->capacity && s->lru_tail) {
        jf_store_entry *old = s->lru_tail;
        unlink_entry(s, old);
        s->lru_evictions++;
        release_push(evicted, old);
    }
    if (!s->nbuckets && resize(s, JF_STORE_MIN_BUCKETS) < 0) {  /* the sweep may have emptied it */
        LEAVE(s);
        jf_free(e);
        return NULL;
    }
    if (s->len + 1 > s->nbuckets) (void)resize(s, s->nbuckets * 2);
    e->key = *key;
    e->created_ns = now_ns;
    e->value = value;
    jf_store_entry **slot = bucket_slot(s, key);
    e->hnext = *slot;
    *slot = e;
    lru_push_front(s, e);
    e->age_next = NULL;
    e->age_prev = s->age_tail;
    if (s->age_tail) s->age_tail->age_next = e; else s->age_head = e;
    s->age_tail = e;
    s->len++;
    s->inserted++;
    LEAVE(s);
    return e;
}

jf_store_entry *jf_store_unlink(jf_store *s, const jf_span_key *key) {
    if (!s->len) return NULL;
    ENTER(s);
    jf_store_entry *e = *bucket_slot(s, key);
    while (e && !key_eq(&e->key, key)) e = e->hnext;
    if (e) {
        unlink_entry(s, e);
        s->removed++;
    }
    LEAVE(s);
    return e;
}

jf_store_entry *jf_store_sweep(jf_store *s, int64_t now_ns) {
    jf_store_entry *list = NULL;
    ENTER(s);
    while (s->age_head && expired(s, s->age_head, now_ns)) {
        jf_store_entry *old = s->age_head;
        unlink_entry(s, old);
        s->ttl_evictions++;
        release_push(&list, old);
    }
    LEAVE(s);
    return list;
}

jf_store_entry *jf_store_unlink_all(jf_store *s) {
    jf_store_entry *list = NULL;
    ENTER(s);
    while (s->age_head) {
        jf_store_entry *old = s->age_head;
        unlink_entry(s, old);
        s->removed++;
        release_push(&list, old);
    }
    LEAVE(s);
    return list;
}

jf_store_entry *jf_store_set_limits(jf_store *s, size_t capacity, int64_t ttl_ns) {
    jf_store_entry *list = NULL;
    ENTER(s);
    s->capacity = capacity;
    s->ttl_ns = ttl_ns;
    while (s->len > s->capacity) {
        jf_store_entry *old = s->lru_tail;
        unlink_entry(s, old);
        s->lru_evictions++;
        release_push(&list, old);
    }
    LEAVE(s);
    return list;
}

jf_store_entry *jf_store_decref(jf_store *s) {
    if (--s->refs > 0) return NULL;
    jf_store_entry *list = jf_store_unlink_all(s);
    jf_free(s->buckets);
    jf_free(s);
    return list;
}

const char *jf_store_check(const jf_store *s) {
    size_t n = 0, m = 0, h = 0;
    int64_t last = INT64_MIN;
    for (const jf_store_entry *e = s->lru_head; e; e = e->lru_next) {
        if (e->lru_next ? e->lru_next->lru_prev != e : s->lru_tail != e) return "LRU list links are inconsistent";
        n++;
    }
    for (const jf_store_entry *e = s->age_head; e; e = e->age_next) {
        if (e->created_ns < last) return "age list is not ordered by insertion time";
        if (e->age_next ? e->age_next->age_prev != e : s->age_tail != e) return "age list links are inconsistent";
        last = e->created_ns;
        m++;
    }
    for (size_t i = 0; i < s->nbuckets; i++)
        for (const jf_store_entry *e = s->buckets[i]; e; e = e->hnext) h++;
    if (n != s->len || m != s->len || h != s->len) return "len differs from the LRU list, age list or hash map";
    if (s->len > s->capacity) return "len exceeds capacity";
    if (s->nbuckets != 0 && (s->nbuckets < JF_STORE_MIN_BUCKETS || (s->nbuckets & (s->nbuckets - 1)) != 0))
        return "bucket count is not a power of two >= JF_STORE_MIN_BUCKETS";
    return NULL;
}

/* ======================================================================== */
/* Python glue: Store                                                        */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    jf_store *core;   /* one reference */
    PyObject *clock;  /* callable returning seconds, or NULL for the monotonic clock */
} StoreObject;

void jf_store_release_list(jf_store_entry *list) {
    while (list) {
        jf_store_entry *next = list->hnext;
        PyObject *v = (PyObject *)list->value;
        jf_store_entry_free(list);
        Py_XDECREF(v);  /* after the free: a finalizer may re-enter any store */
        list = next;
    }
}

void jf_store_remove_key(jf_store *s, const jf_span_key *key) {
    jf_store_entry *e = jf_store_unlink(s, key);
    if (e) jf_store_release_list(e);
}

jf_store *jf_store_from_object(jf_state *st, PyObject *obj) {
    if (Py_TYPE(obj) != st->StoreType) return NULL;
    return ((StoreObject *)obj)->core;
}

/* Current time of this store. Returns 0 and sets *now, or -1 with an exception set. */
static int store_now(StoreObject *self, int64_t *now) {
    if (!self->clock) {
        *now = jf_now_mono_ns();
        return 0;
    }
    PyObject *r = PyObject_CallNoArgs(self->clock);
    if (!r) return -1;
    double t = PyFloat_AsDouble(r);
    Py_DECREF(r);
    if (t == -1.0 && PyErr_Occurred()) return -1;
    *now = (int64_t)(t * 1e9);
    return 0;
}

static int check_core(StoreObject *self) {
    if (!self->core) {
        PyErr_SetString(PyExc_RuntimeError, "Store.__init__ was not called");
        return -1;
    }
    return 0;
}

static int parse_limits(Py_ssize_t capacity, double ttl, int64_t *ttl_ns) {
    if (capacity <= 0) {
        PyErr_SetString(PyExc_ValueError, "capacity must be > 0");
        return -1;
    }
    if (!(ttl > 0.0) || ttl > 1e9) {
        PyErr_SetString(PyExc_ValueError, "ttl must be > 0 seconds");
        return -1;
    }
    *ttl_ns = (int64_t)(ttl * 1e9);
    if (*ttl_ns <= 0) *ttl_ns = 1;
    return 0;
}

static int Store_init(PyObject *op, PyObject *args, PyObject *kwds) {
    StoreObject *self = (StoreObject *)op;
    static char *kwlist[] = {"capacity", "ttl", "clock", NULL};
    Py_ssize_t capacity = 10000;
    double ttl = 3600.0;
    PyObject *clock = Py_None;
    int64_t ttl_ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|nd$O:Store", kwlist, &capacity, &ttl, &clock)) return -1;
    if (parse_limits(capacity, ttl, &ttl_ns) < 0) return -1;
    if (clock != Py_None && !PyCallable_Check(clock)) {
        PyErr_SetString(PyExc_TypeError, "clock must be callable or None");
        return -1;
    }
    if (self->core) {
        PyErr_SetString(PyExc_RuntimeError, "Store is already initialised");
        return -1;
    }
    self->core = jf_store_new((size_t)capacity, ttl_ns);
    if (!self->core) {
        PyErr_NoMemory();
        return -1;
    }
    if (clock != Py_None) self->clock = Py_NewRef(clock);
    return 0;
}

static int Store_traverse(PyObject *op, visitproc visit, void *arg) {
    StoreObject *self = (StoreObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->clock);
    if (self->core) {
        for (jf_store_entry *e = self->core->lru_head; e; e = e->lru_next) Py_VISIT((PyObject *)e->value);
    }
    return 0;
}

static int Store_clear_refs(PyObject *op) {
    StoreObject *self = (StoreObject *)op;
    Py_CLEAR(self->clock);
    if (self->core) jf_store_release_list(jf_store_unlink_all(self->core));
    return 0;
}

static void Store_dealloc(PyObject *op) {
    StoreObject *self = (StoreObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    Py_CLEAR(self->clock);
    if (self->core) {
        jf_store *core = self->core;
        self->core = NULL;
        jf_store_release_list(jf_store_unlink_all(core));
        jf_store_release_list(jf_store_decref(core));
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

/* Returns a new reference to the dict of span's live entry, creating the entry when
 * `create`; NULL when absent (no exception) or on error (exception set). */
static PyObject *entry_dict(StoreObject *self, PyObject *span, int create) {
    jf_state *st = jf_state_of_type(Py_TYPE(self));
    jf_span_key key;
    int64_t now;
    jf_store_entry *gone = NULL, *e;
    if (check_core(self) < 0 || jf_span_key_from_object(st, span, &key) < 0) return NULL;
    if (store_now(self, &now) < 0) return NULL;
    e = jf_store_find(self->core, &key, now, &gone);
    if (!e && create) {
        PyObject *d = PyDict_New();
        /* PyDict_New may run the cyclic GC, whose finalizers may have stored this key. */
        jf_store_entry *gone2 = NULL;
        jf_store_entry *again = d ? jf_store_find(self->core, &key, now, &gone2) : NULL;
        if (gone2) {  /* at most one expired entry, already unlinked */
            gone2->hnext = gone;
            gone = gone2;
        }
        if (again) {
            Py_DECREF(d);
            e = again;
        } else if (d) {
            jf_store_entry *more = NULL;
            e = jf_store_insert(self->core, &key, d, now, &more);
            if (!e) {
                Py_DECREF(d);
                PyErr_NoMemory();
            }
            if (more) {
                jf_store_entry *tail = more;
                while (tail->hnext) tail = tail->hnext;
                tail->hnext = gone;
                gone = more;
            }
        }
    }
    PyObject *result = e ? Py_NewRef((PyObject *)e->value) : NULL;
    if (gone) {
        /* Released last: finalizers of evicted values may re-enter this store. */
        PyObject *exc_t, *exc_v, *exc_tb;
        PyErr_Fetch(&exc_t, &exc_v, &exc_tb);
        jf_store_release_list(gone);
        PyErr_Restore(exc_t, exc_v, exc_tb);
    }
    return result;
}

static PyObject *Store_set(PyObject *op, PyObject *args) {
    PyObject *span, *key, *value;
    if (!PyArg_UnpackTuple(args, "set", 3, 3, &span, &key, &value)) return NULL;
    PyObject *d = entry_dict((StoreObject *)op, span, 1);
    if (!d) return NULL;
    int rc = PyDict_SetItem(d, key, value);
    Py_DECREF(d);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Store_get(PyObject *op, PyObject *args) {
    PyObject *span, *key, *dflt = Py_None;
    if (!PyArg_UnpackTuple(args, "get", 2, 3, &span, &key, &dflt)) return NULL;
    PyObject *d = entry_dict((StoreObject *)op, span, 0);
    if (!d) return PyErr_Occurred() ? NULL : Py_NewRef(dflt);
    PyObject *v = PyDict_GetItemWithError(d, key);
    PyObject *r = v ? Py_NewRef(v) : (PyErr_Occurred() ? NULL : Py_NewRef(dflt));
    Py_DECREF(d);
    return r;
}

static PyObject *Store_increment(PyObject *op, PyObject *args) {
    PyObject *span, *key;
    if (!PyArg_UnpackTuple(args, "increment", 2, 2, &span, &key)) return NULL;
    PyObject *d = entry_dict((StoreObject *)op, span, 1);
    if (!d) return NULL;
    PyObject *old = NULL, *next = NULL, *one = NULL;
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (!v && PyErr_Occurred()) goto done;
    old = v ? Py_NewRef(v) : PyLong_FromLong(0);
    if (!old) goto done;
    one = PyLong_FromLong(1);
    if (!one) goto error;
    next = PyNumber_Add(old, one);
    if (!next || PyDict_SetItem(d, key, next) < 0) goto error;
    goto done;
error:
    Py_CLEAR(old);
done:
    Py_XDECREF(one);
    Py_XDECREF(next);
    Py_DECREF(d);
    return old;
}

static PyObject *Store_get_all(PyObject *op, PyObject *span) {
    PyObject *d = entry_dict((StoreObject *)op, span, 0);
    if (!d) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *copy = PyDict_Copy(d);
    Py_DECREF(d);
    return copy;
}

static PyObject *Store_pop(PyObject *op, PyObject *span) {
    StoreObject *self = (StoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(self));
    jf_span_key key;
    int64_t now;
    jf_store_entry *gone = NULL;
    if (check_core(self) < 0 || jf_span_key_from_object(st, span, &key) < 0) return NULL;
    if (store_now(self, &now) < 0) return NULL;
    /* find() first so that an expired entry counts as a TTL eviction, not a removal. */
    jf_store_entry *e = jf_store_find(self->core, &key, now, &gone);
    if (gone) jf_store_release_list(gone);
    if (!e) Py_RETURN_NONE;
    e = jf_store_unlink(self->core, &key);
    PyObject *v = (PyObject *)e->value;
    jf_store_entry_free(e);
    return v;  /* the entry's reference becomes the caller's */
}

static PyObject *Store_keys(PyObject *op, PyObject *unused) {
    (void)unused;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    PyObject *list = PyList_New(0);
    if (!list) return NULL;
    size_t n = self->core->len, i = 0;
    jf_span_key *keys = jf_malloc((n ? n : 1) * sizeof *keys);
    if (!keys) {
        Py_DECREF(list);
        return PyErr_NoMemory();
    }
    /* Copy first: building ints runs no user code, but keep the walk free of Python calls. */
    for (jf_store_entry *e = self->core->lru_head; e && i < n; e = e->lru_next) keys[i++] = e->key;
    for (size_t j = 0; j < i; j++) {
        PyObject *tid = jf_u128_to_pylong(keys[j].trace_hi, keys[j].trace_lo);
        PyObject *sid = tid ? PyLong_FromUnsignedLongLong(keys[j].span_id) : NULL;
        PyObject *t = sid ? PyTuple_Pack(2, tid, sid) : NULL;
        Py_XDECREF(tid);
        Py_XDECREF(sid);
        if (!t || PyList_Append(list, t) < 0) {
            Py_XDECREF(t);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(t);
    }
    jf_free(keys);
    return list;
}

static PyObject *Store_clear(PyObject *op, PyObject *unused) {
    (void)unused;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    jf_store_release_list(jf_store_unlink_all(self->core));
    Py_RETURN_NONE;
}

/* Sweeps expired entries. Returns 0 or -1 with an exception set. */
static int sweep(StoreObject *self) {
    int64_t now;
    if (check_core(self) < 0 || store_now(self, &now) < 0) return -1;
    jf_store_release_list(jf_store_sweep(self->core, now));
    return 0;
}

static Py_ssize_t Store_len(PyObject *op) {
    StoreObject *self = (StoreObject *)op;
    if (sweep(self) < 0) return -1;
    return (Py_ssize_t)self->core->len;
}

static int Store_contains(PyObject *op, PyObject *span) {
    PyObject *d = entry_dict((StoreObject *)op, span, 0);
    if (!d) return PyErr_Occurred() ? -1 : 0;
    Py_DECREF(d);
    return 1;
}

static PyObject *Store_stats(PyObject *op, PyObject *unused) {
    (void)unused;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    jf_store *s = self->core;
    return Py_BuildValue("(nndKKKK)", (Py_ssize_t)s->len, (Py_ssize_t)s->capacity, (double)s->ttl_ns / 1e9,
                         (unsigned long long)s->lru_evictions, (unsigned long long)s->ttl_evictions,
                         (unsigned long long)s->inserted, (unsigned long long)s->removed);
}

static PyObject *Store_get_capacity(PyObject *op, void *closure) {
    (void)closure;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    return PyLong_FromSize_t(self->core->capacity);
}

static PyObject *Store_get_ttl(PyObject *op, void *closure) {
    (void)closure;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    return PyFloat_FromDouble((double)self->core->ttl_ns / 1e9);
}

static int set_limits(StoreObject *self, Py_ssize_t capacity, double ttl) {
    int64_t ttl_ns;
    if (check_core(self) < 0 || parse_limits(capacity, ttl, &ttl_ns) < 0) return -1;
    jf_store_release_list(jf_store_set_limits(self->core, (size_t)capacity, ttl_ns));
    return 0;
}

static int Store_set_capacity(PyObject *op, PyObject *value, void *closure) {
    (void)closure;
    StoreObject *self = (StoreObject *)op;
    if (!value) { PyErr_SetString(PyExc_AttributeError, "cannot delete capacity"); return -1; }
    Py_ssize_t c = PyLong_AsSsize_t(value);
    if (c == -1 && PyErr_Occurred()) return -1;
    if (check_core(self) < 0) return -1;
    return set_limits(self, c, (double)self->core->ttl_ns / 1e9);
}

static int Store_set_ttl(PyObject *op, PyObject *value, void *closure) {
    (void)closure;
    StoreObject *self = (StoreObject *)op;
    if (!value) { PyErr_SetString(PyExc_AttributeError, "cannot delete ttl"); return -1; }
    double t = PyFloat_AsDouble(value);
    if (t == -1.0 && PyErr_Occurred()) return -1;
    if (check_core(self) < 0) return -1;
    return set_limits(self, (Py_ssize_t)self->core->capacity, t);
}

static PyObject *Store_check(PyObject *op, PyObject *unused) {
    (void)unused;
    StoreObject *self = (StoreObject *)op;
    if (check_core(self) < 0) return NULL;
    const char *why = jf_store_check(self->core);
    if (why) {
        PyErr_Format(PyExc_AssertionError, "store invariant broken: %s", why);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Store_methods[] = {
    {"set", Store_set, METH_VARARGS, "set($self, span, key, value, /)\n--\n\nStore value under key for span (LRU touch)."},
    {"get", Store_get, METH_VARARGS, "get($self, span, key, default=None, /)\n--\n\nValue for key, never creating an entry."},
    {"increment", Store_increment, METH_VARARGS, "increment($self, span, key, /)\n--\n\nReturn the stored int (0 if none) and store it plus one."},
    {"get_all", Store_get_all, METH_O, "get_all($self, span, /)\n--\n\nA copy of span's mapping."},
    {"pop", Store_pop, METH_O, "pop($self, span, /)\n--\n\nRemove span's entry and return its mapping."},
    {"keys", Store_keys, METH_NOARGS, "keys($self, /)\n--\n\n(trace_id, span_id) pairs, most recently used first."},
    {"clear", Store_clear, METH_NOARGS, "clear($self, /)\n--\n\nRemove every entry."},
    {"stats", Store_stats, METH_NOARGS,
     "stats($self, /)\n--\n\n(len, capacity, ttl, lru_evictions, ttl_evictions, inserted, removed)"},
    {"_check", Store_check, METH_NOARGS,
     "_check($self, /)\n--\n\nRaise AssertionError if a structural invariant is broken (O(len); for tests)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Store_getset[] = {
    {"capacity", Store_get_capacity, Store_set_capacity, "Maximum entries; the LRU tail goes first.", NULL},
    {"ttl", Store_get_ttl, Store_set_ttl, "Seconds an entry lives after insertion.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Store_slots[] = {
    {Py_tp_doc, "Store(capacity=10000, ttl=3600.0, *, clock=None)\n--\n\n"
                "Per-span metadata store: LRU-bounded, TTL-expiring, O(1) per operation."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Store_init},
    {Py_tp_dealloc, Store_dealloc},
    {Py_tp_traverse, Store_traverse},
    {Py_tp_clear, Store_clear_refs},
    {Py_tp_methods, Store_methods},
    {Py_tp_getset, Store_getset},
    {Py_sq_length, Store_len},
    {Py_sq_contains, Store_contains},
    {0, NULL},
};

static PyType_Spec Store_spec = {
    .name = "judgeval_fast._native.Store",
    .basicsize = sizeof(StoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = Store_slots,
};

int jf_store_add_type(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    PyObject *tp = PyType_FromModuleAndSpec(module, &Store_spec, NULL);
    if (!tp) return -1;
    st->StoreType = (PyTypeObject *)tp;
    return PyModule_AddType(module, st->StoreType);
}
