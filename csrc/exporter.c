/* exporter.c - per-destination exporter: queue, thread, framing, gzip, retries (see exporter.h).
 *
 * The Python type at the bottom, written as Python:
 *
 *     class Exporter:
 *         def __init__(self, endpoint: str, headers: Mapping[str, str] | None = None, *,
 *                      resource: Mapping | None = None, scope_name: str = "judgeval",
 *                      scope_version: str = "", max_queue_size: int = 65536,
 *                      max_queue_bytes: int = 64 << 20, max_batch_size: int = 512,
 *                      max_batch_bytes: int = 4 << 20, schedule_delay: float = 1.0,
 *                      request_timeout: float = 10.0, connect_timeout: float = 5.0,
 *                      retry_initial: float = 0.5, retry_max: float = 8.0,
 *                      retry_deadline: float = 30.0, gzip_level: int = 1,
 *                      python_max_attempts: int = 8, python_retry_initial: float = 0.05,
 *                      python_retry_max: float = 2.0, paused: bool = False) -> None: ...
 *         def export(self, spans: Sequence[Span], timeout: float | None = None) -> int:
 *             "POST now (GIL released); 0 = SUCCESS, 1 = FAILURE (SpanExportResult values)."
 *         def force_flush(self, timeout: float = 30.0) -> bool: ...
 *         def shutdown(self, timeout: float = 30.0) -> bool: ...
 *         def set_python_exporter(self, exporter: object | None) -> None: ...
 *         def set_headers(self, headers: Mapping[str, str] | None) -> None: ...
 *         def pause(self) -> None: ...           # hold batches (e.g. until a project id is known)
 *         def resume(self) -> None: ...
 *         def stats(self) -> dict[str, int | str | None]: ...
 *         endpoint: str; python_exporter: object | None; is_shutdown: bool; paused: bool
 */
#include "exporter.h"

#include "otlp.h"

#include <stdarg.h>
#include <structmember.h>
#include <stdio.h>
#include <time.h>

/* ======================================================================== */
/* Core (no Py* calls outside run_python_batch and thread_cleanup)            */
/* ======================================================================== */

static void set_last_error(jf_exporter *e, long status, const char *fmt, ...) {
    char msg[sizeof e->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&e->q.mu);
    memcpy(e->last_error, msg, sizeof msg);
    if (status) e->last_status = status;
    pthread_mutex_unlock(&e->q.mu);
}

/* ---- allocation inside a work gate ------------------------------------------ */

/* A sender that holds its work gate must not wait for the GIL (the fork prepare handler
 * waits for the gate with the GIL held), and while tracemalloc traces, PyMem_Raw*
 * allocation takes the GIL. So allocation steps out of the gate: glibc's malloc is
 * fork-safe by itself. `gate` may be NULL (no gate held). */
static void *gated_realloc(pthread_mutex_t *gate, void *p, size_t n) {
    if (gate) pthread_mutex_unlock(gate);
    void *r = jf_realloc(p, n);
    if (gate) pthread_mutex_lock(gate);
    return r;
}

static void *gated_calloc(pthread_mutex_t *gate, size_t n, size_t size) {
    if (gate) pthread_mutex_unlock(gate);
    void *r = jf_calloc(n, size);
    if (gate) pthread_mutex_lock(gate);
    return r;
}

/* ---- header lists ---------------------------------------------------------- */

static void headers_release(jf_headers *h) {
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        curl_slist_free_all(h->list);
        jf_free(h);
    }
}

/* The current list with a reference for the caller (release with headers_release). */
static jf_headers *headers_acquire(jf_exporter *e) {
    pthread_mutex_lock(&e->q.mu);
    jf_headers *h = e->headers;
    atomic_fetch_add(&h->refs, 1);
    pthread_mutex_unlock(&e->q.mu);
    return h;
}

/* ---- gzip ---------------------------------------------------------------- */

#ifdef JF_HAVE_ZLIB
static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
    return gated_calloc((pthread_mutex_t *)opaque, items, size);  /* opaque: the caller's gate */
}
static void z_free(voidpf opaque, voidpf p) {
    (void)opaque;
    jf_free(p);
}
#endif

/* Compresses in[0..n) into g->out. Returns 0 and sets out and out_len, or -1 (OOM or
 * zlib error). Allocates: see the allocation rule in common.h. */
static int gzip_run(jf_gzip *g, pthread_mutex_t *gate, int level, const uint8_t *in, size_t n, const uint8_t **out,
                    size_t *out_len) {
#ifdef JF_HAVE_ZLIB
    z_stream *zs = g->stream;
    if (!zs) {
        zs = gated_calloc(gate, 1, sizeof *zs);
        if (!zs) return -1;
        zs->zalloc = z_alloc;
        zs->zfree = z_free;
        zs->opaque = gate;
        /* windowBits 15 + 16: gzip framing, as Content-Encoding: gzip requires. */
        if (deflateInit2(zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            jf_free(zs);
            return -1;
        }
        g->stream = zs;
    } else if (deflateReset(zs) != Z_OK) {
        return -1;
    }
    if (n > UINT32_MAX) return -1;
    size_t bound = deflateBound(zs, (uLong)n);
    if (bound > g->cap || (g->cap > (1u << 20) && g->cap > 4 * bound)) {  /* grow, or give back after an outlier */
        uint8_t *p = gated_realloc(gate, g->out, bound);
        if (!p) return -1;
        g->out = p;
        g->cap = bound;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)n;
    zs->next_out = g->out;
    zs->avail_out = (uInt)bound;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) return -1;
    *out = g->out;
    *out_len = bound - zs->avail_out;
    return 0;
#else
    (void)g; (void)gate; (void)level; (void)in; (void)n; (void)out; (void)out_len;
    return -1;
#endif
}

static void gzip_fini(jf_gzip *g) {
#ifdef JF_HAVE_ZLIB
    if (g->stream) {
        deflateEnd(g->stream);
        jf_free(g->stream);
    }
#endif
    jf_free(g->out);
    g->stream = NULL;
    g->out = NULL;
    g->cap = 0;
}

/* Forgets the state without freeing (fork child: it is the parent's copy). */
static void gzip_abandon(jf_gzip *g) {
    g->stream = NULL;
    g->out = NULL;
    g->cap = 0;
}

/* ---- framing and sending ------------------------------------------------- */

/* Where a send happens: on the exporter thread, or in Exporter.export() under sync_mu. */
typedef struct {
    jf_exporter *e;
    jf_http *http;
    jf_gzip *gz;
    uint8_t **buf;
    size_t *cap;
    uint64_t *jitter;
    int64_t give_up_at;   /* no retry starts after this (monotonic ns) */
    int on_thread;        /* sleeps go through the queue (abortable) */
    pthread_mutex_t *gate;  /* the sender's work gate: held by send_records, released to wait */
} sender;

typedef struct {
    size_t exported, failed, rejected, partial, aborted;
} send_result;

