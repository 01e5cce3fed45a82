/* common.h - shared helpers of judgeval_fast._native: clocks, allocation, counters.
 *
 * Everything here is plain C and safe to call from any thread, with or without the GIL,
 * with one exception spelled out below (allocation while holding a mutex).
 *
 * Allocation
 *   Every native allocation goes through jf_malloc/jf_calloc/jf_realloc/jf_free, which are
 *   PyMem_RawMalloc & co, so tracemalloc accounts for the span queue, the store and the
 *   exporter buffers. PyMem_Raw* may be called without the GIL, BUT while tracemalloc is
 *   tracing, CPython's raw *allocating* hooks take the GIL (PyGILState_Ensure) on threads
 *   that do not hold it. Hence the rule that keeps us deadlock-free:
 *
 *     A thread that does not hold the GIL never calls jf_malloc/jf_calloc/jf_realloc
 *     while it holds one of our mutexes. (jf_free is fine: the free hook takes no GIL.)
 *
 *   Threads holding the GIL may allocate anywhere.
 */
#ifndef JF_COMMON_H
#define JF_COMMON_H

#ifndef Py_LIMITED_API
#error "judgeval_fast._native is built against the stable ABI: define Py_LIMITED_API (setup.py does)"
#endif

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if Py_LIMITED_API + 0 < 0x030D0000
/* The PyMem_Raw* family is exported by every CPython since 3.4 and is part of the limited
 * API since 3.13 (gh-85283); for our 3.10 limited-API build its prototypes are declared
 * here. They are the only allocator that is both thread-safe without the GIL and seen
 * by tracemalloc. */
PyAPI_FUNC(void *) PyMem_RawMalloc(size_t size);
PyAPI_FUNC(void *) PyMem_RawCalloc(size_t nelem, size_t elsize);
PyAPI_FUNC(void *) PyMem_RawRealloc(void *ptr, size_t new_size);
PyAPI_FUNC(void) PyMem_RawFree(void *ptr);
#endif

#define jf_malloc(n) PyMem_RawMalloc(n)
#define jf_calloc(n, s) PyMem_RawCalloc((n), (s))
#define jf_realloc(p, n) PyMem_RawRealloc((p), (n))
#define jf_free(p) PyMem_RawFree(p)

#define JF_NS_PER_SEC INT64_C(1000000000)
#define JF_NS_PER_MS INT64_C(1000000)
#define JF_FOREVER INT64_MAX

/* Monotonic clock in ns. Can't fail on Linux. */
static inline int64_t jf_now_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * JF_NS_PER_SEC + ts.tv_nsec;
}

/* Wall clock (unix epoch) in ns. Can't fail on Linux. */
static inline int64_t jf_now_unix_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * JF_NS_PER_SEC + ts.tv_nsec;
}

/* Monotonic deadline `seconds` from now; negative or huge means forever. */
static inline int64_t jf_deadline_after(double seconds) {
    if (!(seconds >= 0.0) || seconds > 1e9) return JF_FOREVER;
    return jf_now_mono_ns() + (int64_t)(seconds * 1e9);
}

/* Counters written by one thread class and read racily by health(): relaxed atomics
 * are enough because every reader only wants an approximate snapshot. */
typedef _Atomic uint64_t jf_counter;
#define JF_INC(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#define JF_ADD(c, n) atomic_fetch_add_explicit(&(c), (uint64_t)(n), memory_order_relaxed)
#define JF_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)
#define JF_SET(c, n) atomic_store_explicit(&(c), (uint64_t)(n), memory_order_relaxed)

#define JF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define JF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Absolute monotonic ns -> struct timespec for pthread_cond_timedwait on a
 * CLOCK_MONOTONIC condition variable. */
static inline struct timespec jf_timespec_of(int64_t mono_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(mono_ns / JF_NS_PER_SEC);
    ts.tv_nsec = (long)(mono_ns % JF_NS_PER_SEC);
    return ts;
}

/* splitmix64 step: a tiny generator for jitter, owned by the one thread that uses it. */
static inline uint64_t jf_splitmix64(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) from a splitmix64 state. */
static inline double jf_unit_random(uint64_t *s) {
    return (double)(jf_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Full-jitter exponential back-off: uniform in [0, min(max, initial * 2^attempt)]. */
static inline int64_t jf_backoff_ns(uint64_t *jitter, int attempt, int64_t initial, int64_t max) {
    int64_t cap = initial;
    for (int i = 0; i < attempt && cap < max; i++) cap *= 2;
    if (cap > max) cap = max;
    return (int64_t)(jf_unit_random(jitter) * (double)cap);
}

#endif /* JF_COMMON_H */
