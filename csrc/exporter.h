/* exporter.h - one destination (URL + headers + resource): its span queue and its thread,
 * which batches, frames an ExportTraceServiceRequest, gzips and POSTs with retries.
 *
 * Two paths share one queue (DESIGN 2-3.6):
 *   native  records are encoded Span messages (item->ref == NULL). The exporter thread
 *           never takes the GIL for them: frame + gzip + libcurl, all plain C.
 *   Python  when a Python exporter object is attached (set_python_exporter), spans are
 *           queued as objects (item->ref = the Span) and the thread takes the GIL once
 *           per batch to call exporter.export([span]) per span, retrying failures with
 *           exponential back-off. Every GIL acquisition is counted (gil_acquisitions).
 *
 * Retry policy (OTLP/HTTP): connection errors, timeouts, 429, 502, 503, 504 are retried
 * with full-jitter exponential back-off (delay in [0, min(retry_max, retry_initial*2^n)])
 * or exactly Retry-After when the server sends it, until retry_deadline after the first
 * attempt; 413 halves the batch (down to one span); any other status is "rejected";
 * partial_success.rejected_spans is counted. Nothing is retried past an abort.
 *
 * Invariants
 *   1. Every submitted span ends in exactly one counter: exported, failed, rejected,
 *      partially_rejected, dropped_shutdown, or the queue's dropped_* / rejected_stopped
 *      (or is still queued / in flight). tests/test_exporter.py checks the sum.
 *   2. cfg is immutable after jf_exporter_new.
 *   3. At most one exporter thread runs at a time; q.consumer says whether one does.
 *
 * Threads & locks
 *   q.mu (queue.h) guards the queue, `headers` and last_error/last_status/last_retry_after_ns.
 *   sync_mu serialises Exporter.export() calls from Python threads; it is held across a
 *   network request with the GIL released and is never taken by the exporter thread.
 *   work_mu / sync_work_mu are the "work gates" of the two senders: a sender holds its
 *   gate while it runs C code that allocates or is inside libcurl/zlib (framing, gzip,
 *   curl_multi_perform) and releases it at every wait (poll slice, back-off sleep, queue
 *   wait, taking the GIL). The fork prepare handler takes every gate, so a fork always
 *   finds the senders parked at a wait, never holding an allocator or libcurl/OpenSSL
 *   lock that the child would inherit locked (the child's new threads would hang).
 *   jf_rt.mu guards the next/prev links.
 *   Lock order: jf_rt.mu -> work_mu -> sync_work_mu -> q.mu; sync_mu -> sync_work_mu.
 *   No gate is ever held while waiting for the GIL.
 *   Thread-owned (exporter thread only): http, gz, buf, jitter, tstate.
 *   GIL-owned: py_exporter, orphans.
 * GIL: jf_exporter_submit and the glue hold it; the thread holds it only inside
 *   run_python_batch() (exporter.c), never while holding q.mu or sync_mu.
 * Bounds: submit O(1) + O(dropped); one batch <= batch_items spans and batch_bytes.
 */
#ifndef JF_EXPORTER_H
#define JF_EXPORTER_H

#include "common.h"
#include "http.h"
#include "module.h"
#include "queue.h"
#include "span.h"

#include <pthread.h>

#ifdef JF_HAVE_ZLIB
#include <zlib.h>
#endif

/* Queue cost charged for a span queued as an object (Python path): an estimate of a
 * Span object plus its attribute dict, so the byte bound stays meaningful. */
#define JF_OBJECT_ITEM_COST 1024

typedef struct {
    void *stream;                 /* z_stream, jf_malloc'd; NULL until first use */
    uint8_t *out;
    size_t cap;
} jf_gzip;

/* A header list shared by the senders; replaced as a whole by set_headers(). */
typedef struct {
    atomic_long refs;             /* the exporter's current-list slot + each sender using it */
    struct curl_slist *list;      /* includes Content-Type, Content-Encoding, Expect */
} jf_headers;