/* Frames count records starting at head into *buf. Returns 0 and sets *out_len, or -1 on OOM. */
static int frame(const jf_exporter_config *cfg, pthread_mutex_t *gate, jf_item *head, size_t count, uint8_t **buf,
                 size_t *cap, size_t *out_len) {
    size_t spans = 0;
    jf_item *it = head;
    for (size_t i = 0; i < count; i++, it = it->next) spans += jf_otlp_request_span_size(it->len);
    size_t total = jf_otlp_request_size(cfg->resource_len, cfg->scope_len, spans);
    /* Grow by doubling from what is needed (memory follows use: a quiet exporter keeps a
     * small buffer), and give memory back after an outlier: one oversized batch must not
     * pin its size for the life of the exporter. */
    size_t ncap = *cap;
    if (total > *cap) ncap = JF_MAX(total, JF_MIN(2 * *cap, cfg->batch_bytes + 4096));
    else if (*cap > 2 * cfg->batch_bytes + 4096 && total <= cfg->batch_bytes) ncap = cfg->batch_bytes + 4096;
    if (ncap != *cap) {
        uint8_t *p = gated_realloc(gate, *buf, ncap);
        if (!p) return -1;
        *buf = p;
        *cap = ncap;
    }
    uint8_t *p = jf_otlp_put_request_head(*buf, cfg->resource, cfg->resource_len, cfg->scope, cfg->scope_len, spans);
    it = head;
    for (size_t i = 0; i < count; i++, it = it->next) p = jf_otlp_put_request_span(p, it->data, it->len);
    *out_len = (size_t)(p - *buf);
    return 0;
}

