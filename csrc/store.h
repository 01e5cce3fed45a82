/* store.h - per-span metadata store: hash map + intrusive LRU list + TTL (insertion-age list).
 *
 * Keyed by (trace_id 128-bit, span_id 64-bit); each entry holds one opaque value (the
 * Python glue stores a dict of that span's internal attributes). Three intrusive links
 * per entry:
 *   - hash chain in a power-of-two bucket array that doubles at load 1 and halves
 *     below 1/8 (so memory follows use);
 *   - the LRU list (head = most recently used): capacity evicts its tail;
 *   - the age list (head = oldest insertion): since every entry has the same TTL,
 *     its head is always the next to expire, which makes expiry O(1) per entry.
 * TTL counts from insertion, not from last use: a span stuck open for an hour loses
 * its metadata even if something keeps reading it.
 *
 * Invariants (jf_store_check() verifies them; Store._check() raises when one is broken)
 *   1. len == entries on the LRU list == entries on the age list == entries in the map.
 *   2. len <= capacity after every insert.
 *   3. age list is ordered by created_ns (non-decreasing from head).
 *   4. nbuckets is 0 or a power of two >= JF_STORE_MIN_BUCKETS.
 *
 * Threads & locks
 *   No mutex: the store is only ever touched by threads holding the GIL (its Python
 *   object and the span-end path), and the GIL is its lock. What makes that safe is the
 *   rule every function here follows: the core never calls back into Python; entries
 *   leave the structure (unlink) BEFORE the caller releases their values (which may run
 *   finalizers that re-enter the store). Debug builds assert that no store function is
 *   re-entered while another one is running on the same store.
 * GIL: held by every caller.
 * Bounds: find/unlink O(1); insert O(1) + at most JF_STORE_SWEEP_PER_INSERT expiries
 *   + one LRU eviction; resize O(len) amortised over len inserts/removals.
 */
#ifndef JF_STORE_H
#define JF_STORE_H

#include "common.h"
#include "span.h"

#define JF_STORE_MIN_BUCKETS 16
#define JF_STORE_SWEEP_PER_INSERT 8

typedef struct jf_store_entry {
    struct jf_store_entry *hnext;                  /* hash chain */
    struct jf_store_entry *lru_prev, *lru_next;    /* LRU list, head = most recent */
    struct jf_store_entry *age_prev, *age_next;    /* age list, head = oldest */
    jf_span_key key;
    int64_t created_ns;
    void *value;                                   /* opaque strong ref owned by the glue */
} jf_store_entry;

typedef struct jf_store {
    long refs;                    /* GIL; the Python Store object + every span pointing here */
    jf_store_entry **buckets;     /* invariant 4 */
    size_t nbuckets;
    size_t len;                   /* invariant 1 */
    jf_store_entry *lru_head, *lru_tail;
    jf_store_entry *age_head, *age_tail;
    size_t capacity;              /* > 0 */
    int64_t ttl_ns;               /* > 0 */
    uint64_t lru_evictions, ttl_evictions, inserted;
    uint64_t removed;             /* explicit removals: unlink (span end, pop) and unlink_all (clear) */
    int busy;                     /* debug re-entrancy guard */
} jf_store;

/* New store with one reference. Returns NULL on out-of-memory. */
jf_store *jf_store_new(size_t capacity, int64_t ttl_ns);
/* Reference counting (GIL). jf_store_decref returns the entries still held when the last
 * reference goes, as a list linked through hnext, for the caller to release; else NULL. */
static inline void jf_store_incref(jf_store *s) { s->refs++; }
jf_store_entry *jf_store_decref(jf_store *s);

/* Looks up key. A live entry becomes most recent and is returned (borrowed). An expired
 * one is unlinked and returned in *expired (caller releases), and NULL is returned. */
jf_store_entry *jf_store_find(jf_store *s, const jf_span_key *key, int64_t now_ns, jf_store_entry **expired);
/* Inserts a new entry for a key that is NOT present (check with find first) holding
 * `value`. Expires up to JF_STORE_SWEEP_PER_INSERT stale entries, then evicts the LRU
 * tail if at capacity; those come back in *evicted (linked through hnext; caller
 * releases). Returns the new entry, or NULL on out-of-memory (store unchanged, value
 * still the caller's). */
jf_store_entry *jf_store_insert(jf_store *s, const jf_span_key *key, void *value, int64_t now_ns,
                                jf_store_entry **evicted);
/* Unlinks key's entry and returns it (caller releases the value, then frees), or NULL. */
jf_store_entry *jf_store_unlink(jf_store *s, const jf_span_key *key);
/* Expires every entry older than the TTL; returns them linked through hnext. O(expired). */
jf_store_entry *jf_store_sweep(jf_store *s, int64_t now_ns);
/* Unlinks everything; returns the entries linked through hnext. */
jf_store_entry *jf_store_unlink_all(jf_store *s);
/* Frees an unlinked entry (its value already released). */
static inline void jf_store_entry_free(jf_store_entry *e) { jf_free(e); }
/* Applies new bounds; entries over the new capacity are evicted (returned via hnext). */
jf_store_entry *jf_store_set_limits(jf_store *s, size_t capacity, int64_t ttl_ns);

/* Verifies the invariants in O(len). Returns NULL, or a description of the first broken one. */
const char *jf_store_check(const jf_store *s);

/* Python glue. Removes key's entry and releases its value (used by Span.end). GIL. */
void jf_store_remove_key(jf_store *s, const jf_span_key *key);
/* Releases a list of unlinked entries (DECREF values, free). GIL. */
void jf_store_release_list(jf_store_entry *list);
/* Returns the jf_store behind a Store object (borrowed), or NULL if obj is not one. */
jf_store *jf_store_from_object(jf_state *st, PyObject *obj);
int jf_store_add_type(PyObject *module);

#endif /* JF_STORE_H */