typedef struct {
    char *url;                    /* jf_malloc'd copy */
    uint8_t *resource;            /* encoded Resource body */
    size_t resource_len;
    uint8_t *scope;               /* encoded InstrumentationScope body */
    size_t scope_len;
    size_t batch_bytes;           /* also the queue's lim.batch_bytes; sizes the framing buffer */
    int64_t request_timeout_ns, connect_timeout_ns;
    int64_t retry_initial_ns, retry_max_ns, retry_deadline_ns;
    int gzip_level;               /* 0..9, or -1 for no compression */
    int python_max_attempts;      /* export() calls per span on the Python path */
    int64_t python_retry_initial_ns, python_retry_max_ns;
} jf_exporter_config;

typedef struct jf_exporter {
    atomic_long refs;                  /* Python object + thread + every span pointing here */
    struct jf_exporter *next, *prev;   /* guarded by jf_rt.mu */
    jf_queue q;
    jf_exporter_config cfg;            /* invariant 2 */
    atomic_int abort_now;              /* set at a shutdown/exit deadline: drop in-flight work */
    atomic_int thread_alive;
    int shut_down;                     /* GIL; shutdown() ran */
    jf_headers *headers;               /* guarded by q.mu; senders take a reference per batch */
    pthread_mutex_t work_mu;           /* the exporter thread's work gate (see above) */
    pthread_mutex_t sync_work_mu;      /* export()'s work gate */
    /* exporter thread only */
    jf_http http;
    int http_ready;
    jf_gzip gz;
    uint8_t *buf;
    size_t buf_cap;
    uint64_t jitter;
    PyThreadState *tstate;             /* made on the first Python-path batch */
    /* GIL */
    PyObject *py_exporter;             /* strong ref owned by the Python Exporter object */
    jf_batch orphans;                  /* fork child: records left by the parent, freed later */
    /* Python-called export() */
    pthread_mutex_t sync_mu;
    jf_http sync_http;                 /* guarded by sync_mu */
    int sync_ready;                    /* guarded by sync_mu */
    jf_gzip sync_gz;                   /* guarded by sync_mu */
    uint8_t *sync_buf;                 /* guarded by sync_mu */
    size_t sync_cap;                   /* guarded by sync_mu */
    uint64_t sync_jitter;              /* guarded by sync_mu */
    /* counters (atomic, approximate snapshots) */
    jf_counter exported, failed, rejected, partially_rejected, dropped_shutdown;
    jf_counter retries, requests, request_errors, bytes_sent, bytes_uncompressed;
    jf_counter gil_acquisitions, encode_failures, python_calls, python_failures;
    jf_counter thread_starts, thread_start_failures;
    /* guarded by q.mu */
    char last_error[256];
    long last_status;
    int64_t last_retry_after_ns;
} jf_exporter;

/* Reference counting; the last decref frees (GIL not required: by then no object
 * records remain, see exporter.c). */
static inline void jf_exporter_incref(jf_exporter *e) { atomic_fetch_add(&e->refs, 1); }
void jf_exporter_decref(jf_exporter *e);

/* Hands an ended span to its exporter: encodes it (native path) or queues the object
 * (Python path), starting the thread on demand. now_mono_ns is the monotonic clock
 * reading taken when the span ended (jf_span_end reads the clock once for both). GIL
 * held. Never raises; every outcome is counted. */
void jf_exporter_submit(jf_exporter *e, SpanObject *s, int64_t now_mono_ns);

/* Fork hooks for one exporter (module.c calls them for every live exporter). */
void jf_exporter_atfork_prepare(jf_exporter *e);
void jf_exporter_atfork_parent(jf_exporter *e);
void jf_exporter_atfork_child(jf_exporter *e);
/* After fork, with the GIL: releases the parent's records (orphans). */
void jf_exporter_release_orphans(jf_exporter *e);

/* Exit hook steps (module.c). GIL released by the caller around the waits. */
uint64_t jf_exporter_flush_begin(jf_exporter *e);
int jf_exporter_flush_wait(jf_exporter *e, uint64_t target, int64_t until_ns);
void jf_exporter_abort(jf_exporter *e);

/* _native.encode_request(resource, scope_name, scope_version, spans) -> bytes: frames
 * encoded Span messages into an ExportTraceServiceRequest exactly as the exporter does. */
PyObject *jf_py_encode_request(PyObject *module, PyObject *args);

/* The jf_exporter behind an Exporter object (borrowed), or NULL if obj is not one. */
jf_exporter *jf_exporter_from_object(jf_state *st, PyObject *obj);
int jf_exporter_add_type(PyObject *module);

#endif /* JF_EXPORTER_H */