/* Sleeps until `until` with the work gate released; returns 1 if the exporter aborted. */
static int sender_sleep(sender *sd, int64_t until) {
    int aborted = 0;
    pthread_mutex_unlock(sd->gate);
    if (sd->on_thread) {
        aborted = jf_queue_sleep(&sd->e->q, until);
    } else {
        for (;;) {
            if ((aborted = atomic_load(&sd->e->abort_now))) break;
            int64_t left = until - jf_now_mono_ns();
            if (left <= 0) break;
            int64_t step = JF_MIN(left, 50 * JF_NS_PER_MS);
            struct timespec ts = {(time_t)(step / JF_NS_PER_SEC), (long)(step % JF_NS_PER_SEC)};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_lock(sd->gate);
    return aborted;
}

static jf_item *nth(jf_item *it, size_t n) {
    while (n--) it = it->next;
    return it;
}

/* Sends count records starting at head, retrying per the OTLP rules; adds each record's
 * fate to *res. Never holds a lock while waiting. */
static void send_records_with(sender *sd, jf_item *head, size_t count, send_result *res, jf_headers **hp) {
    jf_exporter *e = sd->e;
    size_t raw_len, body_len;
    const uint8_t *body;
    if (frame(&e->cfg, sd->gate, head, count, sd->buf, sd->cap, &raw_len) < 0) {
        res->failed += count;
        set_last_error(e, 0, "out of memory framing %zu spans", count);
        return;
    }
    body = *sd->buf;
    body_len = raw_len;
    if (e->cfg.gzip_level >= 0 &&
        gzip_run(sd->gz, sd->gate, e->cfg.gzip_level, *sd->buf, raw_len, &body, &body_len) < 0) {
        res->failed += count;
        set_last_error(e, 0, "gzip failed for %zu bytes", raw_len);
        return;
    }
    for (int attempt = 0;; attempt++) {
        /* The current headers for each attempt: a set_headers() during retries applies. */
        headers_release(*hp);
        jf_headers *headers = *hp = headers_acquire(e);
        if (atomic_load(&e->abort_now)) {
            res->aborted += count;
            return;
        }
        int64_t now = jf_now_mono_ns();
        int64_t deadline = JF_MIN(now + e->cfg.request_timeout_ns, JF_MAX(sd->give_up_at, now + JF_NS_PER_MS));
        jf_http_result r;
        jf_http_post(sd->http, headers->list, body, body_len, deadline, &r);
        JF_INC(e->requests);
        if (r.outcome == JF_HTTP_DONE && r.status >= 200 && r.status < 300) {
            int64_t rej = 0;
            char msg[160];
            if (r.body_len && jf_otlp_parse_response(r.body, r.body_len, &rej, msg, sizeof msg) == 0 && rej > 0) {
                if ((uint64_t)rej > count) rej = (int64_t)count;
                res->partial += (size_t)rej;
                set_last_error(e, r.status, "partial success: %lld spans rejected: %s", (long long)rej, msg);
            }
            res->exported += count - (size_t)rej;
            JF_ADD(e->bytes_sent, body_len);
            JF_ADD(e->bytes_uncompressed, raw_len);
            pthread_mutex_lock(&e->q.mu);
            e->last_status = r.status;
            pthread_mutex_unlock(&e->q.mu);
            return;
        }
        if (r.outcome == JF_HTTP_ABORTED) {
            res->aborted += count;
            return;
        }
        JF_INC(e->request_errors);
        if (r.outcome == JF_HTTP_DONE && r.status == 413) {
            if (count > 1) {
                size_t half = count / 2;
                set_last_error(e, 413, "413 for %zu spans: splitting the batch", count);
                send_records_with(sd, head, half, res, hp);
                send_records_with(sd, nth(head, half), count - half, res, hp);
            } else {
                res->rejected += 1;
                set_last_error(e, 413, "413: one span of %zu bytes is larger than the server accepts", head->len);
            }
            return;
        }
        int retry;
        char cause[160];
        if (r.outcome == JF_HTTP_DONE) {
            retry = jf_http_status_retryable(r.status);
            snprintf(cause, sizeof cause, "HTTP %ld from %.100s", r.status, e->cfg.url);
        } else {
            retry = r.retryable;
            snprintf(cause, sizeof cause, "%.120s (curl %d)", sd->http->errbuf, r.curl_code);
        }
        set_last_error(e, r.outcome == JF_HTTP_DONE ? r.status : 0, "%s", cause);
        if (!retry) {
            if (r.outcome == JF_HTTP_DONE) res->rejected += count;
            else res->failed += count;
            return;
        }
        /* Retry-After is the server's minimum; our own back-off is the floor (a 'Retry-After:
         * 0' or a date in the past must not turn into a request storm). */
        int64_t delay = jf_backoff_ns(sd->jitter, attempt, e->cfg.retry_initial_ns, e->cfg.retry_max_ns);
        if (r.retry_after_ns > delay) delay = r.retry_after_ns;
        now = jf_now_mono_ns();
        if (r.retry_after_ns >= 0) {
            pthread_mutex_lock(&e->q.mu);
            e->last_retry_after_ns = r.retry_after_ns;
            pthread_mutex_unlock(&e->q.mu);
        }
        if (now + delay >= sd->give_up_at) {
            res->failed += count;
            set_last_error(e, r.outcome == JF_HTTP_DONE ? r.status : 0,
                           "gave up on %zu spans after %d attempts (retry deadline): %s", count, attempt + 1, cause);
            return;
        }
        JF_INC(e->retries);
        if (sender_sleep(sd, now + delay)) {
            res->aborted += count;
            return;
        }
    }
}

static void send_records(sender *sd, jf_item *head, size_t count, send_result *res) {
    jf_headers *headers = NULL;
    send_records_with(sd, head, count, res, &headers);
    headers_release(headers);
}

static void count_result(jf_exporter *e, const send_result *r) {
    JF_ADD(e->exported, r->exported);
    JF_ADD(e->failed, r->failed);
    JF_ADD(e->rejected, r->rejected);
    JF_ADD(e->partially_rejected, r->partial);
    JF_ADD(e->dropped_shutdown, r->aborted);
}

static void free_records(jf_item *it) {
    while (it) {
        jf_item *next = it->next;
        jf_item_free(it);
        it = next;
    }
}

/* Exporter thread: sends a list of native records and frees them, inside its work gate. */
static void send_native(jf_exporter *e, jf_item *head, size_t count) {
    send_result res = {0, 0, 0, 0, 0};
    if (!e->http_ready) {
        /* Before the gate: it allocates (see gated_realloc). */
        long ct = (long)(e->cfg.connect_timeout_ns / JF_NS_PER_MS);
        if (jf_http_init(&e->http, e->cfg.url, ct, &e->abort_now, &e->work_mu) < 0) {
            set_last_error(e, 0, "%s", e->http.errbuf);
            res.failed = count;
            count_result(e, &res);
            free_records(head);
            return;
        }
        e->http_ready = 1;
    }
    pthread_mutex_lock(&e->work_mu);
    sender sd = {e, &e->http, &e->gz, &e->buf, &e->buf_cap, &e->jitter,
                 jf_now_mono_ns() + e->cfg.retry_deadline_ns, 1, &e->work_mu};
    send_records(&sd, head, count, &res);
    count_result(e, &res);
    free_records(head);
    pthread_mutex_unlock(&e->work_mu);
}

/* ---- the Python path (the only code on this thread that takes the GIL) ---- */

/* Calls exporter.export([span]). GIL held. Returns 1 on success; 0 on an exception, a
 * False result or a result whose .value is 1 (SpanExportResult.FAILURE). */
static int call_export(jf_exporter *e, PyObject *exporter, PyObject *span) {
    PyObject *list = PyList_New(1), *r = NULL;
    if (!list) goto error;
    PyList_SetItem(list, 0, Py_NewRef(span));
    r = PyObject_CallMethod(exporter, "export", "O", list);
    Py_DECREF(list);
    if (!r) goto error;
    int ok = 1;
    if (r == Py_False) {
        ok = 0;
    } else if (PyLong_Check(r) && !PyBool_Check(r)) {
        ok = PyLong_AsLong(r) == 0;
    } else {
        PyObject *v = PyObject_GetAttrString(r, "value");
        if (!v) PyErr_Clear();
        else if (PyLong_Check(v) && PyLong_AsLong(v) == 1) ok = 0;
        Py_XDECREF(v);
    }
    PyErr_Clear();
    Py_DECREF(r);
    if (!ok) set_last_error(e, 0, "Python exporter returned FAILURE");
    return ok;
error: {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyObject *s = v ? PyObject_Str(v) : NULL;
        const char *msg = s ? PyUnicode_AsUTF8AndSize(s, NULL) : NULL;
        set_last_error(e, 0, "Python exporter raised: %s", msg ? msg : "?");
        Py_XDECREF(s);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        PyErr_Clear();
        return 0;
    }
}

static int thread_take_gil(jf_exporter *e) {
    if (jf_gil_take(&e->tstate) < 0) return -1;
    JF_INC(e->gil_acquisitions);
    return 0;
}

/* Exporter thread: exports object records through the Python exporter, one span per
 * call, retrying with back-off; frees the records. */
static void run_python_batch(jf_exporter *e, jf_item *head, size_t count) {
    jf_item *native = NULL, **native_tail = &native;
    size_t native_count = 0;
    if (thread_take_gil(e) < 0) {
        /* Exiting: the spans' references cannot be released without the GIL; the process
         * is about to end, so the records are counted and left. */
        JF_ADD(e->dropped_shutdown, count);
        return;
    }
    jf_item *it = head;
    while (it) {
        jf_item *next = it->next;
        PyObject *span = (PyObject *)it->ref;
        it->ref = NULL;
        for (int attempt = 1;; attempt++) {
            PyObject *exporter = e->py_exporter;
            if (!exporter) {
                /* Detached meanwhile: the native path takes over. */
                jf_item *enc = jf_span_encode((SpanObject *)span);
                if (enc) {
                    *native_tail = enc;
                    native_tail = &enc->next;
                    native_count++;
                } else {
                    PyErr_Clear();
                    JF_INC(e->encode_failures);
                    JF_INC(e->failed);
                }
                break;
            }
            Py_INCREF(exporter);
            int ok = call_export(e, exporter, span);
            Py_DECREF(exporter);
            JF_INC(e->python_calls);
            if (ok) {
                JF_INC(e->exported);
                break;
            }
            JF_INC(e->python_failures);
            if (atomic_load(&e->abort_now)) {
                JF_INC(e->dropped_shutdown);
                break;
            }
            if (attempt >= e->cfg.python_max_attempts) {
                JF_INC(e->failed);
                break;
            }
            JF_INC(e->retries);
            int64_t delay = jf_backoff_ns(&e->jitter, attempt - 1, e->cfg.python_retry_initial_ns,
                                       e->cfg.python_retry_max_ns);
            jf_gil_drop();
            int aborted = jf_queue_sleep(&e->q, jf_now_mono_ns() + delay);
            if (thread_take_gil(e) < 0) {
                /* Exiting while we slept: leave this and the remaining spans (see above). */
                size_t left = 1;
                for (jf_item *r = next; r; r = r->next) left++;
                JF_ADD(e->dropped_shutdown, left + native_count);
                jf_item_free(it);
                while (next) {
                    jf_item *n2 = next->next;
                    jf_item_free(next);
                    next = n2;
                }
                free_records(native);
                return;
            }
            if (aborted) {
                JF_INC(e->dropped_shutdown);
                break;
            }
        }
        Py_DECREF(span);
        jf_item_free(it);
        it = next;
    }
    jf_gil_drop();
    if (native) send_native(e, native, native_count);
}

/* ---- the thread ---------------------------------------------------------- */

/* Splits a batch into native and object records, keeping each list's order. */
static void process_batch(jf_exporter *e, jf_batch *b) {
    jf_item *nat = NULL, **nt = &nat, *obj = NULL, **ot = &obj;
    size_t nn = 0, no = 0;
    for (jf_item *it = b->head, *next; it; it = next) {
        next = it->next;
        it->next = NULL;
        if (it->ref) { *ot = it; ot = &it->next; no++; }
        else { *nt = it; nt = &it->next; nn++; }
    }
    if (nat) send_native(e, nat, nn);
    if (obj) run_python_batch(e, obj, no);
}

static void thread_cleanup(jf_exporter *e) {
    pthread_mutex_lock(&e->work_mu);
    if (e->http_ready) {
        jf_http_fini(&e->http);
        e->http_ready = 0;
    }
    gzip_fini(&e->gz);
    jf_free(e->buf);
    e->buf = NULL;
    e->buf_cap = 0;
    pthread_mutex_unlock(&e->work_mu);
    jf_gil_retire(&e->tstate);  /* outside the gate: it takes the GIL */
}

static void *exporter_main(void *arg) {
    jf_exporter *e = arg;
    for (;;) {
        jf_batch b;
        if (jf_queue_take(&e->q, &b) == JF_TAKE_STOPPED) break;
        process_batch(e, &b);
        jf_queue_done(&e->q);
    }
    thread_cleanup(e);
    atomic_store(&e->thread_alive, 0);
    jf_queue_consumer_exit(&e->q);
    jf_exporter_decref(e);
    return NULL;
}

/* Starts the exporter thread; the caller claimed the consumer role. GIL held or not. */
static void start_thread(jf_exporter *e) {
    if (atomic_load(&jf_rt.exiting)) {
        jf_queue_consumer_exit(&e->q);
        return;
    }
    jf_exporter_incref(e);  /* the thread's reference */
    atomic_store(&e->thread_alive, 1);
    int rc = jf_thread_spawn(exporter_main, e);
    if (rc != 0) {
        atomic_store(&e->thread_alive, 0);
        JF_INC(e->thread_start_failures);
        set_last_error(e, 0, "cannot start the exporter thread (error %d)", rc);
        jf_queue_consumer_exit(&e->q);
        jf_exporter_decref(e);
        return;
    }
    JF_INC(e->thread_starts);
}

/* ---- lifetime ------------------------------------------------------------ */

static void config_free(jf_exporter_config *c) {
    jf_free(c->url);
    jf_free(c->resource);
    jf_free(c->scope);
    memset(c, 0, sizeof *c);
}

static void free_exporter(jf_exporter *e) {
    jf_item *rest;
    jf_runtime_remove_exporter(e);
    jf_queue_fini(&e->q, &rest);
    /* Object records cannot remain here: they exist only while the Python Exporter lives,
     * and its dealloc removes them with the GIL. Native records just go. */
    free_records(rest);
    free_records(e->orphans.head);
    if (e->sync_ready) jf_http_fini(&e->sync_http);
    gzip_fini(&e->sync_gz);
    jf_free(e->sync_buf);
    headers_release(e->headers);
    pthread_mutex_destroy(&e->sync_mu);
    pthread_mutex_destroy(&e->work_mu);
    pthread_mutex_destroy(&e->sync_work_mu);
    config_free(&e->cfg);
    jf_free(e);
}

void jf_exporter_decref(jf_exporter *e) {
    if (atomic_fetch_sub(&e->refs, 1) == 1) free_exporter(e);
}

/* Takes ownership of cfg (also on failure). Returns the exporter with one reference, or
 * NULL with a reason in why. GIL held. */
static jf_exporter *exporter_new(jf_exporter_config *cfg, const jf_queue_limits *lim, char *why, size_t cap) {
    jf_exporter *e = jf_calloc(1, sizeof *e);
    if (!e) {
        snprintf(why, cap, "out of memory");
        config_free(cfg);
        return NULL;
    }
    if (jf_queue_init(&e->q, lim) < 0) {
        snprintf(why, cap, "pthread initialisation failed");
        config_free(cfg);
        jf_free(e);
        return NULL;
    }
    if (pthread_mutex_init(&e->sync_mu, NULL) != 0 || pthread_mutex_init(&e->work_mu, NULL) != 0 ||
        pthread_mutex_init(&e->sync_work_mu, NULL) != 0) {
        jf_item *rest;
        jf_queue_fini(&e->q, &rest);
        snprintf(why, cap, "pthread initialisation failed");
        config_free(cfg);
        jf_free(e);
        return NULL;
    }
    atomic_init(&e->refs, 1);
    e->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    e->jitter = jf_rng_next();
    e->sync_jitter = jf_rng_next();
    jf_runtime_add_exporter(e);
    return e;
}

/* ---- submit (caller's thread, GIL held) ---------------------------------- */

static void release_records(jf_item *it) {
    while (it) {
        jf_item *next = it->next;
        PyObject *ref = (PyObject *)it->ref;
        jf_item_free(it);
        Py_XDECREF(ref);
        it = next;
    }
}

void jf_exporter_submit(jf_exporter *e, SpanObject *s, int64_t now_mono_ns) {
    jf_item *it, *dropped;
    int start;
    if (e->py_exporter) {
        it = jf_item_new(0);
        if (it) {
            it->ref = Py_NewRef((PyObject *)s);
            it->cost = JF_OBJECT_ITEM_COST;
        }
    } else {
        it = jf_span_encode(s);
    }
    if (!it) {
        PyErr_Clear();
        JF_INC(e->encode_failures);
        jf_rt.ctr.encode_failures++;
        return;
    }
    int rc = jf_queue_push(&e->q, it, now_mono_ns, &dropped, &start);
    if (rc != JF_PUSH_OK) {
        release_records(it);  /* counted by the queue (rejected_stopped / dropped_oversize) */
        return;
    }
    if (start) start_thread(e);
    if (dropped) release_records(dropped);  /* counted by the queue (dropped_full) */
}

/* ---- fork and exit ------------------------------------------------------- */

/* Order: both work gates (waits at most one gated slice of each sender), then q.mu. */
void jf_exporter_atfork_prepare(jf_exporter *e) {
    pthread_mutex_lock(&e->work_mu);
    pthread_mutex_lock(&e->sync_work_mu);
    jf_queue_atfork_prepare(&e->q);
}

void jf_exporter_atfork_parent(jf_exporter *e) {
    jf_queue_atfork_parent(&e->q);
    pthread_mutex_unlock(&e->sync_work_mu);
    pthread_mutex_unlock(&e->work_mu);
}

void jf_exporter_atfork_child(jf_exporter *e) {
    jf_batch orphans;
    jf_queue_atfork_child(&e->q, &orphans);
    jf_batch_append(&e->orphans, &orphans);
    if (e->http_ready) {
        jf_http_abandon(&e->http);
        e->http_ready = 0;
    }
    gzip_abandon(&e->gz);
    e->buf = NULL;
    e->buf_cap = 0;
    e->tstate = NULL;
    if (atomic_load(&e->thread_alive) && atomic_load(&e->refs) > 1) {
        atomic_fetch_sub(&e->refs, 1);  /* that thread's reference: it does not exist here */
    }
    atomic_store(&e->thread_alive, 0);
    atomic_store(&e->abort_now, 0);
    /* The gates were locked by this (the forking) thread in prepare; sync_mu may have been
     * held by a thread that does not exist here. All three start fresh. */
    pthread_mutex_unlock(&e->sync_work_mu);
    pthread_mutex_unlock(&e->work_mu);
    (void)pthread_mutex_init(&e->work_mu, NULL);
    (void)pthread_mutex_init(&e->sync_work_mu, NULL);
    (void)pthread_mutex_init(&e->sync_mu, NULL);
    if (e->sync_ready) {
        jf_http_abandon(&e->sync_http);
        e->sync_ready = 0;
    }
    gzip_abandon(&e->sync_gz);
    e->sync_buf = NULL;
    e->sync_cap = 0;
    jf_counter *counters[] = {&e->exported, &e->failed, &e->rejected, &e->partially_rejected,
                              &e->dropped_shutdown, &e->retries, &e->requests, &e->request_errors,
                              &e->bytes_sent, &e->bytes_uncompressed, &e->gil_acquisitions,
                              &e->encode_failures, &e->python_calls, &e->python_failures,
                              &e->thread_starts, &e->thread_start_failures};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) JF_SET(*counters[i], 0);
    e->last_error[0] = '\0';
    e->last_status = 0;
    e->last_retry_after_ns = -1;
}

void jf_exporter_release_orphans(jf_exporter *e) {
    jf_item *list = e->orphans.head;
    e->orphans.head = e->orphans.tail = NULL;
    e->orphans.count = e->orphans.bytes = 0;
    release_records(list);
}

/* Makes sure someone drains the queue (a flush or shutdown may come before any push
 * started the thread, or after it failed to start). */
static void ensure_consumer(jf_exporter *e) {
    if (jf_queue_claim_consumer(&e->q)) start_thread(e);
}

uint64_t jf_exporter_flush_begin(jf_exporter *e) {
    uint64_t target = jf_queue_flush_begin(&e->q);
    ensure_consumer(e);
    return target;
}

int jf_exporter_flush_wait(jf_exporter *e, uint64_t target, int64_t until_ns) {
    return jf_queue_flush_wait(&e->q, target, until_ns);
}

void jf_exporter_abort(jf_exporter *e) {
    atomic_store(&e->abort_now, 1);
    jf_queue_abort(&e->q);
}

/* ======================================================================== */
/* Python glue: Exporter                                                     */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    jf_exporter *e;         /* one reference */
    PyObject *weakreflist;  /* the Python registry keeps exporters in a WeakValueDictionary */
} ExporterObject;

