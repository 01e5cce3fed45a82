/* queue.h - bounded multi-producer / single-consumer span queue with drop-oldest.
 *
 * A singly linked FIFO of caller-allocated records (jf_item). Nothing is allocated up
 * front and nothing is allocated inside: memory grows with what is queued and goes back
 * to the allocator as soon as the consumer frees what it took, so a drained queue costs
 * sizeof(jf_queue). Limits are by count and by bytes; a push that would exceed either
 * drops the OLDEST records (returned to the pusher, who counts and frees them).
 *
 * Every push gets a sequence number. "Done up to S" means no record with seq <= S is
 * still queued or held by the consumer; flushers wait for that, so a flush is not
 * starved by producers that keep pushing.
 *
 * Invariants (jf_queue_check() verifies them; SpanQueue._check() raises when one is broken)
 *   1. count == length of the list head..tail; bytes == sum of item->cost over it.
 *   2. count <= max_items and bytes <= max_bytes after every push.
 *   3. seq strictly increases from head to tail; every seq < next_seq.
 *   4. inflight_first == 0 exactly when the consumer holds no batch.
 *
 * Threads & locks
 *   mu guards every field below it. Producers: any thread, normally holding the GIL.
 *   Consumer: one thread (exporter or worker) that never holds the GIL inside these calls.
 *   Flushers: any thread with the GIL released around jf_queue_flush_wait().
 *   Lock order: runtime.mu -> queue.mu. No function here allocates, takes the GIL or
 *   calls out while holding mu, so holding mu never waits for the GIL (common.h rule).
 *
 * GIL: not needed by any function here; the Python glue (SpanQueue type) holds it.
 * Bounds: push O(1) + O(dropped); take O(batch); remove_matching O(count).
 */
#ifndef JF_QUEUE_H
#define JF_QUEUE_H

#include "common.h"

#include <pthread.h>

typedef struct jf_item {
    struct jf_item *next;   /* link in whichever list holds the item */
    uint64_t seq;           /* set by jf_queue_push */
    uint64_t owner;         /* free-form tag, e.g. the tracer that submitted a worker call */
    void *ref;              /* opaque strong reference owned by the layer above (a PyObject *), or NULL */
    size_t cost;            /* bytes charged to the byte budget: JF_ITEM_OVERHEAD + len (+ object estimate) */
    size_t len;             /* bytes in data[] */
    uint8_t data[];
} jf_item;

#define JF_ITEM_OVERHEAD (sizeof(jf_item))

/* Allocates an item with room for len bytes (ref NULL, cost = overhead + len).
 * Returns NULL on out-of-memory. Calls jf_malloc: see the allocation rule in common.h. */
jf_item *jf_item_new(size_t len);
/* Frees one item (its ref must already be released or NULL). Can't fail. */
static inline void jf_item_free(jf_item *it) { jf_free(it); }

/* A detached list of items, as taken by the consumer. */
typedef struct {
    jf_item *head, *tail;
    size_t count, bytes;
} jf_batch;

typedef struct {
    size_t max_items, max_bytes;      /* bounds of the queue */
    size_t batch_items, batch_bytes;  /* a batch is due when either is reached; also its maximum size */
    int64_t delay_ns;                 /* ... or when the oldest item waited this long */
} jf_queue_limits;

enum { JF_CONSUMER_NONE = 0, JF_CONSUMER_RUNNING = 1 };

typedef struct {
    size_t count, bytes, high_water, in_flight;
    uint64_t pushed, dropped_full, dropped_oversize, rejected_stopped, taken;
    size_t max_items, max_bytes;
} jf_queue_stats;

typedef struct jf_queue {
    pthread_mutex_t mu;
    pthread_cond_t ready_cv;    /* the consumer waits here; signalled on 0->1, batch full, flush, stop */
    pthread_cond_t done_cv;     /* flushers wait here; broadcast when the consumer finishes a batch */
    jf_item *head, *tail;       /* guarded by mu */
    size_t count, bytes;        /* guarded by mu; see invariant 1 */
    jf_queue_limits lim;        /* set by jf_queue_init, never changed */
    uint64_t next_seq;          /* guarded by mu; seq of the next push, starts at 1 */
    uint64_t inflight_first;    /* guarded by mu; first seq of the batch the consumer holds, or 0 */
    size_t inflight_count;      /* guarded by mu; records in that batch (0 when inflight_first is 0) */
    uint64_t flush_target;      /* guarded by mu; highest seq some flusher waits for */
    int64_t first_ns;           /* guarded by mu; when the oldest unbatched item arrived */
    int stopping;               /* guarded by mu; set once by jf_queue_stop: no more pushes */
    int aborting;               /* guarded by mu; set once by jf_queue_abort: give up queued work now */
    int paused;                 /* guarded by mu; no batch is due while set (records keep queueing) */
    int consumer;               /* guarded by mu; JF_CONSUMER_* */
    int consumer_waiting;       /* guarded by mu; the consumer sleeps on ready_cv */
    int flushers;               /* guarded by mu; threads inside jf_queue_flush_wait */
    size_t high_water;          /* guarded by mu; max count seen */
    uint64_t pushed, dropped_full, dropped_oversize, rejected_stopped, taken;  /* guarded by mu */
} jf_queue;

/* Initialises q with limits (all must be > 0). Returns 0, or -1 if pthread init failed. */
int jf_queue_init(jf_queue *q, const jf_queue_limits *lim);
/* Destroys the sync objects and hands every queued item to the caller via *rest (the
 * caller releases refs and frees). The consumer must be gone. Can't fail. */
