/* worker.h - background API-call worker: a bounded drop-oldest queue of Python callables
 * run one at a time on a native thread, with retries and back-off.
 *
 * The caller's thread only queues (O(1), never blocks, never does I/O): tag() and
 * async_evaluate() return at once. The worker thread takes the GIL only to run a call
 * (and, on failure, the classifier). A failed call is retried when the classifier says
 * so: classifier(exc, attempt) returns None (give up) or a float delay in seconds (0 =
 * use full-jitter exponential back-off; > 0 = at least that long, e.g. Retry-After),
 * within max_attempts and retry_deadline. Between attempts the GIL is released and the
 * wait is abortable by shutdown.
 *
 * Invariants
 *   1. Every submitted call ends in exactly one counter: succeeded, failed, dropped
 *      (queue full), cancelled, dropped_shutdown, abandoned_exit (or is still pending).
 *   2. At most one worker thread runs at a time (q.consumer).
 *
 * Threads & locks: q.mu guards the queue and last_error; jf_rt.mu guards next/prev.
 *   Thread-owned: tstate, jitter. GIL-owned: classifier, orphans, shut_down.
 * GIL: submit/cancel/glue hold it; the worker thread holds it only inside run_call().
 * Bounds: submit O(1) + O(dropped); each call at most max_attempts tries.
 */
#ifndef JF_WORKER_H
#define JF_WORKER_H

#include "common.h"
#include "module.h"
#include "queue.h"

typedef struct jf_worker {
    atomic_long refs;                 /* Python object + thread */
    struct jf_worker *next, *prev;    /* guarded by jf_rt.mu */
    jf_queue q;                       /* items: ref = the callable (strong), owner = tag */
    int max_attempts;                 /* immutable */
    int64_t retry_initial_ns, retry_max_ns, retry_deadline_ns;  /* immutable */
    atomic_int abort_now;
    atomic_int thread_alive;
    int shut_down;                    /* GIL */
    PyObject *classifier;             /* GIL; owned by the Python Worker object */
    jf_batch orphans;                 /* GIL; fork child leftovers */
    PyThreadState *tstate;            /* worker thread only */
    uint64_t jitter;                  /* worker thread only */
    jf_counter succeeded, failed, retried, cancelled, dropped_shutdown, abandoned_exit;
    jf_counter gil_acquisitions, thread_starts, thread_start_failures;
    char last_error[256];             /* guarded by q.mu */
} jf_worker;

void jf_worker_decref(jf_worker *w);

/* Fork and exit hooks (module.c). */
void jf_worker_atfork_prepare(jf_worker *w);
void jf_worker_atfork_parent(jf_worker *w);
void jf_worker_atfork_child(jf_worker *w);
void jf_worker_release_orphans(jf_worker *w);
uint64_t jf_worker_flush_begin(jf_worker *w);
int jf_worker_flush_wait(jf_worker *w, uint64_t target, int64_t until_ns);
void jf_worker_abort(jf_worker *w);

int jf_worker_add_type(PyObject *module);

#endif /* JF_WORKER_H */