jf_exporter *jf_exporter_from_object(jf_state *st, PyObject *obj) {
    if (Py_TYPE(obj) != st->ExporterType) return NULL;
    return ((ExporterObject *)obj)->e;
}

static int check_e(ExporterObject *self) {
    if (!self->e) {
        PyErr_SetString(PyExc_RuntimeError, "Exporter.__init__ was not called");
        return -1;
    }
    return 0;
}

/* Copies a str argument to a NUL-terminated jf_malloc'd string. NULL with exception. */
static char *dup_utf8(PyObject *s, const char *what) {
    Py_ssize_t n;
    const char *u = PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (!u) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s must be a str", what);
        return NULL;
    }
    if (memchr(u, '\0', (size_t)n)) {
        PyErr_Format(PyExc_ValueError, "%s must not contain NUL", what);
        return NULL;
    }
    char *c = jf_malloc((size_t)n + 1);
    if (!c) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(c, u, (size_t)n + 1);
    return c;
}

/* Appends "name: value" to *list after checking for header injection. 0 or -1 with exception. */
static int add_header(struct curl_slist **list, PyObject *name, PyObject *value) {
    Py_ssize_t nn, vn;
    const char *n = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &nn) : NULL;
    const char *v = n && PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &vn) : NULL;
    if (!n || !v) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "headers must map str to str");
        return -1;
    }
    if (!nn || strpbrk(n, ":\r\n") || memchr(v, '\r', (size_t)vn) || memchr(v, '\n', (size_t)vn) ||
        memchr(v, '\0', (size_t)vn) || memchr(n, '\0', (size_t)nn)) {
        PyErr_Format(PyExc_ValueError, "invalid HTTP header %R", name);
        return -1;
    }
    PyObject *line = PyUnicode_FromFormat("%U: %U", name, value);
    if (!line) return -1;
    struct curl_slist *l = curl_slist_append(*list, PyUnicode_AsUTF8AndSize(line, NULL));
    Py_DECREF(line);
    if (!l) {
        PyErr_NoMemory();
        return -1;
    }
    *list = l;
    return 0;
}

