/* module.h - the one process-wide runtime struct and the module state of _native.
 *
 * jf_rt is the ONLY global mutable state of the extension. It holds what must be
 * process-wide rather than per module object: the list of live exporters (one native
 * thread each), the API worker, the span id generator, the runtime configuration, the
 * span-path counters and the lifecycle flags used by the fork and exit hooks.
 *
 * Threads & locks
 *   jf_rt.mu guards the `exporters` and `workers` lists (their links). Lock order:
 *   jf_rt.mu -> jf_queue.mu (of an exporter or the worker). Nothing waits for the GIL
 *   while holding jf_rt.mu.
 *   Fields marked "GIL" are read and written only by threads holding the GIL (the span
 *   path); there is no free-threaded build of the stable ABI, so the GIL is their lock.
 *   `exiting` is atomic: background threads read it without the GIL.
 *
 * Module state (jf_state) holds the heap types and cached Python objects; it follows the
 * multi-phase-init rules (traverse/clear), so there is no static PyObject anywhere.
 */
#ifndef JF_MODULE_H
#define JF_MODULE_H

#include "common.h"

#include <pthread.h>

struct jf_exporter;
struct jf_worker;

typedef struct {
    size_t max_attribute_bytes;  /* GIL; UTF-8 bytes kept of one string value (default 1 MiB) */
    size_t max_attributes;       /* GIL; attributes per span and per event (default 128) */
    size_t max_events;           /* GIL; events per span (default 128) */
    double exit_timeout;         /* GIL; seconds the exit flush may take (default 5) */
} jf_config;

typedef struct {
    uint64_t spans_started;       /* GIL */
    uint64_t spans_ended;         /* GIL */
    uint64_t spans_end_ignored;   /* GIL; end() on an ended span */
    uint64_t spans_unexported;    /* GIL; ended with no exporter attached, or exporter refused */
    uint64_t attrs_truncated;     /* GIL; string/array values cut to max_attribute_bytes */
    uint64_t attrs_converted;     /* GIL; values of unsupported types stored as their repr() */
    uint64_t attrs_dropped;       /* GIL; over max_attributes, or a key/value nothing could convert */
    uint64_t keys_converted;      /* GIL; non-str keys stored as str(key) */
    uint64_t events_dropped;      /* GIL; over max_events */
    uint64_t encode_failures;     /* GIL; out of memory while encoding a span */
} jf_span_counters;

typedef struct {
    pthread_mutex_t mu;                /* guards the two lists below */
    struct jf_exporter *exporters;     /* guarded by mu; every live exporter (fork/exit hooks walk it) */
    struct jf_worker *workers;         /* guarded by mu; every live API worker */
    uint64_t rng[4];                   /* GIL; xoshiro256** state, reseeded from the OS after fork */
    uint64_t fork_generation;          /* GIL; incremented in every fork child */
    jf_config cfg;
    jf_span_counters ctr;
    atomic_int exiting;                /* set once by the exit hook: threads must not take the GIL */
    int initialised;                   /* GIL; process-wide setup (curl, atfork, seed) done */
} jf_runtime;

extern jf_runtime jf_rt;

typedef struct {
    PyTypeObject *SpanType;
    PyTypeObject *SpanContextType;
    PyTypeObject *QueueType;
    PyTypeObject *StoreType;
    PyTypeObject *ExporterType;
    PyTypeObject *WorkerType;
    PyTypeObject *EventType;          /* structseq (name, timestamp, attributes) */
    PyTypeObject *StatusType;         /* structseq (status_code, description) */
    PyTypeObject *FrameType;          /* tracing.c */
    PyTypeObject *TracerCoreType;
    PyTypeObject *SpanScopeType;
    PyTypeObject *ObservedType;
    PyTypeObject *GuardBaseType;
    PyObject *format_exception;       /* traceback.format_exception, imported on first use */
    /* Interned attribute keys of the hot path (tracing.c) */
    PyObject *key_input, *key_output, *key_span_kind;
    PyObject *key_agent_id, *key_parent_agent_id, *key_agent_class_name, *key_agent_instance_name;
    PyObject *key_is_agent_entry_point;
} jf_state;

/* Module state of the module that defined `tp` (one of our heap types). Borrowed, can't fail. */
static inline jf_state *jf_state_of_type(PyTypeObject *tp) { return (jf_state *)PyType_GetModuleState(tp); }

/* Registers / unregisters an exporter or worker in jf_rt (takes jf_rt.mu). Can't fail. */
void jf_runtime_add_exporter(struct jf_exporter *e);
void jf_runtime_remove_exporter(struct jf_exporter *e);
void jf_runtime_add_worker(struct jf_worker *w);
void jf_runtime_remove_worker(struct jf_worker *w);

/* Uniform random 64-bit value from the runtime generator. GIL held. Can't fail. */
uint64_t jf_rng_next(void);

/* ---- background threads (exporter, worker) ---- */

/* Spawns a detached thread with every signal blocked (signals belong to the main
 * thread). Returns 0 or the pthread_create error. */
int jf_thread_spawn(void *(*fn)(void *), void *arg);
/* Takes the GIL on a background thread, creating its thread state the first time
 * (*ts). Returns 0, or -1 without touching Python when the interpreter is exiting.
 * Must be called with none of our mutexes held. */
int jf_gil_take(PyThreadState **ts);
/* Releases the GIL taken by jf_gil_take. */
void jf_gil_drop(void);
/* At thread exit (GIL not held): deletes the thread state made by jf_gil_take, unless the
 * interpreter is exiting (finalisation reclaims it then). */
void jf_gil_retire(PyThreadState **ts);

/* ---- Python glue helpers shared by the types (GIL held; -1 means an exception is set) ---- */

/* Optional timeout argument in seconds: None gives dflt, negative gives 0. */
int jf_parse_timeout(PyObject *o, double dflt, double *out);
/* A duration argument in seconds as ns, > 0 (or >= 0 with allow_zero); ValueError names it. */
int jf_seconds_arg(double v, const char *name, int64_t *out, int allow_zero);
/* d[k] = int(v). */
int jf_dict_put_u64(PyObject *d, const char *k, uint64_t v);

#endif /* JF_MODULE_H */