void jf_queue_fini(jf_queue *q, jf_item **rest);

enum { JF_PUSH_OK = 0, JF_PUSH_STOPPED = -1, JF_PUSH_OVERSIZE = -2 };
/* Appends it. Returns JF_PUSH_OK, with the oldest items dropped to make room in *dropped
 * (NULL if none; caller counts them, releases refs and frees); or JF_PUSH_STOPPED /
 * JF_PUSH_OVERSIZE (cost alone exceeds max_bytes) with the queue unchanged and `it` still
 * the caller's. *start_consumer is set to 1 when no consumer runs and this caller must
 * start one (the queue then counts it as running; call jf_queue_consumer_exit on failure).
 * now_ns is the caller's monotonic clock reading (the span end time). Never blocks beyond mu. */
int jf_queue_push(jf_queue *q, jf_item *it, int64_t now_ns, jf_item **dropped, int *start_consumer);

enum { JF_TAKE_STOPPED = 0, JF_TAKE_BATCH = 1 };
/* Consumer: waits (without a deadline) until a batch is due (batch size/bytes reached,
 * delay elapsed, flush requested, stop), then detaches up to lim.batch_items /
 * lim.batch_bytes (at least one item) into *b. Returns JF_TAKE_BATCH; or JF_TAKE_STOPPED
 * when stopping and empty, or aborting. Call with the GIL released. */
int jf_queue_take(jf_queue *q, jf_batch *b);
/* Non-blocking take for tests and the Python glue: like jf_queue_take with nothing due
 * required. Returns the number of items taken. */
size_t jf_queue_take_now(jf_queue *q, size_t max_items, size_t max_bytes, jf_batch *b);
/* Consumer: the batch from the last take is finished (sent, failed or dropped). Wakes
 * flushers. Can't fail. */
void jf_queue_done(jf_queue *q);
/* Consumer: sleeps until until_ns or abort. Returns 1 if aborting, else 0. */
int jf_queue_sleep(jf_queue *q, int64_t until_ns);
/* Consumer: it is exiting (or failed to start); a later push starts a new one. */
void jf_queue_consumer_exit(jf_queue *q);

/* Flusher: asks the consumer to send everything queued now; returns the target seq. */
uint64_t jf_queue_flush_begin(jf_queue *q);
/* Flusher: waits until done up to target or until_ns. Returns 1 when done, else 0.
 * Call with the GIL released. */
int jf_queue_flush_wait(jf_queue *q, uint64_t target, int64_t until_ns);
/* Non-blocking check of the same condition. */
int jf_queue_is_done(jf_queue *q, uint64_t target);

/* Holds (1) or releases (0) batches: while paused the queue fills (bounded as always) and
 * the consumer takes nothing; flushers wait until their deadline. Can't fail. */
void jf_queue_set_paused(jf_queue *q, int paused);

/* Refuses further pushes and wakes everyone; the consumer drains what is queued and
 * then sees JF_TAKE_STOPPED. Idempotent, can't fail. */
void jf_queue_stop(jf_queue *q);
/* Stop, and also: the consumer gets JF_TAKE_STOPPED at once even with items queued and
 * jf_queue_sleep returns early. Idempotent, can't fail. */
void jf_queue_abort(jf_queue *q);
/* Detaches every queued item into *b (caller counts/frees). Done up to now afterwards,
 * except for the consumer's in-flight batch. Can't fail. */
void jf_queue_drain(jf_queue *q, jf_batch *b);
/* Detaches the queued items for which match(item, arg) is nonzero into *b, keeping the
 * order of the rest. match runs under mu: it must be plain C. O(count). Can't fail. */
void jf_queue_remove_matching(jf_queue *q, int (*match)(const jf_item *, void *), void *arg, jf_batch *b);
/* Claims the consumer role when none runs and items are queued (a flusher that must
 * make sure someone drains). Returns 1 if the caller must start the consumer. */
int jf_queue_claim_consumer(jf_queue *q);
/* Snapshot of sizes and counters. Can't fail. */
void jf_queue_get_stats(jf_queue *q, jf_queue_stats *st);

/* Fork support: prepare locks mu; parent unlocks; child re-creates mu and the condvars,
 * forgets the consumer (it does not exist in the child), and moves every queued item
 * to *orphans WITHOUT freeing (see module.c: freeing happens later, with the GIL). */
void jf_queue_atfork_prepare(jf_queue *q);
void jf_queue_atfork_parent(jf_queue *q);
void jf_queue_atfork_child(jf_queue *q, jf_batch *orphans);

/* Appends b2 to b (both detached lists). Can't fail. */
void jf_batch_append(jf_batch *b, jf_batch *b2);

/* Verifies the invariants in O(count), under mu. Returns NULL or the first broken one. */
const char *jf_queue_check(jf_queue *q);

/* Python glue for flush/shutdown of a queue with a consumer thread: waits until done up
 * to target or deadline with the GIL released, waking every 100 ms to run signal
 * handlers. If the consumer is gone (it could not start), restart(arg) is called once to
 * start it again. GIL held on entry and exit. Returns 1 done, 0 not done by the deadline,
 * -1 with an exception set by a signal handler (e.g. KeyboardInterrupt). */
int jf_queue_wait_flushed(jf_queue *q, uint64_t target, int64_t deadline, const atomic_int *consumer_alive,
                          void (*restart)(void *), void *arg);

/* Python glue: registers the SpanQueue type (a queue without a consumer, for tests and
 * benchmarks of the core). Returns 0 or -1 with an exception set. */
int jf_queue_add_type(PyObject *module);

#endif /* JF_QUEUE_H */