/* A new header list (one reference): the fixed protocol headers plus `headers` (a mapping
 * of str to str, or None). Returns NULL with an exception set. */
static jf_headers *build_headers(PyObject *headers, int gzip) {
    PyObject *items = NULL;
    jf_headers *h = jf_calloc(1, sizeof *h);
    if (!h) return (jf_headers *)PyErr_NoMemory();
    atomic_init(&h->refs, 1);
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (l && gzip) l = curl_slist_append(l, "Content-Encoding: gzip");
    if (l) l = curl_slist_append(l, "Expect:");  /* no 100-continue round trip before every batch */
    if (!l) {
        PyErr_NoMemory();
        goto error;
    }
    h->list = l;
    if (headers && headers != Py_None) {
        items = PyMapping_Items(headers);
        if (!items) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "headers must be a mapping of str to str");
            goto error;
        }
        for (Py_ssize_t i = 0; i < PyList_Size(items); i++) {
            PyObject *kv = PyList_GetItem(items, i);
            if (!PyTuple_Check(kv) || PyTuple_Size(kv) != 2 ||
                add_header(&h->list, PyTuple_GetItem(kv, 0), PyTuple_GetItem(kv, 1)) < 0) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "headers must be a mapping");
                goto error;
            }
        }
        Py_DECREF(items);
    }
    return h;
error:
    Py_XDECREF(items);
    headers_release(h);
    return NULL;
}

/* Encodes the Resource (normalised attributes) and InstrumentationScope bodies into cfg.
 * Returns 0 or -1 with an exception set. */
static int build_resource_scope(PyObject *resource, PyObject *scope_name, PyObject *scope_version,
                                jf_exporter_config *cfg) {
    uint32_t dropped = 0;
    PyObject *d = !resource || resource == Py_None ? PyDict_New()
                                                   : jf_attr_normalize_mapping(resource, SIZE_MAX, &dropped);
    if (!d) return -1;
    cfg->resource_len = jf_attrs_size(d, 1);
    cfg->resource = jf_malloc(cfg->resource_len ? cfg->resource_len : 1);
    if (!cfg->resource) {
        Py_DECREF(d);
        PyErr_NoMemory();
        return -1;
    }
    jf_attrs_put(cfg->resource, d, 1);
    Py_DECREF(d);
    Py_ssize_t sn = 8, vn = 0;
    const char *su = scope_name ? PyUnicode_AsUTF8AndSize(scope_name, &sn) : "judgeval";
    const char *vu = scope_version ? PyUnicode_AsUTF8AndSize(scope_version, &vn) : "";
    if (!su || !vu) return -1;
    cfg->scope_len = jf_otlp_scope_size((size_t)sn, (size_t)vn);
    cfg->scope = jf_malloc(cfg->scope_len ? cfg->scope_len : 1);
    if (!cfg->scope) {
        PyErr_NoMemory();
        return -1;
    }
    jf_otlp_put_scope(cfg->scope, su, (size_t)sn, vu, (size_t)vn);
    return 0;
}

static int Exporter_init(PyObject *op, PyObject *args, PyObject *kwds) {
    ExporterObject *self = (ExporterObject *)op;
    static char *kwlist[] = {"endpoint", "headers", "resource", "scope_name", "scope_version", "max_queue_size",
                             "max_queue_bytes", "max_batch_size", "max_batch_bytes", "schedule_delay",
                             "request_timeout", "connect_timeout", "retry_initial", "retry_max", "retry_deadline",
                             "gzip_level", "python_max_attempts", "python_retry_initial", "python_retry_max", "paused",
                             NULL};
    PyObject *endpoint, *headers = Py_None, *resource = Py_None, *scope_name = NULL, *scope_version = NULL;
    Py_ssize_t max_queue = 65536, max_queue_bytes = 64 << 20, max_batch = 512, max_batch_bytes = 4 << 20;
    double delay = 1.0, req_timeout = 10.0, conn_timeout = 5.0, r_init = 0.5, r_max = 8.0, r_deadline = 30.0;
    double py_init = 0.05, py_max = 2.0;
    int gzip_level = 1, py_attempts = 8, paused = 0;
    jf_exporter_config cfg;
    memset(&cfg, 0, sizeof cfg);
    jf_headers *hdrs = NULL;
    char why[256];

    if (self->e) {
        PyErr_SetString(PyExc_RuntimeError, "Exporter is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|O$OUUnnnnddddddiiddp:Exporter", kwlist, &endpoint, &headers,
                                     &resource, &scope_name, &scope_version, &max_queue, &max_queue_bytes, &max_batch,
                                     &max_batch_bytes, &delay, &req_timeout, &conn_timeout, &r_init, &r_max,
                                     &r_deadline, &gzip_level, &py_attempts, &py_init, &py_max, &paused))
        return -1;
    if (max_queue <= 0) { PyErr_SetString(PyExc_ValueError, "max_queue_size must be > 0"); return -1; }
    if (max_queue_bytes <= 0) { PyErr_SetString(PyExc_ValueError, "max_queue_bytes must be > 0"); return -1; }
    if (max_batch <= 0 || max_batch > max_queue) {
        PyErr_SetString(PyExc_ValueError, "max_batch_size must be > 0 and <= max_queue_size");
        return -1;
    }
    if (max_batch_bytes <= 0) { PyErr_SetString(PyExc_ValueError, "max_batch_bytes must be > 0"); return -1; }
    if (gzip_level < -1 || gzip_level > 9) {
        PyErr_SetString(PyExc_ValueError, "gzip_level must be -1 (off) or 0..9");
        return -1;
    }
#ifndef JF_HAVE_ZLIB
    gzip_level = -1;
#endif
    if (py_attempts < 1) { PyErr_SetString(PyExc_ValueError, "python_max_attempts must be >= 1"); return -1; }
    int64_t delay_ns;
    if (jf_seconds_arg(delay, "schedule_delay", &delay_ns, 1) < 0 ||
        jf_seconds_arg(req_timeout, "request_timeout", &cfg.request_timeout_ns, 0) < 0 ||
        jf_seconds_arg(conn_timeout, "connect_timeout", &cfg.connect_timeout_ns, 0) < 0 ||
        jf_seconds_arg(r_init, "retry_initial", &cfg.retry_initial_ns, 0) < 0 ||
        jf_seconds_arg(r_max, "retry_max", &cfg.retry_max_ns, 0) < 0 ||
        jf_seconds_arg(r_deadline, "retry_deadline", &cfg.retry_deadline_ns, 1) < 0 ||
        jf_seconds_arg(py_init, "python_retry_initial", &cfg.python_retry_initial_ns, 0) < 0 ||
        jf_seconds_arg(py_max, "python_retry_max", &cfg.python_retry_max_ns, 0) < 0)
        return -1;
    if (cfg.connect_timeout_ns < JF_NS_PER_MS) cfg.connect_timeout_ns = JF_NS_PER_MS;

    if (!(cfg.url = dup_utf8(endpoint, "endpoint"))) goto error;
    if (jf_http_check_url(cfg.url, why, sizeof why) < 0) {
        PyErr_Format(PyExc_ValueError, "invalid endpoint %R: %s", endpoint, why);
        goto error;
    }
    if (!(hdrs = build_headers(headers, gzip_level >= 0))) goto error;
    if (build_resource_scope(resource, scope_name, scope_version, &cfg) < 0) goto error;
    cfg.batch_bytes = (size_t)max_batch_bytes;
    cfg.gzip_level = gzip_level;
    cfg.python_max_attempts = py_attempts;

    jf_queue_limits lim = {(size_t)max_queue, (size_t)max_queue_bytes, (size_t)max_batch, (size_t)max_batch_bytes,
                           delay_ns};
    self->e = exporter_new(&cfg, &lim, why, sizeof why);
    if (!self->e) {
        headers_release(hdrs);
        PyErr_Format(PyExc_MemoryError, "cannot create the exporter: %s", why);
        return -1;
    }
    self->e->headers = hdrs;
    if (paused) jf_queue_set_paused(&self->e->q, 1);
    self->e->last_retry_after_ns = -1;
    return 0;
error:
    headers_release(hdrs);
    config_free(&cfg);
    return -1;
}

static int match_object(const jf_item *it, void *arg) {
    (void)arg;
    return it->ref != NULL;
}

static int Exporter_traverse(PyObject *op, visitproc visit, void *arg) {
    ExporterObject *self = (ExporterObject *)op;
    Py_VISIT(Py_TYPE(op));
    if (self->e) Py_VISIT(self->e->py_exporter);
    return 0;
}

static int Exporter_clear_refs(PyObject *op) {
    ExporterObject *self = (ExporterObject *)op;
    if (self->e) Py_CLEAR(self->e->py_exporter);
    return 0;
}

static void Exporter_dealloc(PyObject *op) {
    ExporterObject *self = (ExporterObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->weakreflist) PyObject_ClearWeakRefs(op);
    if (self->e) {
        jf_exporter *e = self->e;
        jf_batch objs;
        self->e = NULL;
        /* No new spans; the thread still sends the native records already queued, then
         * exits. Queued span objects need the GIL to be released, so they go now. */
        jf_queue_stop(&e->q);
        jf_queue_remove_matching(&e->q, match_object, NULL, &objs);
        JF_ADD(e->dropped_shutdown, objs.count);
        Py_CLEAR(e->py_exporter);
        release_records(objs.head);
        pthread_mutex_lock(&e->q.mu);
        int paused = e->q.paused;
        pthread_mutex_unlock(&e->q.mu);
        if (paused) {
            /* Held records would never drain: they are dropped (counted) and the thread exits. */
            jf_batch rest;
            jf_exporter_abort(e);
            jf_queue_drain(&e->q, &rest);
            JF_ADD(e->dropped_shutdown, rest.count);
            release_records(rest.head);
        } else {
            ensure_consumer(e);
        }
        jf_exporter_decref(e);
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static void restart_thread(void *arg) { start_thread((jf_exporter *)arg); }

static int wait_flushed(jf_exporter *e, uint64_t target, int64_t deadline) {
    return jf_queue_wait_flushed(&e->q, target, deadline, &e->thread_alive, restart_thread, e);
}

static PyObject *Exporter_force_flush(PyObject *op, PyObject *args, PyObject *kwds) {
    ExporterObject *self = (ExporterObject *)op;
    static char *kwlist[] = {"timeout", NULL};
    PyObject *to = Py_None;
    double timeout;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:force_flush", kwlist, &to)) return NULL;
    if (check_e(self) < 0 || jf_parse_timeout(to, 30.0, &timeout) < 0) return NULL;
    int64_t deadline = jf_deadline_after(timeout);
    uint64_t target = jf_exporter_flush_begin(self->e);
    int done = wait_flushed(self->e, target, deadline);
    if (done < 0) return NULL;
    return PyBool_FromLong(done);
}

static PyObject *Exporter_shutdown(PyObject *op, PyObject *args, PyObject *kwds) {
    ExporterObject *self = (ExporterObject *)op;
    static char *kwlist[] = {"timeout", NULL};
    PyObject *to = Py_None;
    double timeout;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:shutdown", kwlist, &to)) return NULL;
    if (check_e(self) < 0 || jf_parse_timeout(to, 30.0, &timeout) < 0) return NULL;
    jf_exporter *e = self->e;
    if (e->shut_down) Py_RETURN_TRUE;
    e->shut_down = 1;
    int64_t deadline = jf_deadline_after(timeout);
    jf_queue_stop(&e->q);
    uint64_t target = jf_exporter_flush_begin(e);
    int done = wait_flushed(e, target, deadline);
    if (done <= 0) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);  /* finish the shutdown even when a signal interrupted it */
        jf_exporter_abort(e);
        jf_batch rest;
        jf_queue_drain(&e->q, &rest);
        JF_ADD(e->dropped_shutdown, rest.count);
        release_records(rest.head);
        PyErr_Restore(t, v, tb);
        if (done < 0) return NULL;
    }
    return PyBool_FromLong(done);
}

static PyObject *Exporter_export(PyObject *op, PyObject *args, PyObject *kwds) {
    ExporterObject *self = (ExporterObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    static char *kwlist[] = {"spans", "timeout", NULL};
    PyObject *spans, *to = Py_None, *seq = NULL;
    double timeout;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:export", kwlist, &spans, &to)) return NULL;
    if (check_e(self) < 0) return NULL;
    jf_exporter *e = self->e;
    if (jf_parse_timeout(to, (double)e->cfg.request_timeout_ns / 1e9, &timeout) < 0) return NULL;
    if (e->shut_down) return PyLong_FromLong(1);  /* SpanExporter contract: FAILURE after shutdown */
    if (!(seq = PySequence_Tuple(spans))) return NULL;
    jf_item *head = NULL, **tail = &head;
    size_t n = 0;
    int bad = 0;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq); i++) {
        PyObject *s = PyTuple_GetItem(seq, i);
        jf_item *it = jf_span_check(st, s) ? jf_span_encode((SpanObject *)s) : NULL;
        if (!it) {
            PyErr_Clear();
            JF_INC(e->encode_failures);
            bad = 1;
            continue;
        }
        *tail = it;
        tail = &it->next;
        n++;
    }
    Py_DECREF(seq);
    if (bad) set_last_error(e, 0, "export() got objects that are not judgeval_fast Spans");
    if (!n) return PyLong_FromLong(bad ? 1 : 0);
    send_result res = {0, 0, 0, 0, 0};
    int init_failed = 0;
    Py_BEGIN_ALLOW_THREADS
    /* sync_mu is only ever taken with the GIL released (nobody holding the GIL waits for
     * it), so its holder may allocate; sync_work_mu is taken by the fork prepare handler,
     * so inside it allocation steps out (gated_realloc). */
    pthread_mutex_lock(&e->sync_mu);
    if (!e->sync_ready) {  /* before the work gate: it allocates */
        long ct = (long)(e->cfg.connect_timeout_ns / JF_NS_PER_MS);
        if (jf_http_init(&e->sync_http, e->cfg.url, ct, &e->abort_now, &e->sync_work_mu) == 0)
            e->sync_ready = 1;
        else
            init_failed = 1;
    }
    pthread_mutex_lock(&e->sync_work_mu);
    if (e->sync_ready) {
        sender sd = {e, &e->sync_http, &e->sync_gz, &e->sync_buf, &e->sync_cap, &e->sync_jitter,
                     jf_deadline_after(timeout), 0, &e->sync_work_mu};
        send_records(&sd, head, n, &res);
    }
    pthread_mutex_unlock(&e->sync_work_mu);
    pthread_mutex_unlock(&e->sync_mu);
    Py_END_ALLOW_THREADS
    free_records(head);
    if (init_failed) set_last_error(e, 0, "cannot create the HTTP client");
    int ok = !bad && !init_failed && res.exported + res.partial == n;
    return PyLong_FromLong(ok ? 0 : 1);
}

static PyObject *Exporter_set_headers(PyObject *op, PyObject *headers) {
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    jf_exporter *e = self->e;
    jf_headers *h = build_headers(headers, e->cfg.gzip_level >= 0);
    if (!h) return NULL;
    pthread_mutex_lock(&e->q.mu);
    jf_headers *old = e->headers;
    e->headers = h;  /* senders pick it up at their next attempt */
    pthread_mutex_unlock(&e->q.mu);
    headers_release(old);
    Py_RETURN_NONE;
}

static PyObject *Exporter_pause(PyObject *op, PyObject *unused) {
    (void)unused;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    jf_queue_set_paused(&self->e->q, 1);
    Py_RETURN_NONE;
}

static PyObject *Exporter_resume(PyObject *op, PyObject *unused) {
    (void)unused;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    jf_queue_set_paused(&self->e->q, 0);
    Py_RETURN_NONE;
}

static PyObject *Exporter_get_paused(PyObject *op, void *c) {
    (void)c;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    pthread_mutex_lock(&self->e->q.mu);
    int paused = self->e->q.paused;
    pthread_mutex_unlock(&self->e->q.mu);
    return PyBool_FromLong(paused);
}

static PyObject *Exporter_set_python_exporter(PyObject *op, PyObject *obj) {
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    PyObject *old = self->e->py_exporter;
    self->e->py_exporter = obj == Py_None ? NULL : Py_NewRef(obj);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyObject *Exporter_stats(PyObject *op, PyObject *unused) {
    (void)unused;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    jf_exporter *e = self->e;
    jf_queue_stats qs;
    char err[sizeof e->last_error];
    long status;
    int64_t retry_after;
    jf_queue_get_stats(&e->q, &qs);
    pthread_mutex_lock(&e->q.mu);
    memcpy(err, e->last_error, sizeof err);
    status = e->last_status;
    retry_after = e->last_retry_after_ns;
    pthread_mutex_unlock(&e->q.mu);
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    struct { const char *k; uint64_t v; } rows[] = {
        {"queue_size", qs.count}, {"in_flight", qs.in_flight}, {"queue_bytes", qs.bytes}, {"queue_capacity", qs.max_items},
        {"queue_max_bytes", qs.max_bytes}, {"queue_high_water", qs.high_water}, {"spans_queued", qs.pushed},
        {"dropped_queue_full", qs.dropped_full}, {"dropped_oversize", qs.dropped_oversize},
        {"rejected_after_shutdown", qs.rejected_stopped}, {"exported", JF_GET(e->exported)},
        {"failed", JF_GET(e->failed)}, {"rejected", JF_GET(e->rejected)},
        {"partially_rejected", JF_GET(e->partially_rejected)}, {"dropped_shutdown", JF_GET(e->dropped_shutdown)},
        {"retries", JF_GET(e->retries)}, {"requests", JF_GET(e->requests)},
        {"request_errors", JF_GET(e->request_errors)}, {"bytes_sent", JF_GET(e->bytes_sent)},
        {"bytes_uncompressed", JF_GET(e->bytes_uncompressed)}, {"gil_acquisitions", JF_GET(e->gil_acquisitions)},
        {"encode_failures", JF_GET(e->encode_failures)}, {"python_export_calls", JF_GET(e->python_calls)},
        {"python_export_failures", JF_GET(e->python_failures)}, {"thread_starts", JF_GET(e->thread_starts)},
        {"thread_start_failures", JF_GET(e->thread_start_failures)},
        {"thread_alive", (uint64_t)atomic_load(&e->thread_alive)}, {"last_status", (uint64_t)status},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (jf_dict_put_u64(d, rows[i].k, rows[i].v) < 0) goto error;
    PyObject *v = err[0] ? PyUnicode_DecodeUTF8(err, (Py_ssize_t)strlen(err), "replace") : Py_NewRef(Py_None);
    if (!v || PyDict_SetItemString(d, "last_error", v) < 0) { Py_XDECREF(v); goto error; }
    Py_DECREF(v);
    v = retry_after >= 0 ? PyFloat_FromDouble((double)retry_after / 1e9) : Py_NewRef(Py_None);
    if (!v || PyDict_SetItemString(d, "last_retry_after", v) < 0) { Py_XDECREF(v); goto error; }
    Py_DECREF(v);
    return d;
error:
    Py_DECREF(d);
    return NULL;
}

static PyObject *Exporter_get_endpoint(PyObject *op, void *c) {
    (void)c;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    return PyUnicode_FromString(self->e->cfg.url);
}

static PyObject *Exporter_get_python_exporter(PyObject *op, void *c) {
    (void)c;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    return Py_NewRef(self->e->py_exporter ? self->e->py_exporter : Py_None);
}

static PyObject *Exporter_get_is_shutdown(PyObject *op, void *c) {
    (void)c;
    ExporterObject *self = (ExporterObject *)op;
    if (check_e(self) < 0) return NULL;
    return PyBool_FromLong(self->e->shut_down);
}

PyObject *jf_py_encode_request(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *resource, *scope_name, *scope_version, *spans, *seq = NULL, *out = NULL;
    jf_exporter_config cfg;
    jf_item *head = NULL, **tail = &head;
    uint8_t *buf = NULL;
    size_t cap = 0, len, n = 0;
    memset(&cfg, 0, sizeof cfg);
    if (!PyArg_ParseTuple(args, "OUUO:encode_request", &resource, &scope_name, &scope_version, &spans)) return NULL;
    if (build_resource_scope(resource, scope_name, scope_version, &cfg) < 0) goto done;
    if (!(seq = PySequence_Tuple(spans))) goto done;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq); i++) {
        PyObject *b = PyTuple_GetItem(seq, i);
        if (!PyBytes_Check(b)) {
            PyErr_SetString(PyExc_TypeError, "spans must be encoded Span messages (bytes)");
            goto done;
        }
        jf_item *it = jf_item_new((size_t)PyBytes_Size(b));
        if (!it) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(it->data, PyBytes_AsString(b), it->len);
        *tail = it;
        tail = &it->next;
        n++;
    }
    cfg.batch_bytes = 1;
    if (frame(&cfg, NULL, head, n, &buf, &cap, &len) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
done:
    Py_XDECREF(seq);
    free_records(head);
    jf_free(buf);
    config_free(&cfg);
    return out;
}

static PyMethodDef Exporter_methods[] = {
    {"export", (PyCFunction)(void (*)(void))Exporter_export, METH_VARARGS | METH_KEYWORDS,
     "export($self, spans, timeout=None)\n--\n\nEncode and POST now with the GIL released, retrying within timeout.\n"
     "Returns 0 (SUCCESS) or 1 (FAILURE)."},
    {"force_flush", (PyCFunction)(void (*)(void))Exporter_force_flush, METH_VARARGS | METH_KEYWORDS,
     "force_flush($self, timeout=30.0)\n--\n\nWait (GIL released) until every span queued before the call is sent or given up; False at the deadline."},
    {"shutdown", (PyCFunction)(void (*)(void))Exporter_shutdown, METH_VARARGS | METH_KEYWORDS,
     "shutdown($self, timeout=30.0)\n--\n\nRefuse new spans, flush until timeout, then drop the rest (counted)."},
    {"set_python_exporter", Exporter_set_python_exporter, METH_O,
     "set_python_exporter($self, exporter, /)\n--\n\nRoute spans through exporter.export([span]) on the exporter thread (None: native)."},
    {"set_headers", Exporter_set_headers, METH_O,
     "set_headers($self, headers, /)\n--\n\nReplace the request headers (a mapping); the next attempt uses them."},
    {"pause", Exporter_pause, METH_NOARGS,
     "pause($self, /)\n--\n\nHold batches (spans keep queueing, bounded and counted) until resume()."},
    {"resume", Exporter_resume, METH_NOARGS, "resume($self, /)\n--\n\nRelease held batches."},
    {"stats", Exporter_stats, METH_NOARGS, "stats($self, /)\n--\n\nCounters and sizes, as a dict (racy snapshot)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Exporter_getset[] = {
    {"endpoint", Exporter_get_endpoint, NULL, NULL, NULL},
    {"python_exporter", Exporter_get_python_exporter, NULL, NULL, NULL},
    {"is_shutdown", Exporter_get_is_shutdown, NULL, NULL, NULL},
    {"paused", Exporter_get_paused, NULL, "True while batches are held (pause()).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef Exporter_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ExporterObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot Exporter_slots[] = {
    {Py_tp_doc, "Exporter(endpoint, headers=None, *, resource=None, scope_name='judgeval', scope_version='', "
                "max_queue_size=65536, max_queue_bytes=67108864, max_batch_size=512, max_batch_bytes=4194304, "
                "schedule_delay=1.0, request_timeout=10.0, connect_timeout=5.0, retry_initial=0.5, retry_max=8.0, "
                "retry_deadline=30.0, gzip_level=1, python_max_attempts=8, python_retry_initial=0.05, "
                "python_retry_max=2.0, paused=False)\n--\n\n"
                "One OTLP/HTTP destination with its bounded queue and native export thread."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Exporter_init},
    {Py_tp_dealloc, Exporter_dealloc},
    {Py_tp_traverse, Exporter_traverse},
    {Py_tp_clear, Exporter_clear_refs},
    {Py_tp_methods, Exporter_methods},
    {Py_tp_getset, Exporter_getset},
    {Py_tp_members, Exporter_members},
    {0, NULL},
};

static PyType_Spec Exporter_spec = {
    .name = "judgeval_fast._native.Exporter",
    .basicsize = sizeof(ExporterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = Exporter_slots,
};

int jf_exporter_add_type(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    PyObject *tp = PyType_FromModuleAndSpec(module, &Exporter_spec, NULL);
    if (!tp) return -1;
    st->ExporterType = (PyTypeObject *)tp;
    return PyModule_AddType(module, st->ExporterType);
}
